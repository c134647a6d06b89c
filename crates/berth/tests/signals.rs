//! Signals reach only a container's own processes (never pid 0 or a reused pid), in every
//! state a container can be in; a killed shim is repaired and the restart policy applied.
mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Env, required_env, wait_for};

fn state(env: &Env, name: &str) -> String {
    env.ok(&["inspect", "-f", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

/// A container in its restart back-off (recorded pid 0): `--restart always` of a command
/// that fails at once.
fn restarting(env: &Env, name: &str) {
    env.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--restart",
        "always",
        "bb",
        "sh",
        "-c",
        "exit 3",
    ]);
    wait_for(
        || {
            env.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", name])
                .trim()
                == "restarting 0"
        },
        "the restart back-off",
    );
}

/// Runs `berth ARGS` in a process group of its own beside a sentinel process; returns the
/// command's exit code (None: killed by a signal) and whether the sentinel survived it. A
/// kill(0, SIGKILL) would take down the whole group, sentinel and caller alike.
fn in_own_group(env: &Env, args: &[&str]) -> (Option<i32>, bool) {
    let mut sentinel = Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    let group = sentinel.id() as i32;
    let status = env
        .cmd(args)
        .process_group(group)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let survived = sentinel.try_wait().unwrap().is_none();
    let _ = sentinel.kill();
    let _ = sentinel.wait();
    (status.code(), survived)
}

#[test]
fn stopping_a_restarting_container_signals_nothing_else() {
    let env = required_env();
    env.image("bb", &[]);
    for verb in [
        &["rm", "-f", "r1"][..],
        &["stop", "-t", "1", "r1"],
        &["restart", "-t", "1", "r1"],
        &["kill", "r1"],
    ] {
        restarting(&env, "r1");
        let (code, survived) = in_own_group(&env, verb);
        assert!(survived, "berth {verb:?} killed its own process group");
        match verb[0] {
            // Docker: a container in its back-off has no process to signal.
            "kill" => assert_eq!(code, Some(1), "berth {verb:?}"),
            _ => assert_eq!(code, Some(0), "berth {verb:?}"),
        }
        let _ = env.berth(&["rm", "-f", "r1"]);
        assert!(env.container_ids().is_empty());
    }
}

#[test]
fn stop_kill_and_rm_in_every_state() {
    let env = required_env();
    env.image("bb", &[]);
    // Paused: stop and rm -f end it; kill is refused as dockerd refuses it (a frozen process
    // takes no signal), and the container stays paused.
    for verb in [
        &["stop", "-t", "1", "p1"][..],
        &["rm", "-f", "p1"],
        &["kill", "p1"],
    ] {
        env.ok(&["run", "-d", "--name", "p1", "bb", "sleep", "1000"]);
        env.ok(&["pause", "p1"]);
        let (code, survived) = in_own_group(&env, verb);
        assert!(survived, "{verb:?}");
        match verb[0] {
            "kill" => {
                assert_eq!(code, Some(1), "berth kill on a paused container");
                assert_eq!(state(&env, "p1"), "paused");
                let r = env.berth(&["kill", "p1"]);
                assert!(
                    r.stderr.contains("is paused. Unpause the container"),
                    "{}",
                    r.stderr
                );
            }
            "stop" => {
                assert_eq!(code, Some(0), "berth stop on a paused container");
                assert_eq!(state(&env, "p1"), "exited");
            }
            _ => assert_eq!(code, Some(0), "berth rm -f on a paused container"),
        }
        let _ = env.berth(&["rm", "-f", "p1"]);
    }
    // Exited: kill is refused as Docker refuses it; stop and rm -f succeed.
    env.ok(&["run", "--name", "x1", "bb", "true"]);
    let r = env.berth(&["kill", "x1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
    for verb in [&["stop", "x1"][..], &["rm", "-f", "x1"]] {
        let (code, survived) = in_own_group(&env, verb);
        assert!(survived);
        assert_eq!(code, Some(0), "berth {verb:?} on an exited container");
    }
    // Exiting: the init is gone, the shim not yet done; rm -f in the same instant is fine.
    env.ok(&["run", "-d", "--name", "e1", "bb", "sh", "-c", "sleep 0.2"]);
    std::thread::sleep(Duration::from_millis(200));
    let (code, survived) = in_own_group(&env, &["rm", "-f", "e1"]);
    assert!(survived);
    assert_eq!(code, Some(0));
    assert!(env.container_ids().is_empty());
}

/// The pid of the process that is `pid`'s parent.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn init_pid(env: &Env, name: &str) -> i32 {
    env.ok(&["inspect", "-f", "{{.State.Pid}}", name])
        .trim()
        .parse()
        .unwrap()
}

/// Pids in the container's pids cgroup, read from the host without any berth command.
fn cgroup_procs(id: &str) -> Vec<i32> {
    std::fs::read_to_string(format!("/sys/fs/cgroup/pids/berth/{id}/cgroup.procs"))
        .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/cgroup.procs")))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn a_killed_shim_is_restarted_by_the_next_command_by_policy() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "al",
        "--restart",
        "always",
        "bb",
        "sleep",
        "1000",
    ]);
    env.ok(&["run", "-d", "--name", "no", "bb", "sleep", "1000"]);
    let before = init_pid(&env, "al");
    for name in ["al", "no"] {
        let shim = parent_of(init_pid(&env, name));
        // SAFETY: SIGKILL to the shim this test's container runs under.
        unsafe { libc::kill(shim, libc::SIGKILL) };
    }
    std::thread::sleep(Duration::from_millis(100));
    // The next command repairs both and restarts the one whose policy says so.
    let ps = env.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.contains("al Up"), "{ps}");
    assert!(!ps.contains("no "), "{ps}");
    let after = init_pid(&env, "al");
    assert!(after > 0 && after != before);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.RestartCount}}", "al"]).trim(),
        "1"
    );
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "no"
        ])
        .trim(),
        "exited 137"
    );
}

#[test]
fn berth_serve_restarts_a_container_whose_shim_was_killed() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "unless-stopped",
            "bb",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let before = init_pid(&env, &id);
    let (cmd, socket) = env.serve_command();
    let serve = common::serve::Serve::start(cmd, socket);
    let shim = parent_of(before);
    // SAFETY: SIGKILL to the shim this test's container runs under.
    unsafe { libc::kill(shim, libc::SIGKILL) };
    // No berth command runs meanwhile: only the server can bring it back.
    // The new init runs the container's command (not one of the runtime's helpers).
    let restarted = || {
        cgroup_procs(&id).iter().any(|p| {
            *p != before
                && std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c == "sleep\n")
        })
    };
    wait_for(restarted, "berth serve to restart the container");
    drop(serve);
    assert_eq!(state(&env, &id), "running");
}

#[test]
fn bad_input_gets_docker_errors() {
    let env = required_env();
    env.image("bb", &[]);
    let r = env.berth(&["run", "--rm", "-w", "relative/dir", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains(
            "the working directory 'relative/dir' is invalid, it needs to be an absolute path"
        ),
        "{}",
        r.stderr
    );
    assert!(
        env.container_ids().is_empty(),
        "a refused run left a container"
    );
    // A random file given to import: an error without the file's bytes in it.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = env.with_stdin(&["import", "-", "junk"], &noise);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("tar"), "{}", r.stderr);
    assert!(
        r.stderr
            .chars()
            .all(|c| c == '\n' || c == ' ' || c.is_ascii_graphic()),
        "unprintable bytes in {:?}",
        r.stderr
    );
}
