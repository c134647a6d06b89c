//! `berth serve` against web pages: a JSON endpoint refuses a body that is not
//! `application/json` (what a cross-origin form or `fetch` can send without a preflight), a
//! request with a browser's `Origin` or a cross-site `Sec-Fetch-Site` is refused unless
//! `--api-cors-header` allows it, and a TCP listener without TLS refuses host names (DNS
//! rebinding) unless `--api-allow-host` allows them; while the docker CLI keeps working on the
//! socket and on TCP. Every case runs on the unix socket and on `--insecure-tcp` 127.0.0.1.
//!
//! These tests need root, busybox and /usr/local/bin/docker: without them they are skipped,
//! except under CI (`CI` set), where that is a failure.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::serve::Serve;
use common::{COMMAND_DEADLINE, Env, Run, output_within};

const DOCKER: &str = "/usr/local/bin/docker";

/// The test's environment, or None to skip; under CI a missing prerequisite fails the test.
fn env_or_skip(needs_docker: bool) -> Option<Env> {
    let env = common::env()?;
    if needs_docker && !Path::new(DOCKER).is_file() {
        common::cannot_run(&format!("{DOCKER} is not installed"));
        return None;
    }
    Some(env)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `berth serve` on the test's socket and on `--insecure-tcp` 127.0.0.1:PORT, plus `extra`
/// arguments; killed on drop.
struct Server {
    _serve: Serve,
    socket: PathBuf,
    port: u16,
    docker_config: PathBuf,
}

impl Server {
    fn start(env: &Env, extra: &[&str]) -> Server {
        let port = free_port();
        let (mut cmd, socket) = env.serve_command();
        // TCP first: the socket answering means both listen.
        cmd.args(["-H", &format!("tcp://127.0.0.1:{port}"), "--insecure-tcp"])
            .args(extra);
        let serve = Serve::start(cmd, socket.clone());
        common::wait_for(
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "berth serve to listen on TCP",
        );
        let docker_config = env.run.parent().unwrap().join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        Server {
            _serve: serve,
            socket,
            port,
            docker_config,
        }
    }

    fn transports(&self) -> [Transport; 2] {
        [
            Transport::Unix(self.socket.clone()),
            Transport::Tcp(self.port),
        ]
    }

    /// The docker CLI against one of the listeners.
    fn docker(&self, transport: &Transport, args: &[&str]) -> Run {
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env("DOCKER_HOST", transport.docker_host())
            .env("DOCKER_CONFIG", &self.docker_config);
        output_within(c, COMMAND_DEADLINE)
    }

    fn docker_ok(&self, transport: &Transport, args: &[&str]) -> String {
        let r = self.docker(transport, args);
        assert_eq!(
            r.code, 0,
            "docker {args:?} over {transport:?} failed: {}{}",
            r.stdout, r.stderr
        );
        r.stdout
    }
}

#[derive(Debug, Clone)]
enum Transport {
    Unix(PathBuf),
    Tcp(u16),
}

impl Transport {
    fn docker_host(&self) -> String {
        match self {
            Transport::Unix(p) => format!("unix://{}", p.display()),
            Transport::Tcp(port) => format!("tcp://127.0.0.1:{port}"),
        }
    }

    /// The Host a docker client sends on this transport.
    fn host(&self) -> String {
        match self {
            Transport::Unix(_) => "api.moby.localhost".into(),
            Transport::Tcp(port) => format!("127.0.0.1:{port}"),
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with exactly these headers (plus Host, unless given, Content-Length
/// and Connection: close).
fn request(
    transport: &Transport,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut stream: Box<dyn ReadWrite> = match transport {
        Transport::Unix(p) => Box::new(std::os::unix::net::UnixStream::connect(p).unwrap()),
        Transport::Tcp(port) => {
            Box::new(std::net::TcpStream::connect(("127.0.0.1", *port)).unwrap())
        }
    };
    stream.timeout(Duration::from_secs(30));
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {}\r\n", transport.host()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

trait ReadWrite: Read + Write {
    fn timeout(&self, d: Duration);
}

impl ReadWrite for std::os::unix::net::UnixStream {
    fn timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}

impl ReadWrite for std::net::TcpStream {
    fn timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}

fn message(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["message"].as_str().unwrap_or_default().to_string()
}

/// What a page would like to create.
const CREATE: &str =
    r#"{"Image":"bb","Cmd":["true"],"HostConfig":{"Privileged":true,"Binds":["/:/host"]}}"#;
/// What the tests create when a request is let through.
const BENIGN: &str = r#"{"Image":"bb","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}"#;

#[test]
fn json_endpoints_refuse_bodies_that_are_not_application_json() {
    let Some(env) = env_or_skip(false) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let server = Server::start(&env, &[]);
    for t in server.transports() {
        // What a web page can send anywhere without a CORS preflight, and a body with no type.
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=xyz"),
            None,
        ] {
            let headers: Vec<(&str, &str)> = content_type
                .iter()
                .map(|ct| ("Content-Type", *ct))
                .collect();
            let r = request(&t, "POST", "/v1.41/containers/create", &headers, CREATE);
            let expected = match content_type {
                Some(ct) => {
                    format!("unsupported Content-Type header ({ct}): must be 'application/json'")
                }
                None => "malformed Content-Type header (): mime: no media type".to_string(),
            };
            assert_eq!(
                (r.status, message(&r.body)),
                (400, expected),
                "{t:?} {content_type:?}"
            );
            assert_eq!(
                r.body,
                format!(
                    "{{\"message\":{}}}",
                    serde_json::to_string(&message(&r.body)).unwrap()
                )
            );
            assert_eq!(
                env.container_ids(),
                Vec::<String>::new(),
                "{t:?} {content_type:?}"
            );
        }
        // The other JSON endpoints a page could use: nothing is created either.
        let text = [("Content-Type", "text/plain")];
        let r = request(
            &t,
            "POST",
            "/networks/create",
            &text,
            r#"{"Name":"pagenet"}"#,
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let r = request(
            &t,
            "POST",
            "/volumes/create",
            &text,
            r#"{"Name":"pagevol"}"#,
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(!env.ok(&["network", "ls"]).contains("pagenet"));
        assert!(!env.ok(&["volume", "ls"]).contains("pagevol"));
    }
    // application/json, with parameters and in any case, still creates.
    let mut created = Vec::new();
    for t in server.transports() {
        for content_type in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            let r = request(
                &t,
                "POST",
                "/containers/create",
                &[("Content-Type", content_type)],
                BENIGN,
            );
            assert_eq!(r.status, 201, "{t:?} {content_type}: {}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            created.push(v["Id"].as_str().unwrap().to_string());
        }
        // Bodyless POSTs need no Content-Type (the docker CLI sends none), and may say
        // text/plain (older Go clients do).
        let n = created.len();
        let r = request(
            &t,
            "POST",
            &format!("/containers/{}/start", created[n - 1]),
            &[],
            "",
        );
        assert_eq!(r.status, 204, "{}", r.body);
        let text = [("Content-Type", "text/plain")];
        let r = request(
            &t,
            "POST",
            &format!("/containers/{}/start", created[n - 2]),
            &text,
            "",
        );
        assert_eq!(r.status, 204, "{}", r.body);
        // A JSON endpoint with an empty body passes the check and reaches the handler.
        let r = request(
            &t,
            "POST",
            "/containers/create",
            &[("Content-Type", "text/plain")],
            "",
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            message(&r.body).contains("no image specified"),
            "{}",
            r.body
        );
    }
    let mut ids = env.container_ids();
    ids.sort();
    created.sort();
    assert_eq!(ids, created);
}

#[test]
fn exec_and_network_bodies_must_be_json_too() {
    let Some(env) = env_or_skip(false) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let server = Server::start(&env, &[]);
    let id = env.ok(&["run", "-d", "--network", "none", "bb", "sleep", "60"]);
    let id = id.trim();
    for t in server.transports() {
        let text = [("Content-Type", "text/plain")];
        let exec = r#"{"Cmd":["touch","/tmp/from-a-page"]}"#;
        let r = request(&t, "POST", &format!("/containers/{id}/exec"), &text, exec);
        assert_eq!(
            (r.status, message(&r.body)),
            (
                400,
                "unsupported Content-Type header (text/plain): must be 'application/json'".into()
            )
        );
        let json = [("Content-Type", "application/json")];
        let r = request(&t, "POST", &format!("/containers/{id}/exec"), &json, exec);
        assert_eq!(r.status, 201, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let exec_id = v["Id"].as_str().unwrap();
        let start = r#"{"Detach":true}"#;
        let r = request(&t, "POST", &format!("/exec/{exec_id}/start"), &text, start);
        assert_eq!(r.status, 400, "{}", r.body);
        let r = request(
            &t,
            "POST",
            &format!("/containers/{id}/update"),
            &text,
            r#"{"Memory":1}"#,
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let r = request(
            &t,
            "POST",
            &format!("/commit?container={id}&repo=pageimg"),
            &text,
            "{}",
        );
        assert_eq!(r.status, 400, "{}", r.body);
        for verb in ["connect", "disconnect"] {
            let body = format!(r#"{{"Container":"{id}"}}"#);
            let r = request(
                &t,
                "POST",
                &format!("/networks/bridge/{verb}"),
                &text,
                &body,
            );
            assert_eq!(r.status, 400, "{verb}: {}", r.body);
        }
    }
    // The exec was created but never started with a text/plain body.
    let r = env.berth(&["exec", id, "ls", "/tmp/from-a-page"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(!env.ok(&["images"]).contains("pageimg"));
}

#[test]
fn browser_origins_and_cross_site_requests_are_refused() {
    let Some(env) = env_or_skip(false) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let server = Server::start(&env, &[]);
    let json = ("Content-Type", "application/json");
    // Each round creates one container at its end, as a docker client.
    for (created, t) in server.transports().into_iter().enumerate() {
        let origin = ("Origin", "http://evil.example");
        let r = request(&t, "POST", "/containers/create", &[json, origin], CREATE);
        assert_eq!(r.status, 403, "{t:?}: {}", r.body);
        assert_eq!(
            message(&r.body),
            "request from the browser origin \"http://evil.example\" refused: berth serve answers \
             browsers only for the origins given with --api-cors-header"
        );
        assert_eq!(r.header("Access-Control-Allow-Origin"), None);
        assert_eq!(env.container_ids().len(), created);
        // Reads too, and a preflight, and the opaque origin of a sandboxed page or a file.
        let r = request(&t, "GET", "/containers/json", &[origin], "");
        assert_eq!(r.status, 403, "{}", r.body);
        let r = request(
            &t,
            "OPTIONS",
            "/containers/create",
            &[origin, ("Access-Control-Request-Method", "POST")],
            "",
        );
        assert_eq!(r.status, 403, "{}", r.body);
        let r = request(
            &t,
            "POST",
            "/containers/create",
            &[json, ("Origin", "null")],
            CREATE,
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(env.container_ids().len(), created);
        // A browser that sends no Origin (a link, an image, a GET form) still says where from.
        for site in ["cross-site", "same-site"] {
            let headers = [("Sec-Fetch-Site", site), ("Sec-Fetch-Mode", "no-cors")];
            let r = request(&t, "GET", "/containers/json", &headers, "");
            assert_eq!(r.status, 403, "{site}: {}", r.body);
            assert!(
                message(&r.body).contains(&format!("Sec-Fetch-Site: {site}")),
                "{}",
                r.body
            );
        }
        // The user typing the URL is not a page.
        let headers = [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate")];
        let r = request(&t, "GET", "/containers/json", &headers, "");
        assert_eq!(r.status, 200, "{}", r.body);
        // Docker clients send neither.
        let r = request(&t, "POST", "/containers/create", &[json], BENIGN);
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(env.container_ids().len(), 2);
}

#[test]
fn tcp_without_tls_refuses_host_names_that_could_be_a_dns_rebinding() {
    let Some(env) = env_or_skip(false) else {
        panic!("this test cannot run here: the reason is said above");
    };
    let server = Server::start(&env, &["--api-allow-host", "builder.internal"]);
    let tcp = Transport::Tcp(server.port);
    let port = server.port;
    for host in [
        format!("evil.example:{port}"),
        "evil.example".into(),
        format!("127.0.0.1.evil.example:{port}"),
    ] {
        let r = request(&tcp, "GET", "/containers/json", &[("Host", &host)], "");
        assert_eq!(r.status, 403, "{host}: {}", r.body);
        assert!(
            message(&r.body).starts_with(&format!("request for host {host:?} refused")),
            "{}",
            r.body
        );
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("builder.internal:{port}"),
        "10.1.2.3".into(),
    ] {
        let r = request(&tcp, "GET", "/_ping", &[("Host", &host)], "");
        assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{host}");
    }
    // The socket answers any Host: the docker CLI's, docker-py's, bollard's (the path in hex).
    let unix = Transport::Unix(server.socket.clone());
    for host in [
        "api.moby.localhost",
        "localhost",
        "2f72756e2f626572746825",
        "evil.example",
    ] {
        let r = request(&unix, "GET", "/_ping", &[("Host", host)], "");
        assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{host}");
    }
}

#[test]
fn an_allowed_origin_is_served_with_cors_headers() {
    let Some(env) = env_or_skip(false) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let server = Server::start(&env, &["--api-cors-header", "http://ui.example:8080"]);
    let json = ("Content-Type", "application/json");
    let allowed = ("Origin", "http://ui.example:8080");
    for t in server.transports() {
        let r = request(
            &t,
            "OPTIONS",
            "/v1.41/containers/create",
            &[allowed, ("Access-Control-Request-Method", "POST")],
            "",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some("http://ui.example:8080")
        );
        assert!(
            r.header("Access-Control-Allow-Methods")
                .is_some_and(|m| m.contains("POST")),
            "{:?}",
            r.headers
        );
        assert!(
            r.header("Access-Control-Allow-Headers")
                .is_some_and(|h| h.contains("Content-Type")),
            "{:?}",
            r.headers
        );
        let headers = [json, allowed, ("Sec-Fetch-Site", "cross-site")];
        let r = request(&t, "POST", "/containers/create", &headers, BENIGN);
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some("http://ui.example:8080")
        );
        // An allowed page is held to JSON bodies all the same.
        let r = request(
            &t,
            "POST",
            "/containers/create",
            &[("Content-Type", "text/plain"), allowed],
            CREATE,
        );
        assert_eq!(r.status, 400, "{}", r.body);
        // Any other origin is still refused.
        let r = request(
            &t,
            "POST",
            "/containers/create",
            &[json, ("Origin", "http://evil.example")],
            CREATE,
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.header("Access-Control-Allow-Origin"), None);
    }
    assert_eq!(env.container_ids().len(), 2);
    // A value that is not an origin stops the server at start.
    let (mut cmd, _) = env.serve_command();
    cmd.args(["--api-cors-header", "ui.example"]);
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("invalid --api-cors-header"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_docker_cli_still_works_on_the_socket_and_on_tcp() {
    let Some(env) = env_or_skip(true) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let server = Server::start(&env, &[]);
    for (i, t) in server.transports().iter().enumerate() {
        let name = format!("cli{i}");
        let out = server.docker_ok(t, &["run", "--network", "none", "--rm", "bb", "echo", "hi"]);
        assert_eq!(out, "hi\n");
        let id = server.docker_ok(t, &["create", "--name", &name, "bb", "sleep", "60"]);
        assert_eq!(id.trim().len(), 64, "{id}");
        server.docker_ok(t, &["start", &name]);
        let r = server.docker(t, &["exec", &name, "sh", "-c", "echo in-exec; exit 3"]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (3, "in-exec\n"),
            "{}",
            r.stderr
        );
        server.docker_ok(t, &["exec", "-d", &name, "touch", "/tmp/x"]);
        server.docker_ok(t, &["update", "--restart", "on-failure:2", &name]);
        let vol = format!("secvol{i}");
        assert_eq!(server.docker_ok(t, &["volume", "create", &vol]).trim(), vol);
        let net = format!("secnet{i}");
        let net_id = server.docker_ok(t, &["network", "create", &net]);
        assert_eq!(net_id.trim().len(), 64, "{net_id}");
        server.docker_ok(t, &["network", "connect", &net, &name]);
        server.docker_ok(t, &["network", "disconnect", &net, &name]);
        server.docker_ok(t, &["commit", &name, &format!("secimg{i}")]);
        server.docker_ok(t, &["rm", "-f", &name]);
        server.docker_ok(t, &["network", "rm", &net]);
        server.docker_ok(t, &["volume", "rm", &vol]);
    }
}
