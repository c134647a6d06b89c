//! Terminals, logs, exec and attach through the `berth` binary, as root.
mod common;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;
use std::time::Duration;

use common::terminal::{Terminal, pty};
use common::{required_env, wait_for};

/// Reads everything from a pty master until the other side closes (EIO).
fn read_all(master: OwnedFd) -> String {
    let mut file = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn tty_gives_a_real_terminal_that_follows_resizes() {
    let env = required_env();
    env.image("bb", &[]);
    let terminal = Terminal::spawn(
        env.cmd(&[
            "run",
            "-it",
            "--rm",
            "bb",
            "sh",
            "-c",
            "tty; stty size; read x; echo got $x; stty size; exit 5",
        ]),
        24,
        80,
    );
    terminal.wait_for("24 80", Duration::from_secs(10));
    terminal.resize(40, 120);
    // The client's SIGWINCH thread copies the size to the container's pty; give it a moment
    // before the container reads its size again.
    std::thread::sleep(Duration::from_millis(500));
    terminal.type_in(b"hello\r");
    let (status, out) = terminal.finish(Duration::from_secs(60));
    assert_eq!(status.code(), Some(5), "{out}");
    assert!(
        out.contains("/dev/pts/0") || out.contains("/dev/console"),
        "{out}"
    );
    assert!(out.contains("24 80"), "{out}");
    assert!(out.contains("got hello"), "{out}");
    assert!(out.contains("40 120"), "{out}");
}

#[test]
fn logs_follow_tail_and_timestamps() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "bb",
        "sh",
        "-c",
        "echo one; echo two; sleep 1; echo three",
    ]);
    let follow = env.berth(&["logs", "-f", "talker"]);
    assert_eq!(follow.stdout, "one\ntwo\nthree\n");
    assert_eq!(env.ok(&["logs", "--tail", "1", "talker"]), "three\n");
    let stamped = env.ok(&["logs", "-t", "--tail", "2", "talker"]);
    for line in stamped.lines() {
        let (time, _) = line.split_once(' ').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{line}");
    }
    assert_eq!(
        env.ok(&["logs", "--since", "2999-01-01T00:00:00Z", "talker"]),
        ""
    );
    let r = env.berth(&["logs", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );
}

/// A follower passes on a line written after it started, and ends once the container exits.
#[test]
fn logs_follow_passes_new_lines_and_ends_at_exit() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "waiter",
        "bb",
        "sh",
        "-c",
        "echo ready; until [ -e /tmp/go ]; do sleep 0.05; done; echo later; \
         until [ -e /tmp/end ]; do sleep 0.05; done; exit 3",
    ]);
    let mut follow = env
        .cmd(&["logs", "-f", "waiter"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = || {
        lines
            .recv_timeout(common::COMMAND_DEADLINE)
            .expect("a line from berth logs -f")
    };
    assert_eq!(next_line(), "ready");
    // Written only now that the follower has shown the first line.
    env.ok(&["exec", "waiter", "touch", "/tmp/go"]);
    assert_eq!(next_line(), "later");
    env.ok(&["exec", "waiter", "touch", "/tmp/end"]);
    let done = common::wait_within(follow, common::COMMAND_DEADLINE, "berth logs -f at exit");
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(lines.recv().is_err(), "no more lines after the exit");
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.ExitCode}}", "waiter"]),
        "3\n"
    );
}

#[test]
fn exec_options_apply() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run", "-d", "--name", "box", "-e", "A=1", "bb", "sleep", "100",
    ]);
    assert_eq!(
        env.ok(&["exec", "-u", "alice", "box", "id", "-u"]),
        "1000\n"
    );
    assert_eq!(env.ok(&["exec", "-w", "/tmp", "box", "pwd"]), "/tmp\n");
    assert_eq!(
        env.ok(&["exec", "-e", "B=2", "box", "sh", "-c", "echo $A$B"]),
        "12\n"
    );
    let r = env.with_stdin(&["exec", "-i", "box", "cat"], b"piped\n");
    assert_eq!(r.stdout, "piped\n");
    env.ok(&["exec", "-d", "box", "touch", "/tmp/from-detached"]);
    wait_for(
        || env.berth(&["exec", "box", "ls", "/tmp/from-detached"]).code == 0,
        "detached exec",
    );
    // As dockerd: an exec that cannot start is the runtime's failure, 126.
    let r = env.berth(&["exec", "box", "nosuchcmd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    // Nothing but stdio of the caller's reaches the process: fd 57, open in `berth exec`
    // without close-on-exec, is not there.
    let mut leaky = env.cmd(&[
        "exec",
        "box",
        "sh",
        "-c",
        "ls /proc/$$/fd; if test -e /proc/$$/fd/57; then echo LEAKED; fi",
    ]);
    // SAFETY: dup2 between fork and exec touches only the child's descriptor table.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut leaky, || {
            if libc::dup2(2, 57) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = common::output_within(leaky, Duration::from_secs(180));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("LEAKED"), "{}", out.stdout);
    // exec -t gets a terminal, of the caller's size from the start.
    let (master, slave) = pty(31, 97);
    let status = env
        .cmd(&["exec", "-t", "box", "sh", "-c", "tty; stty size"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let out = read_all(master);
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("31 97"), "{out}");
    env.ok(&["stop", "-t", "0", "box"]);
    let r = env.berth(&["exec", "box", "true"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
}

#[test]
fn start_attach_returns_the_exit_code() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "create",
        "--name",
        "later",
        "bb",
        "sh",
        "-c",
        "echo attached; exit 9",
    ]);
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "later"]),
        "created\n"
    );
    let r = env.berth(&["start", "-a", "later"]);
    assert_eq!(r.code, 9);
    assert_eq!(r.stdout, "attached\n");
}

#[test]
fn container_survives_its_killed_cli() {
    let env = required_env();
    env.image("bb", &[]);
    let mut cli = env
        .cmd(&[
            "run",
            "--name",
            "orphan",
            "bb",
            "sh",
            "-c",
            "echo up; sleep 100",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        || {
            env.berth(&["inspect", "-f", "{{.State.Running}}", "orphan"])
                .stdout
                == "true\n"
        },
        "start",
    );
    cli.kill().unwrap();
    cli.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "orphan"]),
        "running\n"
    );
    assert_eq!(env.ok(&["logs", "orphan"]), "up\n");
    env.ok(&["rm", "-f", "orphan"]);
    assert!(env.container_ids().is_empty());
}

#[test]
fn cli_killed_during_start_leaves_a_truthful_state() {
    let env = required_env();
    env.image("bb", &[]);
    // Kill `berth run` at various moments of its start; every container must end up either
    // running (the shim carried on) or created, never half-made, and `rm -f` cleans all.
    for delay_ms in [0u64, 2, 5, 10, 20] {
        let mut cli = env
            .cmd(&["run", "-d", "bb", "sleep", "100"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(cli.id() as i32, libc::SIGKILL) };
        cli.wait().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    for id in env.container_ids() {
        let status = env.ok(&["inspect", "-f", "{{.State.Status}}", &id]);
        assert!(
            status == "running\n" || status == "created\n",
            "{id}: {status}"
        );
    }
    let ids = env.container_ids();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(String::as_str));
        env.ok(&args);
    }
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn signals_to_an_attached_run_reach_the_container() {
    let env = required_env();
    env.image("bb", &[]);
    let child = env
        .cmd(&[
            "run",
            "--rm",
            "--name",
            "sigs",
            "bb",
            "sh",
            "-c",
            "trap 'echo got INT; exit 3' INT; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        || env.berth(&["logs", "sigs"]).stdout == "ready\n",
        "the container to start",
    );
    // The client installs its signal forwarding right after the start; let it.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ready\ngot INT\n");
}

/// Collects a child's output on a thread; the test polls the shared text.
fn collect(mut source: impl Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<String>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = source.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    seen
}

fn status_of(env: &common::Env, name: &str) -> String {
    env.ok(&["inspect", "-f", "{{.State.Status}}", name])
}

#[test]
fn attach_feeds_a_running_interactive_container_and_leaves_it_running() {
    use std::io::Write;
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["run", "-d", "-i", "--name", "cat", "bb", "cat"]);
    // Twice: the first client's EOF must not close the container's stdin.
    for word in ["hello", "again"] {
        let mut child = env
            .cmd(&["attach", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let seen = collect(child.stdout.take().unwrap());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{word}\n").as_bytes()).unwrap();
        wait_for(|| seen.lock().unwrap().contains(word), "the echo");
        drop(stdin);
        let r = common::wait_within(child, common::COMMAND_DEADLINE, "attach");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(status_of(&env, "cat"), "running\n");
    }
    env.ok(&["rm", "-f", "cat"]);
}

#[test]
fn attach_to_a_tty_types_detaches_and_returns_the_exit_code() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["run", "-dit", "--name", "shell", "bb", "sh"]);
    let attach = |input: &[u8]| {
        let (master, slave) = pty(24, 80);
        let child = env
            .cmd(&["attach", "shell"])
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let seen = collect(std::fs::File::from(master.try_clone().unwrap()));
        nix::unistd::write(&master, b"echo hi-$((6*7))\r").unwrap();
        wait_for(
            || seen.lock().unwrap().contains("hi-42"),
            "the shell's answer",
        );
        nix::unistd::write(&master, input).unwrap();
        let r = common::wait_within(child, common::COMMAND_DEADLINE, "attach");
        let out = seen.lock().unwrap().clone();
        (r.code, out)
    };
    // ctrl-p ctrl-q: the client goes, the container stays.
    let (code, out) = attach(b"\x10\x11");
    assert_eq!(code, 0, "{out}");
    assert_eq!(status_of(&env, "shell"), "running\n");
    let (code, out) = attach(b"exit 3\r");
    assert_eq!(code, 3, "{out}");
    assert_eq!(status_of(&env, "shell"), "exited\n");
    env.ok(&["rm", "shell"]);
}

#[test]
fn attach_without_stdin_sees_late_output_and_the_exit_code() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "bb",
        "sh",
        "-c",
        "sleep 2; echo late; exit 4",
    ]);
    let r = env.berth(&["attach", "late"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout, "late\n");
    env.ok(&["rm", "late"]);
}

#[test]
fn attach_refuses_missing_and_stopped_containers() {
    let env = required_env();
    env.image("bb", &[]);
    let r = env.berth(&["attach", "nosuch"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "Error: No such container: nosuch\n");
    env.ok(&["create", "--name", "idle", "bb", "true"]);
    let r = env.berth(&["attach", "idle"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Error: You cannot attach to a stopped container, start it first\n"
    );
    env.ok(&["rm", "idle"]);
}

/// The pid of a container's shim (`berth shim ID`), from /proc.
fn shim_pid(id: &str) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            (args.get(1) == Some(&&b"shim"[..]) && args.get(2) == Some(&id.as_bytes()))
                .then_some(pid)
        })
}

#[test]
fn attach_after_a_killed_shim_says_not_running_and_a_restart_serves_again() {
    use std::io::Write;
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&["run", "-d", "-i", "--name", "orphaned", "bb", "cat"]);
    let id = id.trim();
    let pid = shim_pid(id).expect("the shim's pid");
    // SAFETY: kill(2) on the shim this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_for(
        || !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the shim to die",
    );
    let r = env.berth(&["attach", "orphaned"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("You cannot attach to a stopped container"),
        "{}",
        r.stderr
    );
    // Its stale socket must not stand in the way of the next shim's.
    env.ok(&["start", "orphaned"]);
    let mut child = env
        .cmd(&["attach", "orphaned"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = collect(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"back\n").unwrap();
    wait_for(|| seen.lock().unwrap().contains("back"), "the echo");
    drop(stdin);
    let r = common::wait_within(child, common::COMMAND_DEADLINE, "attach");
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.ok(&["rm", "-f", "orphaned"]);
}

#[test]
fn a_client_that_never_reads_does_not_hold_back_the_container() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "flood",
        "bb",
        "sh",
        "-c",
        "sleep 1; head -c 8000000 /dev/zero | tr '\\0' x; echo; echo done",
    ]);
    let dir = env.run.join("containers").join(id.trim());
    // Through an O_PATH handle: the socket's full path may pass the 108-byte limit.
    let handle = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(&dir)
        .unwrap();
    let path = format!("/proc/self/fd/{}/attach.sock", handle.as_raw_fd());
    let stalled = std::os::unix::net::UnixStream::connect(path).unwrap();
    let r = env.berth(&["wait", "flood"]);
    assert_eq!(r.stdout, "0\n", "{}", r.stderr);
    assert!(env.ok(&["logs", "--tail", "1", "flood"]).contains("done"));
    drop(stalled);
    env.ok(&["rm", "flood"]);
}
