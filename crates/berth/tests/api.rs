//! `berth serve`: the Docker Engine API, driven by the real docker CLI (28.2.2, skipped when
//! /usr/local/bin/docker is absent), by bollard (which checks response shapes strictly) and by
//! raw HTTP for bad input. Each test runs its own server on a socket in its temp dir; the
//! server is stopped and every container removed even when the test fails.

mod common;

use common::http::{encoded, http};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{COMMAND_DEADLINE, Env, Run, output_within, wait_within};

const DOCKER: &str = "/usr/local/bin/docker";

/// A running `berth serve`, stopped (SIGTERM, then SIGKILL) on drop.
struct Server {
    child: Option<Child>,
    socket: PathBuf,
    docker_config: PathBuf,
}

impl Server {
    fn start(env: &Env) -> Server {
        let socket = env.run.parent().unwrap().join("api.sock");
        let docker_config = env.run.parent().unwrap().join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        let child = env
            .cmd(&["serve", "-H", &format!("unix://{}", socket.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let server = Server {
            child: Some(child),
            socket,
            docker_config,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while UnixStream::connect(&self.socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "berth serve did not listen on {}",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("server stopped").id() as i32
    }

    /// The server's children that exited and were never reaped.
    fn zombie_children(&self) -> Vec<String> {
        let parent = self.pid().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| std::fs::read_to_string(p.path().join("stat")).ok())
            .filter(|stat| {
                let fields: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..]
                    .split_whitespace()
                    .collect();
                fields.first() == Some(&"Z") && fields.get(1) == Some(&parent.as_str())
            })
            .collect()
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The docker CLI against this server, with a private config dir.
    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .stdin(Stdio::null());
        c
    }

    fn docker(&self, args: &[&str]) -> Run {
        output_within(self.docker_cmd(args), COMMAND_DEADLINE)
    }

    fn docker_ok(&self, args: &[&str]) -> String {
        let r = self.docker(args);
        assert_eq!(
            r.code, 0,
            "docker {args:?} failed: {}{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Stops the server with `signal` and returns its exit status within 20 s.
    fn stop_with(&mut self, signal: i32) -> Run {
        let child = self.child.take().expect("server already stopped");
        // SAFETY: kill(2) on the server process this test started.
        unsafe { libc::kill(child.id() as i32, signal) };
        wait_within(child, Duration::from_secs(20), "berth serve after a signal")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the server process this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none()
                && start.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Removes every container of the test's state, even when the test failed half-way.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

fn have_docker() -> bool {
    if Path::new(DOCKER).is_file() {
        return true;
    }
    common::cannot_run(&format!("{DOCKER} is not installed"));
    false
}

#[test]
fn docker_version_and_ping_through_the_api() {
    let env = common::required_env();
    let server = Server::start(&env);
    let (status, body) = http(&server.socket, "GET", "/_ping", "");
    assert_eq!((status, body.as_str()), (200, "OK"));
    // A version above the advertised one is refused as dockerd does (api_parity tests more).
    let (status, body) = http(&server.socket, "GET", "/v1.41/version", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ApiVersion\":\"1.41\""), "{body}");
    let (status, body) = http(&server.socket, "GET", "/v1.99/version", "");
    assert_eq!(status, 400, "{body}");
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let version = server.docker_ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(version.trim(), "1.41 linux");
}

#[test]
fn docker_run_passes_output_stdin_and_exit_codes_through() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let r = server.docker(&[
        "run",
        "--network",
        "none",
        "--rm",
        "bb",
        "sh",
        "-c",
        "echo hi; echo oops >&2",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "hi\n", "oops\n")
    );
    let r = server.docker(&[
        "run",
        "--network",
        "none",
        "--rm",
        "bb",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    let mut child = server
        .docker_cmd(&["run", "--network", "none", "-i", "--rm", "bb", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line1\nline2\n")
        .unwrap();
    let r = wait_within(child, COMMAND_DEADLINE, "docker run -i cat");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "line1\nline2\n"),
        "{}",
        r.stderr
    );
    // --rm is done by the server: nothing is left.
    assert!(
        env.container_ids().is_empty(),
        "left behind: {:?}",
        env.container_ids()
    );
    // A command that is not in the image: Docker's 127.
    let r = server.docker(&["run", "--network", "none", "--rm", "bb", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        env.container_ids().is_empty(),
        "left behind: {:?}",
        env.container_ids()
    );
}

#[test]
fn detached_container_lifecycle_through_the_docker_cli() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let id = server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "web",
        "bb",
        "sh",
        "-c",
        "echo started; echo to-err >&2; while true; do sleep 1; done",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = server.docker_ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.lines().any(|l| l.starts_with("web Up")), "{ps}");
    common::wait_for(
        || server.docker(&["logs", "web"]).stdout.contains("started"),
        "the log line",
    );
    let logs = server.docker(&["logs", "web"]);
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("started\n", "to-err\n")
    );
    let r = server.docker(&[
        "exec",
        "web",
        "sh",
        "-c",
        "echo in-exec; echo exec-err >&2; exit 3",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (3, "in-exec\n", "exec-err\n")
    );
    let mut child = server
        .docker_cmd(&["exec", "-i", "web", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"via exec stdin\n")
        .unwrap();
    let r = wait_within(child, COMMAND_DEADLINE, "docker exec -i cat");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "via exec stdin\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        server
            .docker_ok(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.Name}} {{.Config.Image}}",
                "web"
            ])
            .trim(),
        "running /web bb"
    );
    server.docker_ok(&["stop", "-t", "1", "web"]);
    assert_eq!(
        server
            .docker_ok(&["inspect", "-f", "{{.State.Status}}", "web"])
            .trim(),
        "exited"
    );
    assert!(server.docker_ok(&["ps", "-q"]).trim().is_empty());
    server.docker_ok(&["start", "web"]);
    assert_eq!(
        server
            .docker_ok(&["inspect", "-f", "{{.State.Running}}", "web"])
            .trim(),
        "true"
    );
    server.docker_ok(&["rm", "-f", "web"]);
    assert!(server.docker_ok(&["ps", "-aq"]).trim().is_empty());
    let r = server.docker(&["inspect", "web"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("No such object: web"), "{}", r.stderr);
}

#[test]
fn cli_and_api_see_and_stop_each_others_containers() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let mut server = Server::start(&env);
    env.ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "from-cli",
        "bb",
        "sleep",
        "1000",
    ]);
    let ps = server.docker_ok(&["ps", "--format", "{{.Names}}"]);
    assert!(ps.lines().any(|l| l == "from-cli"), "{ps}");
    server.docker_ok(&["kill", "from-cli"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "from-cli"])
            .trim(),
        "exited"
    );

    // `docker wait` on containers the server did not start: it awaits their exit and reports
    // the code; under a restart policy, as dockerd, the first exit ends it (a second wait
    // gets the next one, here the last).
    for (name, restart) in [("exits-7", "no"), ("restarts-once", "on-failure:1")] {
        env.ok(&[
            "run",
            "--network",
            "none",
            "-d",
            "--restart",
            restart,
            "--name",
            name,
            "bb",
            "sh",
            "-c",
            "until [ -e /tmp/go ]; do sleep 0.05; done; exit 7",
        ]);
        let waiter = server
            .docker_cmd(&["wait", name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        env.ok(&["exec", name, "touch", "/tmp/go"]);
        let r = wait_within(waiter, COMMAND_DEADLINE, "docker wait");
        assert_eq!((r.code, r.stdout.trim()), (0, "7"), "{name}: {}", r.stderr);
        if restart != "no" {
            assert_eq!(server.docker_ok(&["wait", name]).trim(), "7", "{name}");
        }
        assert_eq!(
            env.ok(&["inspect", "-f", "{{.State.Status}}", name]).trim(),
            "exited",
            "{name}"
        );
    }

    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "from-api",
        "bb",
        "sleep",
        "1000",
    ]);
    let ps = env.ok(&["ps", "--format", "{{.Names}}"]);
    assert!(ps.lines().any(|l| l == "from-api"), "{ps}");
    // Killing the server stops no container.
    let r = server.stop_with(libc::SIGKILL);
    assert_ne!(r.code, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "from-api"])
            .trim(),
        "running"
    );
    // A new server (over the stale socket file) sees it and stops it.
    let server = Server::start(&env);
    server.docker_ok(&["stop", "-t", "1", "from-api"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "from-api"])
            .trim(),
        "exited"
    );
}

#[test]
fn bad_requests_get_docker_errors_and_the_server_keeps_serving() {
    let env = common::required_env();
    let server = Server::start(&env);
    let (status, body) = http(
        &server.socket,
        "POST",
        "/v1.41/containers/create",
        "{not json",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("\"message\":\"invalid JSON in request body"),
        "{body}"
    );
    let (status, body) = http(&server.socket, "GET", "/v1.41/no/such/endpoint", "");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"message\""), "{body}");
    let (status, body) = http(&server.socket, "GET", "/containers/nosuch/json", "");
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"message\":\"No such container: nosuch\"}")
    );
    let (status, body) = http(
        &server.socket,
        "POST",
        "/containers/create",
        r#"{"Image":"no-such-image"}"#,
    );
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"message\":\"No such image: no-such-image\"}")
    );
    let (status, body) = http(&server.socket, "GET", "/containers/json?filters=%7Bbad", "");
    assert_eq!(status, 400, "{body}");
    let (status, body) = http(
        &server.socket,
        "POST",
        "/exec/nosuch/start",
        r#"{"Detach":true}"#,
    );
    assert_eq!(status, 404, "{body}");
    // A body over the limit and a wrong method: Docker's JSON error shape all the same.
    let mut stream = UnixStream::connect(&server.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let huge = format!(r#"{{"Image":"{}"}}"#, "a".repeat(8 << 20));
    let head = format!(
        "POST /containers/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        huge.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before it has read it all.
    let _ = stream.write_all(huge.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("application/json") && response.contains("{\"message\":"),
        "{response}"
    );
    let (status, body) = http(&server.socket, "DELETE", "/containers/json", "");
    assert_eq!(status, 405, "{body}");
    assert!(body.starts_with("{\"message\":"), "{body}");
    let (status, body) = http(&server.socket, "GET", "/_ping", "");
    assert_eq!((status, body.as_str()), (200, "OK"));
}

#[test]
fn socket_is_private_stale_files_are_replaced_and_a_live_server_is_not_stolen() {
    let env = common::required_env();
    let socket = env.run.parent().unwrap().join("api.sock");
    // A stale socket file: bound once, nobody listening now.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let mut server = Server::start(&env);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o660
    );
    let second = env.berth(&["serve", "-H", &format!("unix://{}", socket.display())]);
    assert_eq!(second.code, 125, "{}", second.stderr);
    assert!(
        second.stderr.contains("another server is listening"),
        "{}",
        second.stderr
    );
    assert_eq!(http(&server.socket, "GET", "/_ping", "").0, 200);
    // SIGTERM: a clean exit that removes the socket.
    let r = server.stop_with(libc::SIGTERM);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!socket.exists());
    // TCP without TLS is refused unless asked for.
    let r = env.berth(&["serve", "-H", "tcp://127.0.0.1:1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("without TLS"), "{}", r.stderr);
}

#[test]
fn bollard_creates_starts_inspects_lists_and_execs() {
    use bollard::query_parameters::{
        CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    use futures_util::StreamExt;

    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    let image_id = env.image("bb", &[]);
    let server = Server::start(&env);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let docker =
            bollard::Docker::connect_with_unix(&server.host(), 60, bollard::API_DEFAULT_VERSION)
                .unwrap();
        let version = docker.version().await.unwrap();
        assert_eq!(version.api_version.as_deref(), Some("1.41"));
        let images = docker
            .list_images(None::<bollard::query_parameters::ListImagesOptions>)
            .await
            .unwrap();
        assert!(
            images
                .iter()
                .any(|i| i.id == image_id && i.repo_tags == ["bb:latest"]),
            "{images:?}"
        );

        let body = bollard::models::ContainerCreateBody {
            image: Some("bb".into()),
            cmd: Some(vec![
                "sh".into(),
                "-c".into(),
                "echo hello-bollard; sleep 1000".into(),
            ]),
            env: Some(vec!["A=B".into()]),
            labels: Some([("com.example.k".to_string(), "v".to_string())].into()),
            // Loopback only: these tests create no bridge or veth.
            host_config: Some(bollard::models::HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name("bol").build()),
                body,
            )
            .await
            .unwrap();
        assert!(created.warnings.is_empty());
        docker.start_container(&created.id, None).await.unwrap();
        let inspected = docker.inspect_container("bol", None).await.unwrap();
        assert_eq!(inspected.id.as_deref(), Some(created.id.as_str()));
        assert_eq!(inspected.name.as_deref(), Some("/bol"));
        let state = inspected.state.unwrap();
        assert_eq!(
            state.status,
            Some(bollard::models::ContainerStateStatusEnum::RUNNING)
        );
        assert!(
            inspected
                .config
                .unwrap()
                .env
                .unwrap()
                .contains(&"A=B".to_string())
        );

        let mut filters = std::collections::HashMap::new();
        filters.insert("label".to_string(), vec!["com.example.k=v".to_string()]);
        let listed = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].names.as_deref(), Some(&["/bol".to_string()][..]));
        filters.insert("label".to_string(), vec!["com.example.k=other".to_string()]);
        let listed = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        assert!(listed.is_empty(), "{listed:?}");

        let exec = docker
            .create_exec(
                "bol",
                bollard::exec::CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", "echo exec-out; exit 4"]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut collected = String::new();
        if let bollard::exec::StartExecResults::Attached { mut output, .. } =
            docker.start_exec(&exec.id, None).await.unwrap()
        {
            while let Some(Ok(chunk)) = output.next().await {
                collected.push_str(&chunk.to_string());
            }
        } else {
            panic!("exec start did not attach");
        }
        assert_eq!(collected, "exec-out\n");
        let inspected = docker.inspect_exec(&exec.id).await.unwrap();
        assert_eq!(
            (inspected.exit_code, inspected.running),
            (Some(4), Some(false))
        );

        // logs (stdcopy frames, split back by stream), top, a one-shot stats sample.
        let logs: Vec<_> = docker
            .logs(
                "bol",
                Some(
                    bollard::query_parameters::LogsOptionsBuilder::new()
                        .stdout(true)
                        .stderr(true)
                        .build(),
                ),
            )
            .collect()
            .await;
        let logs: Vec<String> = logs.into_iter().map(|l| l.unwrap().to_string()).collect();
        assert_eq!(logs, ["hello-bollard\n"]);
        let top = docker.top_processes("bol", None).await.unwrap();
        assert!(top.titles.unwrap().contains(&"PID".to_string()));
        // sh runs its last command in its own place: one process, the sleep.
        let processes = top.processes.unwrap();
        assert_eq!(processes.len(), 1, "{processes:?}");
        assert!(
            processes[0].last().unwrap().contains("sleep 1000"),
            "{processes:?}"
        );
        let stats = docker
            .stats(
                "bol",
                Some(
                    bollard::query_parameters::StatsOptionsBuilder::new()
                        .stream(false)
                        .one_shot(true)
                        .build(),
                ),
            )
            .next()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stats.pids_stats.unwrap().current, Some(1));
        assert!(stats.memory_stats.unwrap().usage.unwrap_or(0) > 0);
        // kill, then wait: bollard reports a non-zero StatusCode as its wait error.
        docker.kill_container("bol", None).await.unwrap();
        let waited = docker.wait_container("bol", None).next().await.unwrap();
        match waited {
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => {
                assert_eq!(code, 137)
            }
            other => panic!("wait: {other:?}"),
        }
        docker
            .remove_container(
                "bol",
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await
            .unwrap();
        let err = docker.inspect_container("bol", None).await.unwrap_err();
        assert!(err.to_string().contains("No such container: bol"), "{err}");
    });
}

/// Runs openssl with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let r = output_within(
        {
            let mut c = Command::new("openssl");
            c.args(args).current_dir(dir).stdin(Stdio::null());
            c
        },
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "openssl {args:?}: {}", r.stderr);
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
fn make_certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=berth-test-ca",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ];
    ca.extend(ec);
    openssl(dir, &ca);
    for (name, usage, san) in [
        ("server", "serverAuth", "subjectAltName=IP:127.0.0.1"),
        ("client", "clientAuth", "subjectAltName=DNS:client"),
    ] {
        let mut req = vec!["req", "-new", "-subj", "/CN=berth-test", "-keyout"];
        let key = format!("{name}-key.pem");
        let csr = format!("{name}.csr");
        req.extend([key.as_str(), "-out", csr.as_str()]);
        req.extend(ec);
        openssl(dir, &req);
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            format!("basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n{san}\n"),
        )
        .unwrap();
        let cert = format!("{name}.pem");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-out",
                &cert,
                "-extfile",
                &ext,
            ],
        );
    }
}

#[test]
fn tcp_needs_a_client_certificate_signed_by_the_ca() {
    let env = common::required_env();
    if !have_docker() || !Path::new("/usr/bin/openssl").is_file() {
        common::cannot_run("needs docker and openssl");
        panic!("this test cannot run here: the reason is said above");
    }
    let certs = env.run.parent().unwrap().join("certs");
    make_certificates(&certs);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = |n: &str| certs.join(n).to_string_lossy().into_owned();
    let child = env
        .cmd(&[
            "serve",
            "-H",
            &format!("tcp://127.0.0.1:{port}"),
            "--tlsverify",
            "--tlscacert",
            &file("ca.pem"),
            "--tlscert",
            &file("server.pem"),
            "--tlskey",
            &file("server-key.pem"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server {
        child: Some(child),
        socket: PathBuf::new(),
        docker_config: certs.join("docker-config"),
    };
    std::fs::create_dir_all(&server.docker_config).unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "berth serve did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let host = format!("tcp://127.0.0.1:{port}");
    let with_cert = server.docker(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &file("ca.pem"),
        "--tlscert",
        &file("client.pem"),
        "--tlskey",
        &file("client-key.pem"),
        "version",
        "--format",
        "{{.Server.APIVersion}}",
    ]);
    assert_eq!(
        (with_cert.code, with_cert.stdout.trim()),
        (0, "1.41"),
        "{}",
        with_cert.stderr
    );
    // Trusting the server is not enough: the server wants the client's certificate.
    let without_cert = server.docker(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &file("ca.pem"),
        "version",
    ]);
    assert_ne!(without_cert.code, 0, "{}", without_cert.stdout);
    // The client certificate is not a server certificate, nor the other way round.
    let wrong = server.docker(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &file("ca.pem"),
        "--tlscert",
        &file("server.pem"),
        "--tlskey",
        &file("server-key.pem"),
        "version",
    ]);
    assert_ne!(wrong.code, 0, "{}", wrong.stdout);
    let r = server.stop_with(libc::SIGTERM);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn tty_logs_wait_pause_rename_restart_top_stats_and_prune() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    // -t: one raw stream, no framing, from a pty.
    let r = server.docker(&[
        "run",
        "--network",
        "none",
        "-t",
        "--rm",
        "bb",
        "sh",
        "-c",
        "tty; echo to-err >&2",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "/dev/pts/0\r\nto-err\r\n");

    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "counter",
        "bb",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late; exit 3",
    ]);
    // logs -f follows to the end; wait reports the exit code.
    let follow = server.docker(&["logs", "-f", "counter"]);
    assert_eq!(follow.stdout, "line1\nline2\nline3\nline4\nline5\nlate\n");
    assert_eq!(server.docker_ok(&["wait", "counter"]).trim(), "3");
    assert_eq!(
        server.docker_ok(&["logs", "--tail", "2", "counter"]),
        "line5\nlate\n"
    );
    let stamped = server.docker_ok(&["logs", "-t", "--tail", "1", "counter"]);
    let (stamp, text) = stamped.split_once(' ').unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{stamped}"
    );
    assert_eq!(text, "late\n");
    // --since: the CLI sends a unix time; entries before it are left out.
    let all = server.docker_ok(&["logs", "--since", "2000-01-01T00:00:00Z", "counter"]);
    assert_eq!(all.lines().count(), 6, "{all}");
    let none = server.docker_ok(&["logs", "--since", "2099-01-01T00:00:00Z", "counter"]);
    assert_eq!(none, "");

    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "sleeper",
        "bb",
        "sleep",
        "1000",
    ]);
    server.docker_ok(&["pause", "sleeper"]);
    assert_eq!(
        server
            .docker_ok(&["inspect", "-f", "{{.State.Status}}", "sleeper"])
            .trim(),
        "paused"
    );
    let r = server.docker(&["exec", "sleeper", "true"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("paused"), "{}", r.stderr);
    server.docker_ok(&["unpause", "sleeper"]);
    // exec -t: raw bytes from a pty, and the exit code.
    let r = server.docker(&["exec", "-t", "sleeper", "sh", "-c", "tty; exit 2"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (2, "/dev/pts/0\r\n"),
        "{}",
        r.stderr
    );
    server.docker_ok(&["rename", "sleeper", "dozer"]);
    let top = server.docker_ok(&["top", "dozer"]);
    assert!(
        top.lines().next().unwrap().contains("PID") && top.contains("sleep 1000"),
        "{top}"
    );
    let stats = server.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "dozer",
    ]);
    assert_eq!(stats.trim(), "dozer 1");
    let before = server.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "dozer"]);
    server.docker_ok(&["restart", "-t", "1", "dozer"]);
    let after = server.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.State.Pid}}",
        "dozer",
    ]);
    assert!(
        after.starts_with("true ") && after.trim_start_matches("true ") != before,
        "{before} -> {after}"
    );
    let r = server.docker(&["kill", "-s", "NOSUCHSIGNAL", "dozer"]);
    assert_ne!(r.code, 0);
    // prune removes stopped containers only.
    let pruned = server.docker_ok(&["container", "prune", "-f"]);
    assert!(pruned.contains("Deleted Containers"), "{pruned}");
    let left = server.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(left.trim(), "dozer");
    server.docker_ok(&["rm", "-f", "dozer"]);
    // Every shim the server started (run, start, restart) was reaped.
    common::wait_for(
        || server.zombie_children().is_empty(),
        "the server to reap its shims",
    );
}

#[test]
fn image_tag_inspect_history_and_remove() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let id = env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&["tag", "bb", "other/name:v1"]);
    let images = server.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    let short = &id["sha256:".len().."sha256:".len() + 12];
    assert!(
        images.contains(&format!("other/name:v1 {short}"))
            && images.contains(&format!("bb:latest {short}")),
        "{images}"
    );
    // docker images REPO[:TAG] and --filter: the server filters (reference, dangling).
    let only = server.docker_ok(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "other/name",
    ]);
    assert_eq!(only.trim(), "other/name:v1");
    let globbed = server.docker_ok(&[
        "images",
        "--format",
        "{{.Repository}}",
        "--filter",
        "reference=b*",
    ]);
    assert_eq!(globbed.trim(), "bb");
    assert!(
        server
            .docker_ok(&["images", "-q", "--filter", "dangling=true"])
            .trim()
            .is_empty()
    );
    let r = server.docker(&["images", "--filter", "nosuch=1"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalid filter"), "{}", r.stderr);
    assert_eq!(
        server
            .docker_ok(&["image", "inspect", "-f", "{{.Id}}", "other/name:v1"])
            .trim(),
        id
    );
    let history = server.docker_ok(&["history", "--format", "{{.ID}}", "bb"]);
    assert_eq!(history.lines().next().unwrap(), short);
    let r = server.docker_ok(&["rmi", "other/name:v1"]);
    assert_eq!(r.trim(), "Untagged: other/name:v1");
    let r = server.docker(&["image", "inspect", "other/name:v1"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("No such image"), "{}", r.stderr);
    // prune -a: an image no container uses goes; one in use stays.
    let spare = env.image("spare", &[]);
    assert_ne!(spare, id, "the two images must differ for this check");
    server.docker_ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "keep",
        "bb",
        "true",
    ]);
    let pruned = server.docker_ok(&["image", "prune", "-a", "-f"]);
    assert!(pruned.contains(&format!("deleted: {spare}")), "{pruned}");
    let left = server.docker_ok(&["images", "--format", "{{.Repository}}"]);
    assert_eq!(left.trim(), "bb");
    server.docker_ok(&["rm", "keep"]);
    let r = server.docker_ok(&["rmi", "bb"]);
    assert!(
        r.contains("Untagged: bb:latest") && r.contains(&format!("Deleted: {id}")),
        "{r}"
    );
    assert!(server.docker_ok(&["images", "-q"]).trim().is_empty());
}

#[test]
fn push_pull_and_the_auto_pull_of_docker_run() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let Some(registry) =
        common::local_registry::LocalRegistry::start(&env.run.parent().unwrap().join("registry"))
    else {
        panic!("this test cannot run here: the reason is said above");
    };
    let _cleanup = Cleanup(&env);
    env.image("bb", &["CMD [\"echo\", \"from the registry\"]"]);
    let server = Server::start(&env);
    let name = format!("127.0.0.1:{}/api/bb:1", registry.port);
    server.docker_ok(&["tag", "bb", &name]);
    let pushed = server.docker_ok(&["push", &name]);
    assert!(pushed.contains("1: digest: sha256:"), "{pushed}");
    server.docker_ok(&["rmi", &name]);
    // run: create answers 404, the CLI pulls (images/create) and creates again.
    let r = server.docker(&["run", "--network", "none", "--rm", &name]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "from the registry\n"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Unable to find image"), "{}", r.stderr);
    let pulled = server.docker_ok(&["pull", &name]);
    assert!(pulled.contains("Image is up to date"), "{pulled}");
    let r = server.docker(&[
        "pull",
        &format!("127.0.0.1:{}/api/bb:nosuchtag", registry.port),
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("nosuchtag"), "{}", r.stderr);
}

#[test]
fn docker_run_flags_reach_the_container_through_host_config() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let script = "ulimit -n; id -u; pwd; echo $FOO; hostname; touch /x 2>/dev/null || echo read-only; \
                  touch /scratch/ok && echo tmpfs-ok; grep NoNewPrivs /proc/self/status";
    let r = server.docker(&[
        "run",
        "--network",
        "none",
        "--rm",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "50",
        "--cap-drop",
        "NET_RAW",
        "--security-opt",
        "no-new-privileges",
        "--ulimit",
        "nofile=100:200",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "-p",
        "8080:80",
        "-e",
        "FOO=bar",
        "-w",
        "/scratch",
        "-u",
        "1000",
        "--hostname",
        "hh",
        "bb",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "100\n1000\n/scratch\nbar\nhh\nread-only\ntmpfs-ok\nNoNewPrivs:\t1\n"
    );
    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "limited",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "--restart",
        "on-failure:2",
        "bb",
        "sleep",
        "100",
    ]);
    let hc = server.docker_ok(&[
        "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        "limited",
    ]);
    assert_eq!(hc.trim(), "67108864 50 on-failure 2");
    // The name is taken: Docker's 409, the CLI's 125.
    let r = server.docker(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "limited",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("is already in use"), "{}", r.stderr);
    server.docker_ok(&["rm", "-f", "limited"]);
}

#[test]
fn docker_exec_options_terminal_detach_and_inspect_through_the_engines_exec_helper() {
    let env = common::required_env();
    if !have_docker() || !Path::new("/usr/bin/script").is_file() {
        common::cannot_run("needs docker and script (util-linux)");
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "box",
        "bb",
        "sleep",
        "1000",
    ]);
    // -e, -w, -u reach the process; the exit code comes back.
    let r = server.docker(&[
        "exec",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "box",
        "sh",
        "-c",
        "echo $A $PWD $(id -u); exit 4",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (4, "1 /tmp 1000\n"),
        "{}",
        r.stderr
    );
    // A bare -e NAME the client does not have unsets it; it is never the server's own.
    if std::env::var_os("BERTH_ROOT").is_none() {
        let out = server.docker_ok(&[
            "exec",
            "-e",
            "BERTH_ROOT",
            "box",
            "sh",
            "-c",
            "echo \"[${BERTH_ROOT-unset}]\"",
        ]);
        assert_eq!(out, "[unset]\n");
    }
    // A command that is not there: Docker's 126 (the runtime's exec failed), the container
    // still running.
    let r = server.docker(&["exec", "box", "no-such-command"]);
    assert_eq!(r.code, 126, "{}{}", r.stdout, r.stderr);
    // -d: runs on after the client returned.
    server.docker_ok(&[
        "exec",
        "-d",
        "box",
        "sh",
        "-c",
        "sleep 0.2; echo done > /tmp/d",
    ]);
    common::wait_for(
        || server.docker(&["exec", "box", "cat", "/tmp/d"]).stdout == "done\n",
        "the detached exec's file",
    );
    // -it on a terminal: the client's window size (sent by resize) and the exit code.
    let mut cmd = Command::new("/usr/bin/script");
    cmd.args([
        "-qec",
        "stty cols 90 rows 20; docker exec -it box sh -c 'sleep 0.3; stty size; exit 6'",
        "/dev/null",
    ])
    .env("DOCKER_HOST", server.host())
    .env("DOCKER_CONFIG", &server.docker_config)
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .stdin(Stdio::null());
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("20 90\r\n"), "{:?}", r.stdout);
    // The exec object as `GET /exec/{id}/json` shows it, before and after it ran.
    let (status, body) = http(
        &server.socket,
        "POST",
        "/containers/box/exec",
        r#"{"Cmd":["sh","-c","exit 5"],"AttachStdout":true,"AttachStderr":true}"#,
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect = |id: &str| {
        let (status, body) = http(&server.socket, "GET", &format!("/exec/{id}/json"), "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let before = inspect(&id);
    assert_eq!(
        (&before["Running"], &before["ExitCode"]),
        (&serde_json::json!(false), &serde_json::Value::Null),
        "{before}"
    );
    let (status, _) = http(&server.socket, "POST", &format!("/exec/{id}/start"), "{}");
    assert_eq!(status, 200);
    let after = inspect(&id);
    assert_eq!(
        (&after["Running"], &after["ExitCode"]),
        (&serde_json::json!(false), &serde_json::json!(5)),
        "{after}"
    );
    assert!(after["Pid"].as_i64().unwrap_or(0) > 0, "{after}");
    // A stopped container takes no exec: 409 at create, as dockerd.
    server.docker_ok(&["stop", "-t", "0", "box"]);
    let (status, body) = http(
        &server.socket,
        "POST",
        "/containers/box/exec",
        r#"{"Cmd":["true"]}"#,
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("is not running"), "{body}");
}

#[test]
fn docker_stats_no_stream_shows_numbers_the_engine_sampled() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "busy",
        "bb",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let out = server.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}",
        "busy",
    ]);
    let fields: Vec<&str> = out.trim().split('|').collect();
    assert_eq!(fields.len(), 6, "{out}");
    // A busy loop: well above 0% of a CPU.
    let cpu: f64 = fields[0].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 5.0, "{out}");
    let (used, limit) = fields[1].split_once(" / ").unwrap();
    assert!(!used.starts_with("0B") && !limit.starts_with("0B"), "{out}");
    assert!(fields[2].ends_with('%'), "{out}");
    assert_eq!(fields[3], "0B / 0B", "{out}");
    assert!(fields[4].contains(" / "), "{out}");
    assert_eq!(fields[5], "1", "{out}");
}

#[test]
fn docker_run_it_on_a_terminal_gets_its_window_size_and_exit_code() {
    let env = common::required_env();
    if !have_docker() || !Path::new("/usr/bin/script").is_file() {
        common::cannot_run("needs docker and script (util-linux)");
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    // script(1) gives the docker CLI a terminal of 30x100; the CLI sends resize after start.
    let mut cmd = Command::new("/usr/bin/script");
    cmd.args([
        "-qec",
        "stty cols 100 rows 30; docker run -it --rm --network none bb sh -c 'sleep 0.2; stty size; exit 3'",
        "/dev/null",
    ])
    .env("DOCKER_HOST", server.host())
    .env("DOCKER_CONFIG", &server.docker_config)
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .stdin(Stdio::null());
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("30 100\r\n"), "{:?}", r.stdout);
    assert!(env.container_ids().is_empty());
}

#[test]
fn volumes_through_the_docker_cli() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    assert_eq!(
        server
            .docker_ok(&["volume", "create", "--label", "k=v", "data"])
            .trim(),
        "data"
    );
    // -v NAME:/dir keeps what one container wrote for the next.
    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "--rm",
        "-v",
        "data:/data",
        "bb",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        server.docker_ok(&[
            "run",
            "--network",
            "none",
            "--rm",
            "-v",
            "data:/d:ro",
            "bb",
            "cat",
            "/d/f"
        ]),
        "kept\n"
    );
    let listed = server.docker_ok(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}}",
        "--filter",
        "label=k=v",
    ]);
    assert_eq!(listed.trim(), "data local");
    assert_eq!(
        server
            .docker_ok(&["volume", "inspect", "-f", "{{.Name}} {{.Labels.k}}", "data"])
            .trim(),
        "data v"
    );
    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "user",
        "-v",
        "data:/data",
        "bb",
        "sleep",
        "100",
    ]);
    let r = server.docker(&["volume", "rm", "data"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("in use"), "{}", r.stderr);
    server.docker_ok(&["rm", "-f", "user"]);
    server.docker_ok(&["volume", "create", "spare"]);
    let pruned = server.docker_ok(&["volume", "prune", "-f", "--filter", "label=k=v"]);
    assert!(
        pruned.contains("data") && !pruned.contains("spare"),
        "{pruned}"
    );
    server.docker_ok(&["volume", "rm", "spare"]);
    assert!(server.docker_ok(&["volume", "ls", "-q"]).trim().is_empty());
    let r = server.docker(&["volume", "inspect", "nosuch"]);
    assert_ne!(r.code, 0);
}

#[test]
fn docker_build_through_the_classic_builder_protocol() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let context = env.run.parent().unwrap().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM bb\nARG X=1\nCOPY f /f\nRUN echo built-$X > /b.txt\nCMD [\"cat\", \"/b.txt\", \"/f\"]\n",
    )
    .unwrap();
    std::fs::write(context.join("f"), "from the context\n").unwrap();
    let dir = context.to_string_lossy().into_owned();
    let r = server.docker(&["build", "--build-arg", "X=2", "-t", "built:v1", &dir]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Successfully tagged built:v1"),
        "{}",
        r.stdout
    );
    assert_eq!(
        server.docker_ok(&["run", "--network", "none", "--rm", "built:v1"]),
        "built-2\nfrom the context\n"
    );
    // -q: only the id; --compress: a gzip context.
    let quiet = server.docker_ok(&["build", "-q", "--compress", &dir]);
    assert!(
        quiet.trim().starts_with("sha256:") && quiet.lines().count() == 1,
        "{quiet}"
    );
    // A failing RUN: the CLI exits with the step's code; a bad line names itself.
    std::fs::write(context.join("Dockerfile"), "FROM bb\nRUN exit 3\n").unwrap();
    let r = server.docker(&["build", &dir]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    std::fs::write(context.join("Dockerfile"), "FROM bb\nBOGUS x\n").unwrap();
    let r = server.docker(&["build", &dir]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:2") && r.stderr.contains("BOGUS"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_shim_killed_under_the_server_ends_its_waiters_with_137() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let id = server
        .docker_ok(&["run", "--network", "none", "-d", "bb", "sleep", "1000"])
        .trim()
        .to_string();
    let waiter = server
        .docker_cmd(&["wait", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let shim = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(&format!("shim {id}"))
                })
                .unwrap_or(false)
        })
        .and_then(|p| p.file_name().to_string_lossy().parse::<i32>().ok())
        .expect("the container's shim");
    // SAFETY: kill(2) on the shim of the container this test started.
    unsafe { libc::kill(shim, libc::SIGKILL) };
    let r = wait_within(waiter, COMMAND_DEADLINE, "docker wait");
    assert_eq!((r.code, r.stdout.trim()), (0, "137"), "{}", r.stderr);
    assert_eq!(
        server
            .docker_ok(&["inspect", "-f", "{{.State.Status}}", &id])
            .trim(),
        "exited"
    );
    common::wait_for(
        || server.zombie_children().is_empty(),
        "the server to reap the dead shim",
    );
}

#[test]
fn networks_through_the_docker_cli_and_raw_http() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let id = server.docker_ok(&[
        "network",
        "create",
        "--label",
        "k=v",
        "--subnet",
        "10.241.0.0/24",
        "--gateway",
        "10.241.0.1",
        "--ip-range",
        "10.241.0.128/25",
        "apinet1",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    let dup = server.docker(&["network", "create", "apinet1"]);
    assert_ne!(dup.code, 0);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let ls = |filter: &str| {
        server.docker_ok(&["network", "ls", "--format", "{{.Name}}", "--filter", filter])
    };
    assert_eq!(ls("label=k=v").trim(), "apinet1");
    assert_eq!(ls("label=k=other").trim(), "");
    assert_eq!(ls("type=custom").trim(), "apinet1");
    assert_eq!(ls("dangling=true").trim(), "apinet1");
    assert_eq!(ls(&format!("id={}", &id[..12])).trim(), "apinet1");
    assert!(ls("type=builtin").lines().any(|l| l == "bridge"));
    assert_eq!(
        server
            .docker_ok(&[
                "network",
                "inspect",
                "-f",
                "{{.Id}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{.Labels.k}}",
                "apinet1",
            ])
            .trim(),
        format!("{id} 10.241.0.0/24 10.241.0.1 10.241.0.128/25 v")
    );

    // NetworkingConfig of container create: the network, an alias and a fixed address.
    server.docker_ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "apinet1",
        "--network-alias",
        "web",
        "--ip",
        "10.241.0.200",
        "bb",
        "sleep",
        "100",
    ]);
    assert_eq!(
        server
            .docker_ok(&[
                "inspect",
                "-f",
                "{{(index .NetworkSettings.Networks \"apinet1\").IPAddress}} {{(index .NetworkSettings.Networks \"apinet1\").Aliases}}",
                "srv",
            ])
            .trim(),
        "10.241.0.200 [web]"
    );
    assert_eq!(ls("dangling=true").trim(), "");
    // docker ps shows the networks and published ports from the list's rows.
    server.docker_ok(&[
        "run",
        "-d",
        "--name",
        "pub",
        "--network",
        "apinet1",
        "-p",
        "127.0.0.1::80",
        "bb",
        "sleep",
        "100",
    ]);
    let row = server.docker_ok(&[
        "ps",
        "--filter",
        "name=pub",
        "--format",
        "{{.Networks}} {{.Ports}}",
    ]);
    assert!(
        row.starts_with("apinet1 127.0.0.1:") && row.trim_end().ends_with("->80/tcp"),
        "{row}"
    );
    server.docker_ok(&["rm", "-f", "pub"]);
    // connect: a running container gets an interface and its peers learn its name.
    server.docker_ok(&["run", "-d", "--name", "peer", "bb", "sleep", "100"]);
    server.docker_ok(&[
        "network",
        "connect",
        "--alias",
        "other",
        "--ip",
        "10.241.0.201",
        "apinet1",
        "peer",
    ]);
    let members = server.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}",
        "apinet1",
    ]);
    assert!(
        members.contains("srv=10.241.0.200/24") && members.contains("peer=10.241.0.201/24"),
        "{members}"
    );
    let hosts = server.docker_ok(&["exec", "srv", "cat", "/etc/hosts"]);
    assert!(
        hosts
            .lines()
            .any(|l| l.starts_with("10.241.0.201") && l.contains("peer")),
        "{hosts}"
    );
    let addrs = server.docker_ok(&["exec", "peer", "ip", "-4", "-o", "addr"]);
    assert!(addrs.contains("10.241.0.201/24"), "{addrs}");
    let busy = server.docker(&["network", "rm", "apinet1"]);
    assert_ne!(busy.code, 0);
    assert!(busy.stderr.contains("active endpoints"), "{}", busy.stderr);
    server.docker_ok(&["network", "disconnect", "apinet1", "peer"]);
    let members = server.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        "apinet1",
    ]);
    assert_eq!(members.trim(), "srv");
    let again = server.docker(&["network", "disconnect", "apinet1", "peer"]);
    assert_ne!(again.code, 0);
    server.docker_ok(&["rm", "-f", "srv", "peer"]);

    // Raw HTTP: Docker's body shapes, status codes and filters.
    let (status, body) = http(
        &server.socket,
        "POST",
        "/v1.41/networks/create",
        r#"{"Name":"apinet2","CheckDuplicate":true,"Labels":{"p":"1"},"IPAM":{"Driver":"default","Config":[{"Subnet":"10.241.1.0/24"}]}}"#,
    );
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id2 = created["Id"].as_str().unwrap().to_string();
    let (status, body) = http(
        &server.socket,
        "GET",
        &format!("/networks?filters={}", encoded(r#"{"name":["apinet2"]}"#)),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(listed[0]["Id"], id2.as_str());
    assert_eq!(listed[0]["IPAM"]["Config"][0]["Subnet"], "10.241.1.0/24");
    let (status, _) = http(
        &server.socket,
        "GET",
        &format!("/networks/{}", &id2[..10]),
        "",
    );
    assert_eq!(status, 200);
    let (status, body) = http(&server.socket, "GET", "/networks/nosuch", "");
    assert_eq!(status, 404, "{body}");
    // The predefined ones, as dockerd lists them: docker-compose and SDKs look for them.
    let (status, body) = http(&server.socket, "GET", "/networks", "");
    assert_eq!(status, 200, "{body}");
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut drivers: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| ["bridge", "host", "none"].contains(&n["Name"].as_str().unwrap()))
        .map(|n| {
            format!(
                "{}={}",
                n["Name"].as_str().unwrap(),
                n["Driver"].as_str().unwrap()
            )
        })
        .collect();
    drivers.sort();
    assert_eq!(
        drivers,
        ["bridge=bridge", "host=host", "none=null"],
        "{body}"
    );
    let (status, body) = http(&server.socket, "GET", "/networks/host", "");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(&server.socket, "DELETE", "/networks/none", "");
    assert_eq!(status, 409, "{body}");
    let (status, body) = http(
        &server.socket,
        "POST",
        "/networks/create",
        r#"{"Name":"apinet3","Driver":"overlay"}"#,
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = http(
        &server.socket,
        "GET",
        &format!("/networks?filters={}", encoded(r#"{"colour":["red"]}"#)),
        "",
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = http(
        &server.socket,
        "POST",
        &format!(
            "/networks/prune?filters={}",
            encoded(r#"{"label":["p=1"]}"#)
        ),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let pruned: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pruned["NetworksDeleted"], serde_json::json!(["apinet2"]));
    let (status, _) = http(&server.socket, "DELETE", "/networks/apinet1", "");
    assert_eq!(status, 204);
    assert_eq!(ls("type=custom").trim(), "");
}

/// Now as Docker's `since`/`until` take it: unix seconds with a fraction.
fn unix_now_plus(seconds: f64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    format!("{:.9}", now + seconds)
}

#[test]
fn events_show_a_runs_lifecycle_in_order_through_the_api_and_the_cli() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    // A live follower, started before anything happens and ended by its `until`.
    let follower = server.docker_cmd(&[
        "events",
        "--until",
        &unix_now_plus(6.0),
        "--filter",
        "event=pause",
        "--filter",
        "event=unpause",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let follower = std::thread::spawn(move || output_within(follower, COMMAND_DEADLINE));
    let since = unix_now_plus(-0.5);
    let run = server.docker(&[
        "run",
        "--name",
        "ev",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    server.docker_ok(&["rm", "ev"]);
    server.docker_ok(&["network", "create", "--subnet", "10.241.2.0/24", "evnet"]);
    // CLI actions land in the same log.
    env.ok(&["network", "rm", "evnet"]);
    server.docker_ok(&[
        "run",
        "-d",
        "--name",
        "sleeper",
        "--network",
        "none",
        "bb",
        "sleep",
        "60",
    ]);
    server.docker_ok(&["pause", "sleeper"]);
    env.ok(&["unpause", "sleeper"]);
    server.docker_ok(&["rm", "-f", "sleeper"]);
    let until = unix_now_plus(0.2);
    let lifecycle = server.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "container=ev",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
    ]);
    assert_eq!(
        // Go templates print a missing attribute as "<no value>".
        lifecycle
            .lines()
            .map(|l| l.trim_end_matches(" <no value>"))
            .collect::<Vec<_>>(),
        [
            "container create ev",
            "container start ev",
            "container die ev 3",
            "container destroy ev"
        ],
        "{lifecycle}"
    );
    // The legacy fields and timeNano, as JSON lines.
    let json = server.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "container=ev",
        "--filter",
        "event=start",
        "--format",
        "{{json .}}",
    ]);
    let doc: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(doc["status"], "start");
    assert_eq!(doc["from"], "bb");
    assert_eq!(doc["id"], doc["Actor"]["ID"]);
    assert!(doc["timeNano"].as_i64().unwrap() / 1_000_000_000 == doc["time"].as_i64().unwrap());
    let networks = env.ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=network",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(networks, "create evnet\ndestroy evnet\n");
    let bad = env.berth(&["events", "--until", &until, "--filter", "colour=red"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("colour"), "{}", bad.stderr);
    let followed = follower.join().unwrap();
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(followed.stdout, "pause sleeper\nunpause sleeper\n");
}

#[test]
fn docker_cp_in_and_out_of_running_and_stopped_containers() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let host = env.root.parent().unwrap().join("cp-host");
    std::fs::create_dir_all(host.join("tree/sub")).unwrap();
    std::fs::write(host.join("tree/sub/leaf"), "leaf\n").unwrap();
    std::fs::write(host.join("note"), "note\n").unwrap();
    server.docker_ok(&["create", "--name", "stopped", "bb", "cat", "/tmp/note"]);
    server.docker_ok(&["run", "-d", "--name", "running", "bb", "sleep", "60"]);
    for c in ["stopped", "running"] {
        server.docker_ok(&[
            "cp",
            host.join("note").to_str().unwrap(),
            &format!("{c}:/tmp/"),
        ]);
        server.docker_ok(&[
            "cp",
            host.join("tree").to_str().unwrap(),
            &format!("{c}:/tmp/"),
        ]);
        let back = env.root.parent().unwrap().join(format!("back-{c}"));
        std::fs::create_dir_all(&back).unwrap();
        server.docker_ok(&["cp", &format!("{c}:/tmp/tree"), back.to_str().unwrap()]);
        assert_eq!(
            std::fs::read_to_string(back.join("tree/sub/leaf")).unwrap(),
            "leaf\n"
        );
        server.docker_ok(&[
            "cp",
            &format!("{c}:/etc/passwd"),
            back.join("pw").to_str().unwrap(),
        ]);
        assert!(
            std::fs::read_to_string(back.join("pw"))
                .unwrap()
                .contains("alice")
        );
    }
    assert_eq!(server.docker_ok(&["start", "-a", "stopped"]), "note\n");
    assert_eq!(
        server.docker_ok(&["exec", "running", "cat", "/tmp/tree/sub/leaf"]),
        "leaf\n"
    );
    // HEAD carries the stat header; a missing path is a 404.
    let (status, _) = http(
        &server.socket,
        "HEAD",
        "/containers/running/archive?path=/etc/passwd",
        "",
    );
    assert_eq!(status, 200);
    let (status, body) = http(
        &server.socket,
        "GET",
        "/containers/running/archive?path=/nope",
        "",
    );
    assert_eq!(status, 404, "{body}");
    let r = server.docker(&["cp", "running:/nope", host.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("/nope"), "{}", r.stderr);

    // A 256 MiB file both ways: the archive streams, the server never holds it whole.
    let pid = server.pid();
    let big = host.join("big");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(256 << 20).unwrap();
    drop(file);
    server.docker_ok(&["cp", big.to_str().unwrap(), "running:/tmp/big"]);
    let size = server.docker_ok(&["exec", "running", "sh", "-c", "wc -c < /tmp/big"]);
    assert_eq!(size.trim(), (256u64 << 20).to_string());
    let back = env.root.parent().unwrap().join("big-back");
    server.docker_ok(&["cp", "running:/tmp/big", back.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&back).unwrap().len(), 256 << 20);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        peak_kb < 128 * 1024,
        "berth serve peaked at {peak_kb} kB for a 256 MiB cp"
    );
}

#[test]
fn docker_system_df_and_build_prune() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&["create", "--name", "dfc", "-v", "dfvol:/v", "bb", "true"]);
    let (status, body) = http(&server.socket, "GET", "/system/df", "");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["LayersSize"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(doc["Images"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(doc["Containers"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(doc["Volumes"][0]["Name"], "dfvol", "{body}");
    assert_eq!(doc["Volumes"][0]["UsageData"]["RefCount"], 1, "{body}");
    let table = server.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert!(table.contains("Images 1 1"), "{table}");
    assert!(table.contains("Containers 1 0"), "{table}");
    assert!(table.contains("Local Volumes 1 1"), "{table}");
    let (status, body) = http(&server.socket, "POST", "/build/prune", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"SpaceReclaimed\":0"), "{body}");
}

#[test]
fn docker_diff_lists_added_changed_and_deleted_paths() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&[
        "run", "--name", "d1", "bb", "sh", "-c",
        "mkdir -p /new/sub && echo x > /new/sub/f && echo y > /tmp/t && rm /bin/wc && echo z >> /etc/passwd",
    ]);
    // Exactly the command's changes: not the engine's files, nor /proc, /sys and /dev,
    // which the runtime made as mount points.
    let diff = server.docker_ok(&["diff", "d1"]);
    let lines: Vec<&str> = diff.lines().collect();
    assert_eq!(
        lines,
        [
            "C /bin",
            "D /bin/wc",
            "C /etc",
            "C /etc/passwd",
            "A /new",
            "A /new/sub",
            "A /new/sub/f",
            "C /tmp",
            "A /tmp/t"
        ],
        "{diff}"
    );
}

#[test]
fn docker_save_and_load_through_the_api() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&["tag", "bb", "bb:second"]);
    let archive = env.root.parent().unwrap().join("saved.tar");
    server.docker_ok(&["save", "-o", archive.to_str().unwrap(), "bb", "bb:second"]);
    let id = server.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "bb"]);
    server.docker_ok(&["rmi", "bb", "bb:second"]);
    assert_eq!(server.docker_ok(&["images", "-q"]), "");
    let loaded = server.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image: bb:latest"), "{loaded}");
    assert!(loaded.contains("Loaded image: bb:second"), "{loaded}");
    assert_eq!(
        server.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "bb:second"]),
        id
    );
    assert_eq!(
        server.docker_ok(&["run", "--rm", "bb:second", "echo", "back"]),
        "back\n"
    );

    // An unknown image is refused before any byte; junk is refused and nothing is added.
    let r = server.docker(&[
        "save",
        "-o",
        env.root
            .parent()
            .unwrap()
            .join("none.tar")
            .to_str()
            .unwrap(),
        "nosuch",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("nosuch"), "{}", r.stderr);
    assert!(!env.root.parent().unwrap().join("none.tar").exists());
    let junk = env.root.parent().unwrap().join("junk.tar");
    std::fs::write(&junk, vec![0x5a; 3000]).unwrap();
    let before = server.docker_ok(&["images", "-q", "--no-trunc"]);
    let r = server.docker(&["load", "-i", junk.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not a tar archive"), "{}", r.stderr);
    assert_eq!(server.docker_ok(&["images", "-q", "--no-trunc"]), before);

    // docker import: a container's export, with changes and a message, as a new image.
    server.docker_ok(&["create", "--name", "exported", "bb", "true"]);
    let rootfs = env.root.parent().unwrap().join("rootfs.tar");
    server.docker_ok(&["export", "-o", rootfs.to_str().unwrap(), "exported"]);
    let id = server.docker_ok(&[
        "import",
        "-c",
        r#"CMD ["echo", "imported"]"#,
        "-c",
        "ENV A=1",
        "-m",
        "a note",
        rootfs.to_str().unwrap(),
        "imported:1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let doc = server.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Comment}} {{.Config.Env}}",
        "imported:1",
    ]);
    assert_eq!(doc.trim(), "a note [A=1]");
    assert_eq!(
        server.docker_ok(&["run", "--rm", "imported:1"]),
        "imported\n"
    );
    let r = server.docker(&["import", junk.to_str().unwrap(), "junk"]);
    assert_ne!(r.code, 0);
    assert_eq!(server.docker_ok(&["images", "-q", "junk"]), "");
}

#[test]
fn docker_attach_feeds_a_running_container_and_refuses_a_stopped_one() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "-i",
        "--name",
        "cat",
        "bb",
        "cat",
    ]);
    let mut child = server
        .docker_cmd(&["attach", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"through-the-api\n").unwrap();
    common::wait_for(
        || seen.lock().unwrap().contains("through-the-api"),
        "the echo through docker attach",
    );
    drop(stdin);
    // docker attach waits for the container once its streams end: stopping it ends the client.
    server.docker_ok(&["stop", "-t", "1", "cat"]);
    let r = wait_within(child, COMMAND_DEADLINE, "docker attach");
    assert_eq!(seen.lock().unwrap().as_str(), "through-the-api\n");
    let _ = r;
    let r = server.docker(&["attach", "cat"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("You cannot attach to a stopped container"),
        "{}",
        r.stderr
    );
}

#[test]
fn docker_commit_and_export_through_the_api() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &["CMD [\"sh\"]"]);
    let server = Server::start(&env);
    server.docker_ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "c1",
        "bb",
        "sh",
        "-c",
        "mkdir /data && echo written > /data/x && rm /bin/wc",
    ]);
    // The CLI sends each -c as its own `changes` parameter.
    let id = server.docker_ok(&[
        "commit",
        "-c",
        "ENV A=1",
        "-c",
        "WORKDIR /data",
        "-m",
        "msg",
        "-a",
        "me",
        "c1",
        "bb2:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let out = server.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "bb2:v1",
        "sh",
        "-c",
        "cat x; ls /bin/wc 2>/dev/null || echo no-wc; echo A=$A",
    ]);
    assert_eq!(out, "written\nno-wc\nA=1\n");
    let history = server.docker_ok(&["history", "--format", "{{.Comment}}", "bb2:v1"]);
    assert_eq!(history.lines().next(), Some("msg"), "{history}");
    assert_eq!(
        server
            .docker_ok(&[
                "image",
                "inspect",
                "-f",
                "{{.Author}} {{index .Config.Cmd 0}}",
                "bb2:v1"
            ])
            .trim(),
        "me sh"
    );
    let r = server.docker(&["commit", "nosuch"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );
    let r = server.docker(&["commit", "-c", "BOGUS x", "c1"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("BOGUS x"), "{}", r.stderr);

    // A raw commit: 201 and {"Id": ...}; the body's config overrides the container's.
    let (status, body) = http(
        &server.socket,
        "POST",
        "/v1.41/commit?container=c1&repo=raw&tag=t",
        r#"{"Cmd":["echo","from-body"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"Id\":\"sha256:"), "{body}");
    assert_eq!(
        server.docker_ok(&["run", "--rm", "--network", "none", "raw:t"]),
        "from-body\n"
    );

    let archive = env.root.parent().unwrap().join("c1.tar");
    server.docker_ok(&["export", "-o", archive.to_str().unwrap(), "c1"]);
    let listed = Command::new("tar")
        .arg("-tf")
        .arg(&archive)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let names: Vec<&str> = listed.lines().collect();
    assert!(
        names.contains(&"bin/busybox") && names.contains(&"data/x"),
        "{listed}"
    );
    assert!(!names.contains(&"bin/wc"), "{listed}");
    let r = server.docker(&["export", "nosuch"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );
}

#[test]
fn docker_update_changes_limits_and_restart_policy() {
    let env = common::required_env();
    if !have_docker() {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = Server::start(&env);
    let id = server.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "-m",
        "64m",
        "bb",
        "sleep",
        "600",
    ]);
    let id = id.trim();
    let out = server.docker_ok(&[
        "update",
        "--memory",
        "96m",
        "--pids-limit",
        "11",
        "--restart",
        "always",
        id,
    ]);
    assert_eq!(out.trim(), id);
    let hc = server.docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}",
        id,
    ]);
    assert_eq!(hc.trim(), format!("{} 11 always", 96u64 << 20));
    let memory = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
    ))
    .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/memory.max")))
    .unwrap_or_default();
    assert_eq!(memory.trim(), (96u64 << 20).to_string());
    // Only what was given changes: the restart policy stays.
    server.docker_ok(&["update", "--cpu-shares", "300", id]);
    assert_eq!(
        server
            .docker_ok(&[
                "inspect",
                "-f",
                "{{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}",
                id
            ])
            .trim(),
        "300 always"
    );
    let (status, body) = http(
        &server.socket,
        "POST",
        &format!("/containers/{id}/update"),
        r#"{"Memory":1024}"#,
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = http(
        &server.socket,
        "POST",
        "/containers/nosuch/update",
        r#"{"Memory":67108864}"#,
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = http(
        &server.socket,
        "POST",
        &format!("/containers/{id}/update"),
        r#"{"PidsLimit":12}"#,
    );
    assert_eq!((status, body.trim()), (200, r#"{"Warnings":[]}"#));
}
