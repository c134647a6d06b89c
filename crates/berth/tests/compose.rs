//! docker-compose 1.29 (Debian's `docker-compose`, skipped when absent) driving `berth serve`:
//! a three-service project that talks by name over a user network, shares a named volume,
//! builds one image and publishes a port, through up, ps, logs, exec, run, stop, start and
//! down -v. The server is stopped and every container removed even when the test fails.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::Serve;
use common::{COMMAND_DEADLINE, Env, Run, output_within};

const COMPOSE: &str = "/usr/bin/docker-compose";

/// Removes the test's containers even when it failed half-way (Env's drop then prunes
/// the networks).
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

fn compose(server: &Serve, dir: &Path, args: &[&str]) -> Run {
    let mut c = Command::new(COMPOSE);
    c.arg("--no-ansi")
        .args(["-p", "bproj"])
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", format!("unix://{}", server.socket.display()))
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .stdin(Stdio::null());
    output_within(c, COMMAND_DEADLINE)
}

fn compose_ok(server: &Serve, dir: &Path, args: &[&str]) -> String {
    let r = compose(server, dir, args);
    assert_eq!(
        r.code, 0,
        "docker-compose {args:?} failed: {}{}",
        r.stdout, r.stderr
    );
    r.stdout
}

/// GET / on the host's published port; the body.
fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` for up to 20 s until it returns Some.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn compose_up_ps_logs_exec_run_stop_start_down() {
    let env = common::required_env();
    if !Path::new(COMPOSE).is_file() {
        common::cannot_run(&format!("{COMPOSE} is not installed"));
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = {
        let (cmd, socket) = env.serve_command();
        Serve::start(cmd, socket)
    };
    let dir = env.run.parent().unwrap().join("project");
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(
        dir.join("web/Dockerfile"),
        "FROM bb\nCOPY index.html /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("web/index.html"), "hello from web\n").unwrap();
    let port = free_port();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            r#"version: "2.4"
services:
  web:
    build: ./web
    ports:
      - "127.0.0.1:{port}:80"
    networks: [appnet]
  app:
    image: bb
    depends_on: [web]
    environment:
      TARGET: http://web/
    command: sh -c 'until wget -q -O /data/page "$$TARGET"; do sleep 0.2; done; echo fetched $$TARGET; exec sleep 300'
    volumes: ["shared:/data"]
    networks: [appnet]
  check:
    image: bb
    depends_on: [app]
    command: sleep 300
    volumes: ["shared:/data:ro"]
    networks: [appnet]
networks:
  appnet:
    ipam:
      config:
        - subnet: 10.243.0.0/24
volumes:
  shared:
"#
        ),
    )
    .unwrap();

    compose_ok(&server, &dir, &["up", "-d"]);
    // The published port answers from the host.
    assert_eq!(
        eventually("the published port", || http_get(port)
            .ok()
            .filter(|b| !b.is_empty())),
        "hello from web\n"
    );
    let ps = compose_ok(&server, &dir, &["ps"]);
    for name in ["bproj_web_1", "bproj_app_1", "bproj_check_1"] {
        let line = ps
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {ps}"));
        assert!(line.contains(" Up"), "{ps}");
    }
    assert!(ps.contains(&format!("127.0.0.1:{port}->80/tcp")), "{ps}");
    // app fetched http://web/ by name and wrote it into the volume check reads.
    let page = eventually("the page in the shared volume", || {
        let r = compose(&server, &dir, &["exec", "-T", "check", "cat", "/data/page"]);
        (r.code == 0).then_some(r.stdout)
    });
    assert_eq!(page, "hello from web\n");
    let logs = compose_ok(&server, &dir, &["logs", "--no-color", "app"]);
    assert!(logs.contains("fetched http://web/"), "{logs}");
    let hosts = compose_ok(
        &server,
        &dir,
        &[
            "exec",
            "-T",
            "app",
            "sh",
            "-c",
            "wget -q -O - http://web/ && echo $TARGET",
        ],
    );
    assert_eq!(hosts, "hello from web\nhttp://web/\n");
    // A one-off container on the project's network and volume, removed after.
    let one_off = compose_ok(
        &server,
        &dir,
        &[
            "run",
            "--rm",
            "-T",
            "check",
            "sh",
            "-c",
            "cat /data/page; wget -q -O - http://web/",
        ],
    );
    assert_eq!(one_off, "hello from web\nhello from web\n");
    compose_ok(&server, &dir, &["stop", "-t", "1"]);
    let ps = compose_ok(&server, &dir, &["ps"]);
    assert!(!ps.contains(" Up"), "{ps}");
    assert!(http_get(port).map(|b| b.is_empty()).unwrap_or(true));
    compose_ok(&server, &dir, &["start"]);
    assert_eq!(
        eventually("the port after start", || http_get(port)
            .ok()
            .filter(|b| !b.is_empty())),
        "hello from web\n"
    );
    // The volume kept its data across stop/start.
    let r = compose_ok(&server, &dir, &["exec", "-T", "check", "cat", "/data/page"]);
    assert_eq!(r, "hello from web\n");
    compose_ok(&server, &dir, &["down", "-v"]);
    assert_eq!(env.ok(&["ps", "-aq"]).trim(), "", "containers left");
    assert_eq!(
        env.ok(&["network", "ls", "-q", "--filter", "type=custom"])
            .trim(),
        "",
        "networks left"
    );
    assert_eq!(env.ok(&["volume", "ls", "-q"]).trim(), "", "volumes left");
    assert!(http_get(port).is_err(), "port still published");
}
