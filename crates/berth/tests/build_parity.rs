//! Docker parity of builds: the classic builder's protocol (`POST /build`, as the docker CLI
//! with `DOCKER_BUILDKIT=0` and docker-compose drive it), the build parameters that reach RUN
//! steps' containers (limits, network mode, extra hosts, pull, `rm`/`forcerm`), and the same
//! options on `berth build`. Each test runs its own `berth serve` on a socket in its temp dir.
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::serve::Serve;
use common::{COMMAND_DEADLINE, Env, output_within, required_env};

const DOCKER: &str = "/usr/local/bin/docker";

fn serve(env: &Env) -> Serve {
    let (cmd, socket) = env.serve_command();
    Serve::start(cmd, socket)
}

/// A tar of `files` (path, content), as a build context.
fn context_tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// `POST /build?QUERY` with the context `files`; returns the stream's JSON messages.
/// HTTP/1.0: the answer is the body until the server closes, never chunked.
fn post_build(socket: &Path, query: &str, files: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let body = context_tar(files);
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    let head = format!(
        "POST /v1.41/build?{query} HTTP/1.0\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (status, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(status.contains(" 200 "), "POST /build?{query}: {text}");
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// The `stream` texts of the messages, in order (other messages left out).
fn streams(messages: &[serde_json::Value]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m["stream"].as_str().map(str::to_string))
        .collect()
}

fn all_text(messages: &[serde_json::Value]) -> String {
    streams(messages).concat()
}

fn is_short_id(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// The id in ` ---> <id>\n`, if the message is one.
fn arrow_id(message: &str) -> Option<&str> {
    message
        .strip_prefix(" ---> ")
        .and_then(|m| m.strip_suffix('\n'))
        .filter(|id| is_short_id(id))
}

fn error_of(messages: &[serde_json::Value]) -> Option<(i64, String)> {
    messages
        .iter()
        .find(|m| m.get("errorDetail").is_some())
        .map(|m| {
            (
                m["errorDetail"]["code"].as_i64().unwrap_or(-1),
                m["errorDetail"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
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

#[test]
fn post_build_streams_the_classic_builders_messages_one_by_one() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = serve(&env);
    let files = [
        (
            "Dockerfile",
            "FROM bb\nENV A=b\nRUN echo out; echo err >&2\n",
        ),
        ("Other", "FROM bb\nRUN exit 9\n"),
    ];
    // `dockerfile` twice: the first wins, as with dockerd (which reads a parameter's first value).
    let query =
        "t=parity&dockerfile=Dockerfile&dockerfile=Other&buildargs=%7B%22UNUSED%22%3A%221%22%7D";
    let messages = post_build(&server.socket, query, &files);
    assert_eq!(error_of(&messages), None, "{messages:?}");
    let s = streams(&messages);
    let at = |i: usize| s.get(i).map(String::as_str).unwrap_or("");
    assert_eq!(at(0), "Step 1/3 : FROM bb", "{s:?}");
    assert_eq!(
        at(1),
        "\n",
        "the step's line end is a message of its own: {s:?}"
    );
    let base = arrow_id(at(2)).unwrap_or_else(|| panic!("FROM's image: {s:?}"));
    let inspect = env.ok(&["image", "inspect", "--format", "{{.Id}}", "bb"]);
    assert_eq!(
        base,
        &inspect.trim().trim_start_matches("sha256:")[..12],
        "FROM shows the base image's id"
    );
    assert_eq!(at(3), "Step 2/3 : ENV A=b");
    assert_eq!(at(4), "\n");
    assert!(arrow_id(at(5)).is_some(), "ENV ends on an image: {s:?}");
    assert_eq!(at(6), "Step 3/3 : RUN echo out; echo err >&2");
    assert_eq!(at(7), "\n");
    let running = at(8)
        .strip_prefix(" ---> Running in ")
        .and_then(|r| r.strip_suffix('\n'))
        .filter(|id| is_short_id(id))
        .unwrap_or_else(|| panic!("RUN says the container it runs in: {s:?}"));
    let output: Vec<&str> = s[9..11].iter().map(String::as_str).collect();
    assert!(output.contains(&"out\n"), "stdout as it is: {s:?}");
    assert!(
        output.contains(&"\u{1b}[91merr\n\u{1b}[0m"),
        "stderr wrapped in red as dockerd's: {s:?}"
    );
    assert_eq!(
        at(11),
        format!("Removing intermediate container {running}\n")
    );
    let last = arrow_id(at(12)).unwrap_or_else(|| panic!("RUN ends on an image: {s:?}"));
    let aux = messages
        .iter()
        .find_map(|m| m["aux"]["ID"].as_str())
        .unwrap_or_else(|| panic!("an aux message with the image id: {messages:?}"));
    assert!(aux.starts_with("sha256:"), "{aux}");
    let position = |pred: &dyn Fn(&serde_json::Value) -> bool| messages.iter().position(pred);
    assert!(
        position(&|m| m.get("aux").is_some())
            < position(&|m| m["stream"]
                .as_str()
                .is_some_and(|t| t.starts_with("[Warning]"))),
        "the image id, then the warnings, as dockerd sends them: {messages:?}"
    );
    assert_eq!(&aux[7..19], last);
    assert_eq!(
        at(13),
        "[Warning] One or more build-args [UNUSED] were not consumed\n",
        "the classic builder warns once its steps are done"
    );
    assert_eq!(at(14), format!("Successfully built {last}\n"));
    assert_eq!(
        at(15),
        "Successfully tagged parity:latest\n",
        "tags normalised, one message each"
    );
    let tagged = env.ok(&["image", "inspect", "--format", "{{.Id}}", "parity"]);
    assert_eq!(tagged.trim(), aux);
    assert_eq!(
        env.container_ids(),
        Vec::<String>::new(),
        "rm (the default) removes the intermediate containers"
    );

    // The same build again: every step from the cache, the same image.
    let again = streams(&post_build(&server.socket, "t=parity", &files));
    assert_eq!(
        again
            .iter()
            .filter(|m| m.as_str() == " ---> Using cache\n")
            .count(),
        2,
        "{again:?}"
    );
    assert!(
        again.contains(&format!("Successfully built {last}\n")),
        "{again:?}"
    );
    assert!(!again.iter().any(|m| m.contains("Running in")), "{again:?}");
}

#[test]
fn docker_cli_legacy_build_prints_dockerds_text_and_writes_the_iidfile() {
    let env = required_env();
    if !common::have(DOCKER, "the docker CLI drives berth serve") {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = serve(&env);
    let dir = env.run.parent().unwrap().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM bb\nCOPY f /f\nRUN cat /f\n").unwrap();
    std::fs::write(dir.join("f"), "from the context\n").unwrap();
    let iid = env.run.parent().unwrap().join("iid");
    let mut cmd = Command::new(DOCKER);
    cmd.args(["build", "-t", "clibuilt", "--iidfile"])
        .arg(&iid)
        .arg(&dir)
        .env("DOCKER_HOST", format!("unix://{}", server.socket.display()))
        .env(
            "DOCKER_CONFIG",
            env.run.parent().unwrap().join("docker-config"),
        )
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null());
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let id = env.ok(&["image", "inspect", "--format", "{{.Id}}", "clibuilt"]);
    let id = id.trim();
    for expected in [
        "Step 1/3 : FROM bb\n".to_string(),
        "Step 2/3 : COPY f /f\n".into(),
        "Step 3/3 : RUN cat /f\n ---> Running in ".into(),
        "from the context\nRemoving intermediate container ".into(),
        format!(" ---> {}\nSuccessfully built {}\n", &id[7..19], &id[7..19]),
        "Successfully tagged clibuilt:latest\n".into(),
    ] {
        assert!(
            r.stdout.contains(&expected),
            "{expected:?} in:\n{}",
            r.stdout
        );
    }
    assert_eq!(std::fs::read_to_string(&iid).unwrap().trim(), id);

    // A failing step: the CLI prints the classic error and exits with the step's code.
    std::fs::write(dir.join("Dockerfile"), "FROM bb\nRUN exit 7\n").unwrap();
    let mut cmd = Command::new(DOCKER);
    cmd.args(["build"])
        .arg(&dir)
        .env("DOCKER_HOST", format!("unix://{}", server.socket.display()))
        .env(
            "DOCKER_CONFIG",
            env.run.parent().unwrap().join("docker-config"),
        )
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null());
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("The command '/bin/sh -c exit 7' returned a non-zero code: 7"),
        "{}",
        r.stderr
    );
}

/// The `ps -a` rows (id prefix and status) of the test's containers.
fn ps_all(env: &Env) -> String {
    env.ok(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}"])
}

#[test]
fn a_failed_step_keeps_its_container_unless_forcerm() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = serve(&env);
    let failing = [("Dockerfile", "FROM bb\nRUN echo kept > /k; exit 3\n")];
    let messages = post_build(&server.socket, "", &failing);
    assert_eq!(
        error_of(&messages),
        Some((
            3,
            "The command '/bin/sh -c echo kept > /k; exit 3' returned a non-zero code: 3".into()
        )),
        "{messages:?}"
    );
    let text = all_text(&messages);
    let running = text
        .split(" ---> Running in ")
        .nth(1)
        .map(|r| r[..12].to_string())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!text.contains("Removing intermediate container"), "{text}");
    // Kept as the classic builder keeps it, for the user to look into: listed, and it stays
    // after later commands (it is no longer the build's to reap).
    env.ok(&["ps", "-a"]);
    let listed = ps_all(&env);
    assert!(
        listed.starts_with(&running) && listed.contains("Exited (3)"),
        "the failed step's container {running} in ps -a: {listed}"
    );
    let copied = env.root.parent().unwrap().join("k");
    env.ok(&["cp", &format!("{running}:/k"), &copied.to_string_lossy()]);
    assert_eq!(
        std::fs::read_to_string(&copied).unwrap(),
        "kept\n",
        "what the step did is in its container"
    );
    env.ok(&["rm", &running]);

    // forcerm: removed whatever happened.
    let messages = post_build(&server.socket, "forcerm=1", &failing);
    assert_eq!(error_of(&messages).map(|e| e.0), Some(3));
    assert!(
        all_text(&messages).contains("Removing intermediate container"),
        "{messages:?}"
    );
    assert_eq!(ps_all(&env), "", "forcerm leaves no container");

    // rm=0: even a successful step's container stays.
    let ok = [("Dockerfile", "FROM bb\nRUN true\n")];
    let messages = post_build(&server.socket, "rm=0", &ok);
    assert_eq!(error_of(&messages), None, "{messages:?}");
    assert!(
        ps_all(&env).contains("Exited (0)"),
        "rm=0 keeps the step's container"
    );

    // A kept container is the user's, not the build's: when the next command reaps what dead
    // builds left (here a scratch dir of a gone process, and the server gone), it stays.
    drop(server);
    std::fs::create_dir_all(env.root.join("build").join("999999999-1")).unwrap();
    env.ok(&["ps"]);
    assert!(
        !env.root.join("build").join("999999999-1").exists(),
        "the dead build was reaped"
    );
    assert!(
        ps_all(&env).contains("Exited (0)"),
        "the kept container survives the reaping"
    );
}

/// A cgroup v1 controller's file as a step sees it, or None on a v2 host.
fn v1_controller(controller: &str) -> Option<PathBuf> {
    let dir = PathBuf::from("/sys/fs/cgroup").join(controller);
    dir.is_dir().then_some(dir)
}

#[test]
fn build_parameters_reach_the_run_steps_containers() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = serve(&env);
    let v1 = v1_controller("memory").is_some() && v1_controller("cpu").is_some();
    let dockerfile = if v1 {
        "FROM bb\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo no-swap-accounting; cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; cat /sys/fs/cgroup/cpuset/cpuset.cpus; df -k /dev/shm; grep parity-host /etc/hosts; ip link; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok\n"
    } else {
        "FROM bb\nRUN cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max; df -k /dev/shm; grep parity-host /etc/hosts; ip link; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok\n"
    };
    let query = "memory=67108864&memswap=134217728&shmsize=16777216&cpushares=512&cpuquota=50000&cpuperiod=100000&cpusetcpus=0&extrahosts=parity-host:10.1.2.3&networkmode=none";
    let messages = post_build(&server.socket, query, &[("Dockerfile", dockerfile)]);
    assert_eq!(error_of(&messages), None, "{messages:?}");
    let lines: Vec<String> = streams(&messages)
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    let has = |l: &str| lines.iter().any(|x| x == l);
    if v1 {
        for expected in ["67108864", "512", "50000", "100000"] {
            assert!(has(expected), "{expected} in {lines:?}");
        }
        assert!(
            has("134217728") || has("no-swap-accounting"),
            "memswap: {lines:?}"
        );
        assert!(
            v1_controller("cpuset").is_none() || has("0"),
            "cpusetcpus: {lines:?}"
        );
    } else {
        assert!(has("67108864") && has("50000 100000"), "{lines:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tmpfs") && l.split_whitespace().nth(1) == Some("16384")),
        "/dev/shm of shmsize: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["10.1.2.3", "parity-host"]),
        "extrahosts in /etc/hosts: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("1: lo:") && l.contains(",UP")),
        "loopback up: {lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("eth0")),
        "networkmode=none: no other interface: {lines:?}"
    );
    assert!(has("ping-ok"), "127.0.0.1 answers: {lines:?}");

    // The default network mode is a bridge, as dockerd's: the step has eth0 beside lo.
    let messages = post_build(
        &server.socket,
        "",
        &[("Dockerfile", "FROM bb\nRUN ip link; ip route\n")],
    );
    let text = all_text(&messages);
    assert!(
        text.contains(": eth0@") && text.contains("default via"),
        "the default network: {text}"
    );
    // host: the host's interfaces.
    let messages = post_build(
        &server.socket,
        "networkmode=host",
        &[("Dockerfile", "FROM bb\nRUN cat /proc/net/dev\n")],
    );
    let host_dev = std::fs::read_to_string("/proc/net/dev").unwrap();
    let first_host_iface = host_dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(str::trim))
        .find(|n| *n != "lo" && !n.starts_with("veth") && !n.starts_with("berth"))
        .unwrap_or("lo")
        .to_string();
    assert!(
        all_text(&messages).contains(&format!("{first_host_iface}:")),
        "networkmode=host sees {first_host_iface}: {messages:?}"
    );
}

#[test]
fn berth_build_takes_network_add_host_and_limits() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let dir = env.run.parent().unwrap().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM bb\nRUN grep cli-host /etc/hosts; ip link; df -k /dev/shm\n",
    )
    .unwrap();
    let ctx = dir.to_string_lossy().into_owned();
    let r = env.berth(&[
        "build",
        "--progress",
        "plain",
        "--no-cache",
        "--network",
        "none",
        "--add-host",
        "cli-host:10.9.8.7",
        "--shm-size",
        "8m",
        &ctx,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("10.9.8.7\tcli-host"), "{}", r.stderr);
    assert!(r.stderr.contains("lo: <LOOPBACK,UP"), "{}", r.stderr);
    assert!(!r.stderr.contains("eth0"), "{}", r.stderr);
    assert!(r.stderr.contains(" 8192 "), "/dev/shm 8m: {}", r.stderr);
    // The CLI keeps BuildKit's plain progress.
    assert!(r.stderr.contains("#2 [2/2] RUN grep"), "{}", r.stderr);
    let r = env.berth(&["build", "--no-cache", "--network", "nonsense-mode!", &ctx]);
    assert_ne!(
        r.code, 0,
        "an unknown network fails the build: {}",
        r.stderr
    );
}

#[test]
fn pull_1_pulls_the_base_image_even_when_present() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    let Some(registry) =
        common::local_registry::LocalRegistry::start(&env.root.parent().unwrap().join("registry"))
    else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let remote = format!("127.0.0.1:{}/bb:1", registry.port);
    env.ok(&["tag", "bb", &remote]);
    env.ok(&["push", &remote]);
    let server = serve(&env);
    let files = [("Dockerfile", format!("FROM {remote}\nRUN true\n"))];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let without = all_text(&post_build(&server.socket, "", &files));
    assert!(
        !without.contains("Status:"),
        "no pull without pull=1: {without}"
    );
    let with = all_text(&post_build(&server.socket, "pull=1", &files));
    assert!(
        with.contains("1: Pulling from bb\n")
            && with.contains(&format!("Status: Image is up to date for {remote}\n")),
        "pull=1 pulls the present image: {with}"
    );
}

/// The Python Docker SDK's `images.build` finds the built image in the stream (its
/// `Successfully built <id>` message, one message of its own) and sends its parameters as
/// docker-compose's non-CLI builds do.
const PY_BUILD: &str = r#"
import json, sys
import docker
client = docker.DockerClient(base_url="unix://" + sys.argv[1])
image, logs = client.images.build(
    path=sys.argv[2], tag="pybuilt", rm=True, forcerm=False, nocache=True,
    container_limits={"memory": 64 * 1024 * 1024, "memswap": -1, "cpushares": 256},
    shmsize=32 * 1024 * 1024, network_mode="none", extra_hosts={"pyhost": "10.4.4.4"},
)
print(json.dumps({"id": image.id, "tags": image.tags,
                  "logs": [line.get("stream", "") for line in logs]}))
"#;

#[test]
fn python_sdk_builds_and_finds_its_image_with_parameters() {
    let env = required_env();
    let has_sdk = Command::new("python3")
        .args(["-c", "import docker"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        common::cannot_run("the Python Docker SDK is missing (Debian's python3-docker)");
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let server = serve(&env);
    let dir = env.run.parent().unwrap().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM bb\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; grep pyhost /etc/hosts; df -k /dev/shm\n",
    )
    .unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PY_BUILD])
        .arg(&server.socket)
        .arg(&dir)
        .stdin(Stdio::null());
    let r = output_within(cmd, COMMAND_DEADLINE);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let id = env.ok(&["image", "inspect", "--format", "{{.Id}}", "pybuilt"]);
    assert_eq!(out["id"], id.trim(), "{out}");
    assert_eq!(out["tags"], serde_json::json!(["pybuilt:latest"]));
    let logs = out["logs"].as_array().unwrap();
    let has = |text: &str| logs.iter().any(|l| l.as_str() == Some(text));
    assert!(has("67108864\n"), "memory: {logs:?}");
    assert!(has("10.4.4.4\tpyhost\n"), "extra_hosts: {logs:?}");
    assert!(
        logs.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.starts_with("tmpfs") && l.contains(" 32768 "))),
        "shmsize: {logs:?}"
    );
}

/// `--network none` is Docker's: a namespace of its own whose loopback is up (a build's
/// `networkmode=none` steps are such containers).
#[test]
fn run_network_none_has_its_loopback_up() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        // A server on 127.0.0.1 (busybox httpd, which puts itself in the background) and a
        // client of it, retried until the server listens.
        "ip link; mkdir -p /www && echo over-lo > /www/f && httpd -p 127.0.0.1:7777 -h /www && \
         i=0; while [ $i -lt 50 ] && ! wget -O- http://127.0.0.1:7777/f 2>&1; do sleep 0.1; i=$((i+1)); done",
    ]);
    assert!(out.contains("lo: <LOOPBACK,UP"), "{out}");
    assert!(!out.contains("eth0"), "{out}");
    assert!(
        out.contains("over-lo"),
        "a listener on 127.0.0.1 answers: {out}"
    );
    let left: Vec<_> = std::fs::read_dir(env.run.join("netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "netns files left: {left:?}");
}
