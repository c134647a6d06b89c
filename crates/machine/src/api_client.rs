//! A client of the machine's engine API over mutual TLS, with the machine's client certificate
//! and its CA as the only root, exactly as the docker CLI will connect: the readiness probe
//! (`GET /_ping`: `start` returns when it answers, so "started" means "usable", never "probably
//! booted") and `create --image`'s `POST /images/load`. Synchronous rustls over a std
//! TcpStream: one request per connection, no runtime needed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::MachineError;
use crate::certs;

/// A TLS client for one machine's API.
pub struct ApiClient {
    config: Arc<rustls::ClientConfig>,
}

impl ApiClient {
    pub fn new(certs_dir: &Path) -> Result<ApiClient, MachineError> {
        let tls = |e: &dyn std::fmt::Display| MachineError::Tls(e.to_string());
        let ca = certs::read(certs_dir, certs::CA)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
        }
        let chain =
            CertificateDer::pem_slice_iter(certs::read(certs_dir, certs::CLIENT)?.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls(&e))?;
        let key =
            PrivateKeyDer::from_pem_slice(certs::read(certs_dir, certs::CLIENT_KEY)?.as_bytes())
                .map_err(|e| tls(&e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(&e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls(&e))?;
        Ok(ApiClient {
            config: Arc::new(config),
        })
    }

    /// One `/_ping`; Ok(()) when the engine answered 200 OK.
    pub fn ping(&self, port: u16, timeout: Duration) -> Result<(), String> {
        self.request(port, "GET", "/_ping", None, timeout)
            .map(|_| ())
    }

    /// `docker load` of the archive at `path` (a `docker save` tarball); the engine's answer.
    pub fn load_image(&self, port: u16, path: &Path) -> Result<String, String> {
        let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let length = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let body = self.request(
            port,
            "POST",
            "/images/load?quiet=1",
            Some((&mut file, length)),
            Duration::from_secs(300),
        )?;
        // The answer is a JSON message stream: a failure is an `error` in it, under a 200.
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(message) = serde_json::from_str::<serde_json::Value>(line)
                && let Some(error) = message.get("error").and_then(|e| e.as_str())
            {
                return Err(error.to_string());
            }
        }
        Ok(body)
    }

    /// One HTTP/1.1 request with `Connection: close`; the body of a 2xx answer (chunked
    /// transfer encoding undone), else an error with the status line and body.
    fn request(
        &self,
        port: u16,
        method: &str,
        path: &str,
        body: Option<(&mut dyn Read, u64)>,
        timeout: Duration,
    ) -> Result<String, String> {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut tcp =
            TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
        tcp.set_read_timeout(Some(timeout)).ok();
        tcp.set_write_timeout(Some(timeout)).ok();
        let server = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let connection = rustls::ClientConnection::new(self.config.clone(), server)
            .map_err(|e| format!("TLS: {e}"))?;
        let mut stream = rustls::StreamOwned::new(connection, &mut tcp);
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some((_, length)) = &body {
            head.push_str(&format!(
                "Content-Type: application/x-tar\r\nContent-Length: {length}\r\n"
            ));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .map_err(|e| format!("request: {e}"))?;
        if let Some((reader, _)) = body {
            std::io::copy(reader, &mut stream).map_err(|e| format!("request body: {e}"))?;
            stream.flush().map_err(|e| format!("request body: {e}"))?;
        }
        let mut answer = Vec::new();
        // A server that closes without TLS close_notify still gave its answer: read what came.
        if let Err(e) = stream.read_to_end(&mut answer)
            && answer.is_empty()
        {
            return Err(format!("response: {e}"));
        }
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.lines().next().unwrap_or("(nothing)");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            unchunk(body)
        } else {
            body.to_string()
        };
        if status.starts_with("HTTP/1.1 2") || status.starts_with("HTTP/1.0 2") {
            Ok(body)
        } else {
            Err(format!("{status}: {}", body.trim()))
        }
    }
}

/// The data of a chunked HTTP body (sizes in hex, each chunk followed by CRLF, 0 at the end).
fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS server with the machine's server certificate that requires a client certificate
    /// from the machine's CA, as `berth serve --tlsverify` does; answers one request.
    fn serve_once(dir: &Path) -> (u16, std::thread::JoinHandle<Result<(), String>>) {
        let pem = |file| certs::read(dir, file).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem(certs::CA).as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            provider.clone(),
        )
        .build()
        .unwrap();
        let chain = CertificateDer::pem_slice_iter(pem(certs::SERVER).as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(pem(certs::SERVER_KEY).as_bytes()).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            let connection = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(connection, &mut tcp);
            let mut request = [0u8; 512];
            let n = tls.read(&mut request).map_err(|e| e.to_string())?;
            if !request[..n].starts_with(b"GET /_ping ") {
                return Err("not a ping".into());
            }
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                .map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())
        });
        (port, server)
    }

    #[test]
    fn the_machine_client_and_server_certificates_meet_over_loopback() {
        let dir = tempfile::tempdir().unwrap();
        certs::generate("m1").unwrap().write(dir.path()).unwrap();
        let (port, server) = serve_once(dir.path());
        let client = ApiClient::new(dir.path()).unwrap();
        client.ping(port, Duration::from_secs(5)).unwrap();
        server.join().unwrap().unwrap();
    }

    #[test]
    fn another_machines_certificates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        certs::generate("m1").unwrap().write(dir.path()).unwrap();
        certs::generate("m2").unwrap().write(other.path()).unwrap();
        let (port, server) = serve_once(dir.path());
        let stranger = ApiClient::new(other.path()).unwrap();
        assert!(stranger.ping(port, Duration::from_secs(5)).is_err());
        assert!(server.join().unwrap().is_err());
    }
}
