//! A bearer-token server for registry tests, as Docker Hub's auth service behaves: `GET
//! /token?service=..&scope=..` with basic credentials answers a JWT (RS256, signed with the
//! openssl CLI using a key made for the test) granting the requested scopes; wrong credentials
//! get 401; no credentials get a token that grants nothing. The registry trusts the key through
//! its certificate (`auth: token: rootcertbundle`), which the JWT carries in its `x5c` header.
//! A plain std TcpListener thread; dropping the server stops it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

pub const SERVICE: &str = "berth-test-registry";
pub const ISSUER: &str = "berth-test-issuer";

pub struct TokenServer {
    pub port: u16,
    /// PEM certificate of the signing key: the registry's `rootcertbundle`.
    pub cert: PathBuf,
    /// Token requests answered so far (any outcome).
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Makes a key and self-signed certificate under `dir` and starts serving tokens for
    /// `user`/`password` on a free 127.0.0.1 port.
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        let key = dir.join("token-key.pem");
        let cert = dir.join("token-cert.pem");
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=berth-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(der.status.success());
        let x5c = base64(&der.stdout, STANDARD);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let expected = format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes(), STANDARD)
        );
        let signer = Signer {
            key,
            x5c,
            user: user.to_string(),
            scratch: dir.to_path_buf(),
        };
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    requests.fetch_add(1, Ordering::Relaxed);
                    let _ = serve(conn, &expected, &signer);
                }
            })
        };
        TokenServer {
            port,
            cert,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Signer {
    key: PathBuf,
    x5c: String,
    user: String,
    scratch: PathBuf,
}

impl Signer {
    /// A JWT granting `access` (distribution's claim set), signed RS256 with the test key.
    fn token(&self, subject: &str, access: &[(String, Vec<String>)]) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = format!(r#"{{"alg":"RS256","typ":"JWT","x5c":["{}"]}}"#, self.x5c);
        let access: Vec<String> = access
            .iter()
            .map(|(name, actions)| {
                let actions: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
                format!(
                    r#"{{"type":"repository","name":"{name}","actions":[{}]}}"#,
                    actions.join(",")
                )
            })
            .collect();
        let claims = format!(
            r#"{{"iss":"{ISSUER}","sub":"{subject}","aud":"{SERVICE}","exp":{},"nbf":{},"iat":{now},"jti":"{now}-{}","access":[{}]}}"#,
            now + 300,
            now - 10,
            std::process::id(),
            access.join(",")
        );
        let input = format!(
            "{}.{}",
            base64(header.as_bytes(), URL),
            base64(claims.as_bytes(), URL)
        );
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let file = self
            .scratch
            .join(format!("jwt-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&file, &input).unwrap();
        let sig = Command::new("openssl")
            .args(["dgst", "-sha256", "-binary", "-sign"])
            .arg(&self.key)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            sig.status.success(),
            "openssl dgst: {}",
            String::from_utf8_lossy(&sig.stderr)
        );
        let _ = std::fs::remove_file(&file);
        format!("{input}.{}", base64(&sig.stdout, URL))
    }
}

fn serve(mut conn: TcpStream, expected_auth: &str, signer: &Signer) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((_, v)) = line
            .split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            auth = Some(v.trim().to_string());
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let service_ok = params.iter().any(|(k, v)| k == "service" && v == SERVICE);
    let (status, body) = if path != "/token" || !service_ok {
        (
            "404 Not Found",
            r#"{"details":"unknown service or path"}"#.to_string(),
        )
    } else {
        match auth.as_deref() {
            Some(a) if a == expected_auth => {
                let access: Vec<(String, Vec<String>)> = params
                    .iter()
                    .filter(|(k, _)| k == "scope")
                    .filter_map(|(_, scope)| {
                        let mut parts = scope.splitn(3, ':');
                        let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                        (kind == "repository").then(|| {
                            (
                                name.to_string(),
                                actions.split(',').map(str::to_string).collect(),
                            )
                        })
                    })
                    .collect();
                ("200 OK", token_body(&signer.token(&signer.user, &access)))
            }
            Some(_) => (
                "401 Unauthorized",
                r#"{"details":"incorrect username or password"}"#.to_string(),
            ),
            None => ("200 OK", token_body(&signer.token("", &[]))),
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes())
}

fn token_body(token: &str) -> String {
    format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with `alphabet`; padded for the standard alphabet, unpadded (as JWTs want) for URL.
fn base64(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if alphabet == STANDARD {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}
