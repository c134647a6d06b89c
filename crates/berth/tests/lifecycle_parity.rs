//! Lifecycle parity with dockerd (issue 12): wait conditions, attach replay, exec sessions,
//! commit of an exiting container, anonymous volumes on removal, Docker's error texts and
//! network stats, driven by the real docker CLI and raw HTTP against `berth serve`, and by the
//! `berth` CLI.

mod common;

use common::http::dechunk;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::Serve;
use common::{COMMAND_DEADLINE, Env, Run, output_within};

const DOCKER: &str = "/usr/local/bin/docker";

/// A `berth serve` for one test, with the docker CLI pointed at it.
struct Api {
    server: Serve,
    docker_config: PathBuf,
}

impl Api {
    /// None (after `cannot_run`) when the docker CLI is missing.
    fn start(env: &Env) -> Api {
        if !Path::new(DOCKER).is_file() {
            common::cannot_run(&format!("{DOCKER} is not installed"));
            common::require(false, DOCKER);
        }
        let docker_config = env.run.parent().unwrap().join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        let (cmd, socket) = env.serve_command();
        Api {
            server: Serve::start(cmd, socket),
            docker_config,
        }
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.server.socket.display()),
            )
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

    /// One HTTP/1.1 request; returns (status, body) once the server closes.
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        common::http::http(&self.server.socket, method, path, body)
    }
}

/// The JSON body's `StatusCode` of a wait.
fn status_code(body: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(body.trim())
        .unwrap_or_else(|e| panic!("not a wait answer: {body:?}: {e}"));
    v["StatusCode"].as_i64().unwrap()
}

#[test]
fn wait_returns_at_the_first_exit_and_honours_next_exit_and_removed() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    // A restart policy: the wait ends at the first exit (~1 s), not when restarts give up.
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "again",
        "--network",
        "none",
        "--restart",
        "on-failure:5",
        "bb",
        "sh",
        "-c",
        "sleep 1; exit 3",
    ]);
    let started = Instant::now();
    assert_eq!(api.docker_ok(&["wait", "again"]).trim(), "3");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the wait took {:?}: it waited for the restarts",
        started.elapsed()
    );
    api.docker_ok(&["rm", "-f", "again"]);
    // The berth CLI's wait is the same policy.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "again2",
        "--network",
        "none",
        "--restart",
        "on-failure:5",
        "bb",
        "sh",
        "-c",
        "sleep 1; exit 4",
    ]);
    let started = Instant::now();
    assert_eq!(env.ok(&["wait", "again2"]).trim(), "4");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    env.ok(&["rm", "-f", "again2"]);

    // When the wait answers, the container is exited: a remove right after it needs no -f.
    for round in 0..3 {
        let name = format!("quick{round}");
        api.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "bb",
            "sh",
            "-c",
            "sleep 0.2; exit 9",
        ]);
        assert_eq!(api.docker_ok(&["wait", &name]).trim(), "9");
        api.docker_ok(&["rm", &name]);
    }

    // not-running on a created container: at once, with its exit code 0.
    api.docker_ok(&[
        "create",
        "--name",
        "later",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "exit 7",
    ]);
    let (status, body) = api.http("POST", "/containers/later/wait", "");
    assert_eq!((status, status_code(&body)), (200, 0), "{body}");
    // next-exit on a container that is not running waits for the start and exit to come.
    let socket = api.server.socket.clone();
    let waiter = std::thread::spawn(move || {
        let api_socket = socket;
        let mut stream = UnixStream::connect(&api_socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(b"POST /containers/later/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiter.is_finished(), "next-exit returned before any exit");
    api.docker_ok(&["start", "later"]);
    let answer = waiter.join().unwrap();
    let body = dechunk(answer.split_once("\r\n\r\n").unwrap().1);
    assert_eq!(status_code(&body), 7, "{answer}");

    // removed: returns only once the container is gone, with its exit code.
    let socket = api.server.socket.clone();
    let waiter = std::thread::spawn(move || {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(b"POST /containers/later/wait?condition=removed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiter.is_finished(), "removed returned before the removal");
    api.docker_ok(&["rm", "later"]);
    let answer = waiter.join().unwrap();
    let body = dechunk(answer.split_once("\r\n\r\n").unwrap().1);
    assert_eq!(status_code(&body), 7, "{answer}");

    // removed under a restart policy answers the last exit's code (here the rm -f's kill),
    // not the first.
    api.docker_ok(&[
        "create",
        "--name",
        "twice",
        "--network",
        "none",
        "--restart",
        "always",
        "bb",
        "sh",
        "-c",
        "[ -e /tmp/once ] && exec sleep 1000; touch /tmp/once; exit 3",
    ]);
    let socket = api.server.socket.clone();
    let waiter = std::thread::spawn(move || {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(b"POST /containers/twice/wait?condition=removed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    });
    std::thread::sleep(Duration::from_millis(300));
    api.docker_ok(&["start", "twice"]);
    common::wait_for(
        || {
            api.docker_ok(&[
                "inspect",
                "-f",
                "{{.RestartCount}} {{.State.Status}}",
                "twice",
            ])
            .trim()
                == "1 running"
        },
        "the second run",
    );
    api.docker_ok(&["rm", "-f", "twice"]);
    let answer = waiter.join().unwrap();
    let body = dechunk(answer.split_once("\r\n\r\n").unwrap().1);
    assert_eq!(status_code(&body), 137, "{answer}");

    // `docker run --rm` waits with condition=removed: its exit code comes through.
    let r = api.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "exit 5",
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    // A bad condition is Docker's 400.
    let (status, body) = api.http("POST", "/containers/x/wait?condition=bogus", "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid condition"), "{body}");
}

impl Api {
    /// A hijacked (Upgrade: tcp) POST: the bytes after the 101's headers until the server
    /// closes, and whether it closed within `limit` (false: it was still open).
    fn hijacked(&self, path: &str, limit: Duration) -> (Vec<u8>, bool) {
        let mut stream = UnixStream::connect(&self.server.socket).unwrap();
        stream.set_read_timeout(Some(limit)).unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let started = Instant::now();
        let closed = loop {
            match stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(_) => break false,
            }
            if started.elapsed() > limit {
                break false;
            }
        };
        let head_end = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&data)));
        assert!(
            data.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&data)
        );
        (data[head_end + 4..].to_vec(), closed)
    }
}

/// The frames of Docker's multiplexed stream: (stream number, payload).
fn frames(mut data: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let payload = &data[8..(8 + len).min(data.len())];
        out.push((data[0], String::from_utf8_lossy(payload).into_owned()));
        data = &data[(8 + len).min(data.len())..];
    }
    out
}

#[test]
fn attach_with_logs_replays_an_exited_containers_output_and_closes() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    api.docker_ok(&[
        "run",
        "--name",
        "done",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "echo out1; echo err1 >&2",
    ]);
    // stream=0: the log, then the end (dockerd never joins the container).
    let (data, closed) = api.hijacked(
        "/containers/done/attach?logs=1&stream=0&stdout=1&stderr=1",
        Duration::from_secs(5),
    );
    assert!(
        closed,
        "the attach stayed open: {:?}",
        String::from_utf8_lossy(&data)
    );
    assert_eq!(
        frames(&data),
        vec![(1, "out1\n".to_string()), (2, "err1\n".to_string())]
    );
    // Only the streams asked for.
    let (data, closed) = api.hijacked(
        "/containers/done/attach?logs=1&stream=0&stderr=1",
        Duration::from_secs(5),
    );
    assert!(closed);
    assert_eq!(frames(&data), vec![(2, "err1\n".to_string())]);

    // logs=1&stream=1 on a running container: what it wrote so far, then what comes.
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "echo first; sleep 1; echo second",
    ]);
    common::wait_for(
        || api.docker_ok(&["logs", "live"]).contains("first"),
        "the first line",
    );
    let (data, closed) = api.hijacked(
        "/containers/live/attach?logs=1&stream=1&stdout=1&stderr=1",
        Duration::from_secs(10),
    );
    assert!(closed, "the attach did not end with the container");
    assert_eq!(
        frames(&data),
        vec![(1, "first\n".to_string()), (1, "second\n".to_string())]
    );
}

impl Api {
    /// A hijacked POST with a JSON body: the stream after the 101's headers (and any bytes
    /// that came with them).
    fn hijack(&self, path: &str, body: &str) -> (UnixStream, Vec<u8>) {
        let mut stream = UnixStream::connect(&self.server.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut data = Vec::new();
        let mut byte = [0u8; 1];
        while !data.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).unwrap(),
                1,
                "{:?}",
                String::from_utf8_lossy(&data)
            );
            data.push(byte[0]);
        }
        assert!(
            data.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&data)
        );
        (stream, Vec::new())
    }

    /// `POST /containers/{container}/exec` with `config`; the exec's id.
    fn exec_create(&self, container: &str, config: &str) -> String {
        let (status, body) = self.http("POST", &format!("/containers/{container}/exec"), config);
        assert_eq!(status, 201, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn exec_inspect(&self, id: &str) -> serde_json::Value {
        let (status, body) = self.http("GET", &format!("/exec/{id}/json"), "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// Reads `stream` until the server closes it; None when it stays open for `limit`.
fn read_to_close(stream: &mut UnixStream, limit: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut data = Vec::new();
    match stream.read_to_end(&mut data) {
        Ok(_) => Some(data),
        Err(_) => None,
    }
}

#[test]
fn exec_takes_tty_and_detach_keys_from_create_and_a_missing_binary_is_126() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "bb",
        "sleep",
        "1000",
    ]);

    // Tty comes from create: a start that says Tty false (docker-py's exec_start default)
    // still runs the process on a terminal; the stream is multiplexed, as the start's Tty says.
    let id = api.exec_create(
        "box",
        r#"{"Cmd":["sh","-c","tty"],"Tty":true,"AttachStdout":true,"AttachStderr":true}"#,
    );
    let (mut stream, _) = api.hijack(
        &format!("/exec/{id}/start"),
        r#"{"Detach":false,"Tty":false}"#,
    );
    let data = read_to_close(&mut stream, Duration::from_secs(10)).expect("exec never ended");
    let out: String = frames(&data).into_iter().map(|(_, text)| text).collect();
    assert!(out.starts_with("/dev/pts/"), "{out:?} ({data:?})");

    // The create's DetachKeys detach the client; the process runs on (without a terminal its
    // stdin closes, as dockerd's does).
    let id = api.exec_create(
        "box",
        r#"{"Cmd":["sh","-c","read line; echo $line > /tmp/in; sleep 1000; echo ended > /tmp/ended"],"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"DetachKeys":"ctrl-x,x"}"#,
    );
    assert_eq!(api.exec_inspect(&id)["DetachKeys"], "ctrl-x,x");
    let (mut stream, _) = api.hijack(&format!("/exec/{id}/start"), r#"{"Detach":false}"#);
    stream.write_all(b"hello\n").unwrap();
    common::wait_for(
        || api.docker(&["exec", "box", "cat", "/tmp/in"]).stdout == "hello\n",
        "the exec's input",
    );
    stream.write_all(b"\x18x").unwrap();
    assert!(
        read_to_close(&mut stream, Duration::from_secs(5)).is_some(),
        "the detach keys did not let the client go"
    );
    let inspect = api.exec_inspect(&id);
    assert_eq!(inspect["Running"], true, "{inspect}");
    let r = api.docker(&["exec", "box", "cat", "/tmp/ended"]);
    assert_ne!(
        r.code, 0,
        "the exec's process ended on the detach: {}",
        r.stdout
    );

    // On a terminal, Docker's default keys (ctrl-p ctrl-q) detach.
    let id = api.exec_create(
        "box",
        r#"{"Cmd":["sh","-c","cat > /dev/null; echo ended > /tmp/ended2"],"Tty":true,"AttachStdin":true,"AttachStdout":true}"#,
    );
    let (mut stream, _) = api.hijack(
        &format!("/exec/{id}/start"),
        r#"{"Detach":false,"Tty":true}"#,
    );
    stream.write_all(b"abc\x10\x11").unwrap();
    assert!(
        read_to_close(&mut stream, Duration::from_secs(5)).is_some(),
        "ctrl-p ctrl-q did not let the client go"
    );
    assert_eq!(api.exec_inspect(&id)["Running"], true);
    assert_ne!(api.docker(&["exec", "box", "cat", "/tmp/ended2"]).code, 0);

    // A binary that is not there: Docker's runtime error in the stream, and 126.
    let docker_text = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown";
    let r = api.docker(&["exec", "box", "nope"]);
    assert_eq!(r.code, 126, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(docker_text),
        "{:?} {:?}",
        r.stdout,
        r.stderr
    );
    let id = api.exec_create("box", r#"{"Cmd":["nope"],"AttachStdout":true}"#);
    let (status, body) = api.http("POST", &format!("/exec/{id}/start"), "{}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(docker_text), "{body:?}");
    assert_eq!(api.exec_inspect(&id)["ExitCode"], 126);
    // Detached, it is the start's error.
    let r = api.docker(&["exec", "-d", "box", "nope"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(docker_text), "{}", r.stderr);
    // The berth CLI says the same.
    let r = env.berth(&["exec", "box", "nope"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(r.stderr.contains(docker_text), "{}", r.stderr);
}

#[test]
fn commit_ignores_a_pause_that_cannot_happen_and_inspect_names_the_container() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let id = api
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "src",
            "--network",
            "none",
            "bb",
            "sh",
            "-c",
            "echo changed > /tmp/mark; sleep 1000",
        ])
        .trim()
        .to_string();
    common::wait_for(
        || api.docker(&["exec", "src", "cat", "/tmp/mark"]).code == 0,
        "the container's change",
    );
    // Its freezer cgroup taken away (its processes moved to the root's): no pause can happen.
    let freezer = PathBuf::from(format!("/sys/fs/cgroup/freezer/berth/{id}"));
    if !freezer.is_dir() {
        common::cannot_run("no cgroup v1 freezer for the container");
        panic!("this test cannot run here: the reason is said above");
    }
    let procs = std::fs::read_to_string(freezer.join("cgroup.procs")).unwrap();
    for pid in procs.split_whitespace() {
        std::fs::write("/sys/fs/cgroup/freezer/cgroup.procs", pid).unwrap();
    }
    std::fs::remove_dir(&freezer).unwrap();
    let r = api.docker(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/tmp/mark\"]",
        "src",
        "snap:1",
    ]);
    assert_eq!(r.code, 0, "commit failed: {}{}", r.stdout, r.stderr);
    assert_eq!(
        api.docker_ok(&["run", "--rm", "--network", "none", "snap:1"]),
        "changed\n"
    );
    // Image inspect names the container and keeps its Config, as dockerd's commit.
    let out = api.docker_ok(&[
        "image", "inspect", "-f",
        "{{.Container}}|{{json .ContainerConfig.Cmd}}|{{json .Config.Cmd}}|{{.ContainerConfig.Image}}",
        "snap:1",
    ]);
    assert_eq!(
        out.trim(),
        format!(
            "{id}|[\"sh\",\"-c\",\"echo changed > /tmp/mark; sleep 1000\"]|[\"cat\",\"/tmp/mark\"]|bb"
        )
    );
    // An image that no commit made names no container.
    let out = api.docker_ok(&["image", "inspect", "-f", "[{{.Container}}]", "bb"]);
    assert_eq!(out.trim(), "[]");
}

/// The volume names `docker volume ls -q` lists.
fn volumes(api: &Api) -> Vec<String> {
    let mut names: Vec<String> = api
        .docker_ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn rm_v_and_rm_remove_anonymous_volumes_never_named_ones() {
    let env = common::required_env();
    env.image("bb", &[]);
    env.image("bbvol", &["VOLUME /imgvol"]);
    let api = Api::start(&env);
    api.docker_ok(&["volume", "create", "keepme"]);
    let keep = vec!["keepme".to_string()];
    // DELETE ?v=1 (docker rm -v): `-v /data` and the image's VOLUME go, the named one stays.
    api.docker_ok(&[
        "create",
        "--name",
        "c1",
        "--network",
        "none",
        "-v",
        "/data",
        "-v",
        "keepme:/keep",
        "bbvol",
        "true",
    ]);
    assert_eq!(volumes(&api).len(), 3, "{:?}", volumes(&api));
    api.docker_ok(&["rm", "-v", "c1"]);
    assert_eq!(volumes(&api), keep);
    // Without -v they stay, as dockerd leaves them.
    api.docker_ok(&[
        "create",
        "--name",
        "c2",
        "--network",
        "none",
        "-v",
        "/data",
        "bb",
        "true",
    ]);
    api.docker_ok(&["rm", "c2"]);
    let left = volumes(&api);
    assert_eq!(left.len(), 2, "{left:?}");
    let stray = left.into_iter().find(|v| v != "keepme").unwrap();
    api.docker_ok(&["volume", "rm", &stray]);
    // --rm through the API and through the berth CLI.
    api.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/data",
        "-v",
        "keepme:/keep",
        "bbvol",
        "true",
    ]);
    assert_eq!(volumes(&api), keep);
    env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/data",
        "-v",
        "keepme:/keep",
        "bbvol",
        "true",
    ]);
    assert_eq!(volumes(&api), keep);
    // berth rm -v.
    env.ok(&[
        "run",
        "--name",
        "c3",
        "--network",
        "none",
        "-v",
        "/data",
        "bbvol",
        "true",
    ]);
    env.ok(&["rm", "-v", "c3"]);
    assert_eq!(volumes(&api), keep);
}

/// The `message` of a Docker error body.
fn message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .unwrap_or_else(|e| panic!("not an error body: {body:?}: {e}"))["message"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn errors_carry_dockerds_texts_and_codes() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let up = api
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "up",
            "--network",
            "none",
            "bb",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let down = api
        .docker_ok(&[
            "create",
            "--name",
            "down",
            "--network",
            "none",
            "bb",
            "true",
        ])
        .trim()
        .to_string();
    let expect = |method: &str, path: &str, body: &str, status: u16, text: &str| {
        let (got, answer) = api.http(method, path, body);
        assert_eq!(
            (got, message(&answer)),
            (status, text.to_string()),
            "{method} {path}"
        );
    };
    expect(
        "DELETE",
        "/containers/up",
        "",
        409,
        &format!(
            "You cannot remove a running container {up}. Stop the container before attempting removal or force remove"
        ),
    );
    expect(
        "GET",
        "/containers/nosuch/json",
        "",
        404,
        "No such container: nosuch",
    );
    expect(
        "DELETE",
        "/containers/nosuch",
        "",
        404,
        "No such container: nosuch",
    );
    expect(
        "POST",
        "/containers/create?name=up",
        r#"{"Image":"bb","Cmd":["true"]}"#,
        409,
        &format!(
            "Conflict. The container name \"/up\" is already in use by container \"{up}\". You have to remove (or rename) that container to be able to reuse that name."
        ),
    );
    expect(
        "POST",
        "/containers/down/exec",
        r#"{"Cmd":["true"]}"#,
        409,
        &format!("container {down} is not running"),
    );
    expect(
        "POST",
        "/containers/down/kill",
        "",
        409,
        &format!("Cannot kill container: down: container {down} is not running"),
    );
    expect(
        "POST",
        "/containers/up/unpause",
        "",
        409,
        &format!("Container {up} is not paused"),
    );
    api.docker_ok(&["pause", "up"]);
    expect(
        "DELETE",
        "/containers/up",
        "",
        409,
        &format!(
            "You cannot remove a paused container {up}. Unpause and then stop the container before attempting removal or force remove"
        ),
    );
    expect(
        "POST",
        "/containers/up/pause",
        "",
        409,
        &format!("Container {up} is already paused"),
    );
    api.docker_ok(&["unpause", "up"]);
    // The docker CLI shows them as dockerd's (exit code 1 for rm).
    let r = api.docker(&["rm", "up"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("You cannot remove a running container"),
        "{}",
        r.stderr
    );
    // The berth CLI says the same.
    let r = env.berth(&["rm", "up"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains(&format!("You cannot remove a running container {up}.")),
        "{}",
        r.stderr
    );

    expect(
        "POST",
        "/containers/down/rename?name=up",
        "",
        409,
        &format!(
            "Error when allocating new name: Conflict. The container name \"/up\" is already in use by container \"{up}\". You have to remove (or rename) that container to be able to reuse that name."
        ),
    );
    let exec = api.exec_create("up", r#"{"Cmd":["true"]}"#);
    let (status, _) = api.http("POST", &format!("/exec/{exec}/start"), "{}");
    assert_eq!(status, 200);
    expect(
        "POST",
        &format!("/exec/{exec}/start"),
        "{}",
        409,
        &format!("Error: Exec command {exec} has already run"),
    );
    expect(
        "GET",
        "/exec/nosuch/json",
        "",
        404,
        "No such exec instance: nosuch",
    );

    // Between two runs of a restart policy: dockerd's "restarting" conflict.
    let again = api
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "again",
            "--network",
            "none",
            "--restart",
            "always",
            "bb",
            "sh",
            "-c",
            "exit 1",
        ])
        .trim()
        .to_string();
    let restarting = || {
        api.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Restarting}} {{.RestartCount}}",
            "again",
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    common::wait_for(
        || {
            let s = restarting();
            s[0] == "true" && s[1].parse::<i64>().unwrap_or(0) >= 4
        },
        "the restart back-off",
    );
    let (status, body) = api.http("POST", "/containers/again/exec", r#"{"Cmd":["true"]}"#);
    assert_eq!(
        (status, message(&body)),
        (
            409,
            format!("Container {again} is restarting, wait until the container is running")
        )
    );
}

#[test]
fn stats_carry_per_interface_network_counters_only_for_a_network_of_its_own() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    api.docker_ok(&["run", "-d", "--name", "bridged", "bb", "sleep", "1000"]);
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "isolated",
        "--network",
        "none",
        "bb",
        "sleep",
        "1000",
    ]);
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hosted",
        "--network",
        "host",
        "bb",
        "sleep",
        "1000",
    ]);
    let gateway = api.docker_ok(&["inspect", "-f", "{{.NetworkSettings.Gateway}}", "bridged"]);
    // Some traffic on eth0 (the answer may not come: the packets count either way).
    let _ = api.docker(&[
        "exec",
        "bridged",
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        gateway.trim(),
    ]);
    let stats = |name: &str| {
        let (status, body) = api.http("GET", &format!("/containers/{name}/stats?stream=0"), "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let doc = stats("bridged");
    let eth0 = &doc["networks"]["eth0"];
    for key in [
        "rx_bytes",
        "rx_packets",
        "rx_errors",
        "rx_dropped",
        "tx_bytes",
        "tx_packets",
        "tx_errors",
        "tx_dropped",
    ] {
        assert!(eth0[key].is_u64(), "{key} missing: {doc}");
    }
    assert!(eth0["tx_packets"].as_u64().unwrap() >= 1, "{eth0}");
    assert!(eth0["tx_bytes"].as_u64().unwrap() > 0, "{eth0}");
    assert!(
        doc["networks"].get("lo").is_none(),
        "loopback is not counted: {doc}"
    );
    // As dockerd: no networks key at all without interfaces of the container's own.
    for name in ["isolated", "hosted"] {
        let doc = stats(name);
        assert!(doc.get("networks").is_none(), "{name}: {doc}");
    }
    // docker stats shows the counters as NET I/O.
    let out = api.docker_ok(&["stats", "--no-stream", "--format", "{{.NetIO}}", "bridged"]);
    assert_ne!(out.trim(), "0B / 0B", "{out}");
}

/// Runs a Python script with the Docker SDK against the test's server; None (after
/// `cannot_run`) without python3's `docker` module (Debian's python3-docker, which
/// docker-compose brings).
fn python_sdk(api: &Api, script: &str) -> Option<Run> {
    let probe = Command::new("python3")
        .args(["-c", "import docker"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        common::cannot_run("python3 with the docker SDK is not installed");
        return None;
    }
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script])
        .env(
            "DOCKER_HOST",
            format!("unix://{}", api.server.socket.display()),
        )
        .stdin(Stdio::null());
    Some(output_within(cmd, COMMAND_DEADLINE))
}

#[test]
fn the_python_sdk_sees_dockerds_wait_attach_exec_and_remove() {
    let env = common::required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let script = r#"
import time, docker
client = docker.from_env()
c = client.containers.run('bb', ['sh', '-c', 'echo out; echo err >&2; exit 3'], detach=True,
                          network_mode='none')
assert c.wait() == {'Error': None, 'StatusCode': 3}, c.wait()
# attach(logs=True) with stream=False: the log, every time.
for _ in range(10):
    got = c.attach(stdout=True, stderr=True, stream=False, logs=True)
    assert got == b'out\nerr\n', got
# A restart policy: wait returns at the first exit.
started = time.time()
r = client.containers.run('bb', ['sh', '-c', 'sleep 0.5; exit 2'], detach=True,
                          network_mode='none',
                          restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 3})
assert r.wait()['StatusCode'] == 2
assert time.time() - started < 2.5, time.time() - started
s = client.containers.run('bb', ['sleep', '100'], detach=True, network_mode='none')
res = s.exec_run(['nope'])
assert res.exit_code == 126, res
assert b'OCI runtime exec failed' in res.output and b'executable file not found' in res.output, res
try:
    s.remove()
    raise SystemExit('removed a running container')
except docker.errors.APIError as e:
    assert e.status_code == 409, e
    assert 'You cannot remove a running container' in e.explanation, e.explanation
s.remove(force=True)
r.remove(force=True)
c.remove()
print('ok')
"#;
    let Some(r) = python_sdk(&api, script) else {
        panic!("this test cannot run here: the reason is said above");
    };
    assert_eq!((r.code, r.stdout.trim()), (0, "ok"), "{}", r.stderr);
}

#[test]
fn berth_exec_it_detaches_on_the_detach_keys_and_the_process_runs_on() {
    let env = common::required_env();
    if !common::have("script", "a terminal for exec -it (util-linux)") {
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "bb",
        "sleep",
        "1000",
    ]);
    let session = format!(
        "{} exec -it box sh -c 'cat > /dev/null; echo ended > /tmp/ended'",
        common::berth_bin()
    );
    let mut child = Command::new("script")
        .args(["-qec", &session, "/dev/null"])
        .env("BERTH_ROOT", &env.root)
        .env("BERTH_RUN", &env.run)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    common::wait_for(
        || env.berth(&["exec", "box", "ps"]).stdout.contains("cat"),
        "the exec's process",
    );
    input.write_all(b"typed\n\x10\x11").unwrap();
    let r = common::wait_within(child, Duration::from_secs(20), "berth exec -it");
    drop(input);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("read escape sequence"),
        "{} {}",
        r.stdout,
        r.stderr
    );
    // The process runs on, its terminal kept.
    std::thread::sleep(Duration::from_millis(300));
    let ps = env.berth(&["exec", "box", "ps"]);
    assert!(
        ps.stdout.contains("cat"),
        "the detached process is gone: {} {} (exit {})",
        ps.stdout,
        ps.stderr,
        ps.code
    );
    assert_ne!(env.berth(&["exec", "box", "cat", "/tmp/ended"]).code, 0);
}
