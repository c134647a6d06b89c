//! End-to-end tests of the container lifecycle through the `berth` binary, as root.
mod common;

use common::{cgroup_dirs, required_env, wait_for};

#[test]
fn run_keeps_streams_apart_and_passes_the_exit_code() {
    let env = required_env();
    env.image("bb", &[]);
    let r = env.berth(&[
        "run",
        "--rm",
        "bb",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(r.stdout, "out\n");
    assert_eq!(r.stderr, "err\n");
    assert!(env.container_ids().is_empty(), "--rm left a container");
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn container_has_its_own_namespaces_and_hostname() {
    let env = required_env();
    env.image("bb", &[]);
    let out = env.ok(&[
        "run",
        "--rm",
        "--hostname",
        "boxy",
        "bb",
        "sh",
        "-c",
        "echo $$; hostname; ls /proc/1/exe >/dev/null && echo ok",
    ]);
    assert_eq!(out, "1\nboxy\nok\n");
    // Only loopback in the network namespace.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), vec!["lo"]);
    // Docker's default capability set: CapEff = 0x00000000a80425fb.
    let out = env.ok(&["run", "--rm", "bb", "grep", "CapEff", "/proc/self/status"]);
    assert!(out.contains("00000000a80425fb"), "{out}");
    // Docker's default seccomp profile is loaded.
    let out = env.ok(&["run", "--rm", "bb", "grep", "Seccomp:", "/proc/self/status"]);
    assert!(out.contains('2'), "{out}");
}

#[test]
fn stdin_is_passed_with_i() {
    let env = required_env();
    env.image("bb", &[]);
    let r = env.with_stdin(&["run", "-i", "--rm", "bb", "cat"], b"hello\nworld\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "hello\nworld\n");
}

#[test]
fn bad_input_gets_docker_exit_codes_and_leaves_nothing() {
    let env = required_env();
    env.image("bb", &[]);
    let r = env.berth(&["run", "--rm", "bb", "nosuchcmd"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found"),
        "{}",
        r.stderr
    );
    let r = env.berth(&["run", "--rm", "bb", "/etc/passwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    let r = env.berth(&["run", "--rm", "nosuchimage", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("No such image: nosuchimage"),
        "{}",
        r.stderr
    );
    let r = env.berth(&["run", "--rm", "-m", "12zz", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("12zz"), "{}", r.stderr);
    let r = env.berth(&["run", "--rm", "-u", "nobody", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("unable to find user nobody"),
        "{}",
        r.stderr
    );
    assert!(
        env.container_ids().is_empty(),
        "left: {:?}",
        env.container_ids()
    );
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn detached_container_lifecycle() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-e",
        "GREETING=hi",
        "bb",
        "sh",
        "-c",
        "echo started; echo oops >&2; exec sleep 100",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64);
    assert_eq!(
        env.ok(&["ps", "--format", "{{.Names}} {{.State}}"]),
        "web running\n"
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}} {{.Name}}", "web"]),
        "running /web\n"
    );
    assert_eq!(
        env.ok(&["exec", "web", "sh", "-c", "echo $GREETING"]),
        "hi\n"
    );
    assert_eq!(env.berth(&["exec", "web", "sh", "-c", "exit 3"]).code, 3);
    wait_for(|| env.berth(&["logs", "web"]).stdout == "started\n", "logs");
    let logs = env.berth(&["logs", "web"]);
    assert_eq!(logs.stderr, "oops\n");
    let top = env.ok(&["top", "web"]);
    assert!(top.contains("sleep 100"), "{top}");
    // Removing a running container needs -f.
    let r = env.berth(&["rm", "web"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("Stop the container before attempting removal"),
        "{}",
        r.stderr
    );
    env.ok(&["pause", "web"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "web"]),
        "paused\n"
    );
    env.ok(&["unpause", "web"]);
    env.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "web"
        ]),
        "exited 137\n"
    );
    assert!(env.ok(&["ps", "-a"]).contains("Exited (137)"));
    env.ok(&["rename", "web", "web2"]);
    env.ok(&["start", "web2"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Running}}", "web2"]),
        "true\n"
    );
    env.ok(&["kill", "web2"]);
    assert_eq!(env.ok(&["wait", "web2"]), "137\n");
    env.ok(&["rm", "web2"]);
    assert!(env.container_ids().is_empty());
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
    assert!(
        cgroup_dirs(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs(id)
    );
}

#[test]
fn names_are_unique_even_when_racing() {
    let env = required_env();
    env.image("bb", &[]);
    let a = env
        .cmd(&["create", "--name", "xy", "bb", "true"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = env
        .cmd(&["create", "--name", "xy", "bb", "true"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b): (common::Run, common::Run) = (
        a.wait_with_output().unwrap().into(),
        b.wait_with_output().unwrap().into(),
    );
    assert_eq!(
        [a.code, b.code].iter().filter(|c| **c == 0).count(),
        1,
        "{} / {}",
        a.stderr,
        b.stderr
    );
    let loser = if a.code == 0 { &b } else { &a };
    assert!(
        loser.stderr.contains("is already in use"),
        "{}",
        loser.stderr
    );
    assert_eq!(env.container_ids().len(), 1);
}

#[test]
fn killed_shim_is_repaired_by_the_next_command() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["run", "-d", "--name", "victim", "bb", "sleep", "100"]);
    let pid: i32 = env
        .ok(&["inspect", "-f", "{{.State.Pid}}", "victim"])
        .trim()
        .parse()
        .unwrap();
    // The shim is the container init's parent.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: i32 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the shim we just found.
    unsafe { libc::kill(ppid, libc::SIGKILL) };
    wait_for(
        || env.ok(&["inspect", "-f", "{{.State.Status}}", "victim"]) == "exited\n",
        "repair",
    );
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(" Z ")
    );
    env.ok(&["rm", "victim"]);
}

#[test]
fn image_defaults_and_user_flags_apply() {
    let env = required_env();
    env.image(
        "cfg:1",
        &[
            "ENV WHO=world",
            "WORKDIR /srv",
            "CMD [\"sh\", \"-c\", \"echo hello $WHO from $(pwd)\"]",
        ],
    );
    assert_eq!(env.ok(&["run", "--rm", "cfg:1"]), "hello world from /srv\n");
    assert_eq!(
        env.ok(&["run", "--rm", "-e", "WHO=you", "-w", "/tmp", "cfg:1"]),
        "hello you from /tmp\n"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "-u", "alice", "cfg:1", "id"]),
        "uid=1000(alice) gid=1000(alice) groups=50(staff)\n"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "-u", "1234:5", "cfg:1", "id", "-u"]),
        "1234\n"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "--entrypoint", "echo", "cfg:1", "a", "b"]),
        "a b\n"
    );
    let images = env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images, "cfg:1\n");
    env.ok(&["tag", "cfg:1", "other"]);
    assert_eq!(
        env.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Config.WorkingDir}} {{.RepoTags}}",
            "other"
        ]),
        "/srv [cfg:1 other:latest]\n"
    );
    let r = env.ok(&["rmi", "other"]);
    assert_eq!(r, "Untagged: other:latest\n");
}

#[test]
fn limits_reach_the_cgroup_and_read_only_rootfs_holds() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "run",
        "-d",
        "-m",
        "64m",
        "--pids-limit",
        "20",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "bb",
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let mem = ["/sys/fs/cgroup/memory/berth", "/sys/fs/cgroup/berth"]
        .iter()
        .find_map(|base| {
            std::fs::read_to_string(format!("{base}/{id}/memory.limit_in_bytes"))
                .or_else(|_| std::fs::read_to_string(format!("{base}/{id}/memory.max")))
                .ok()
        })
        .unwrap();
    assert_eq!(mem.trim(), "67108864");
    let r = env.berth(&["exec", id, "touch", "/x"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only"), "{}", r.stderr);
    env.ok(&["exec", id, "touch", "/tmp/x"]);
    env.ok(&["rm", "-f", id]);
    assert!(
        cgroup_dirs(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs(id)
    );
}

#[test]
fn restart_policy_on_failure_retries() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "bb",
        "sh",
        "-c",
        "echo try; exit 3",
    ]);
    wait_for(
        || env.ok(&["inspect", "-f", "{{.State.Status}}", "flaky"]) == "exited\n",
        "restarts to end",
    );
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.ExitCode}}",
            "flaky"
        ]),
        "2 3\n"
    );
    assert_eq!(env.ok(&["logs", "flaky"]), "try\ntry\ntry\n");
}

#[test]
fn concurrent_runs_all_succeed() {
    let env = required_env();
    env.image("bb", &[]);
    let children: Vec<_> = (0..100)
        .map(|i| {
            env.cmd(&["run", "--rm", "bb", "sh", "-c", &format!("echo {i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let r: common::Run = child.wait_with_output().unwrap().into();
        assert_eq!(r.code, 0, "run {i}: {}", r.stderr);
        assert_eq!(r.stdout, format!("{i}\n"));
    }
    assert!(env.container_ids().is_empty());
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn external_runtime_runc_works() {
    let env = required_env();
    if !std::path::Path::new("/usr/sbin/runc").exists()
        && !std::path::Path::new("/usr/bin/runc").exists()
    {
        common::cannot_run("runc not installed");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let r = env.berth(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "bb",
        "sh",
        "-c",
        "echo via runc; exit 4",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout, "via runc\n");
    let r = env.berth(&["run", "--rm", "--runtime", "nosuchruntime", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(env.container_ids().is_empty());
}

#[test]
fn flags_after_the_image_belong_to_the_command() {
    let env = required_env();
    env.image("bb", &[]);
    assert_eq!(
        env.ok(&["run", "--rm", "bb", "echo", "--rm", "-d"]),
        "--rm -d\n"
    );
}

#[test]
fn rm_leaves_no_shim_and_restart_restarts() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&["run", "-d", "--name", "r1", "bb", "sleep", "100"]);
    let id = id.trim().to_string();
    let shim_running = |id: &str| {
        std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(&format!("shim {id}"))
                })
                .unwrap_or(false)
        })
    };
    assert!(shim_running(&id));
    let pid1 = env.ok(&["inspect", "-f", "{{.State.Pid}}", "r1"]);
    env.ok(&["restart", "-t", "0", "r1"]);
    let pid2 = env.ok(&["inspect", "-f", "{{.State.Pid}}", "r1"]);
    assert_ne!(pid1, pid2);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "r1"]),
        "running\n"
    );
    env.ok(&["rm", "-f", "r1"]);
    wait_for(|| !shim_running(&id), "the shim to exit");
    assert!(env.mounts().is_empty());
    assert!(!env.run.join("containers").join(&id).exists());
    assert!(!env.root.join("containers").join(&id).exists());
}

#[test]
fn docker_default_devices_and_masked_paths() {
    let env = required_env();
    env.image("bb", &[]);
    let devs = env.ok(&["run", "--rm", "bb", "ls", "/dev"]);
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx",
    ] {
        assert!(
            devs.split_whitespace().any(|x| x == d),
            "/dev/{d} missing: {devs}"
        );
    }
    // Masked: /proc/interrupts reads as empty (the host's has content); read-only: /proc/sys
    // refuses writes.
    assert!(
        !std::fs::read_to_string("/proc/interrupts")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        env.ok(&["run", "--rm", "bb", "sh", "-c", "wc -c < /proc/interrupts"])
            .trim(),
        "0"
    );
    let r = env.berth(&[
        "run",
        "--rm",
        "bb",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/domainname",
    ]);
    assert_ne!(r.code, 0);
    // Writing to a device outside the allowed list is refused by the device cgroup.
    let r = env.berth(&[
        "run",
        "--rm",
        "--cap-add",
        "MKNOD",
        "bb",
        "sh",
        "-c",
        "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda",
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
}

#[test]
fn memory_swap_reaches_the_cgroup() {
    let env = required_env();
    if !std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        && !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    {
        common::cannot_run("no swap accounting");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let id = env.ok(&[
        "run",
        "-d",
        "-m",
        "32m",
        "--memory-swap",
        "64m",
        "bb",
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let v1 = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.memsw.limit_in_bytes"
    ));
    let v2 = std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/memory.swap.max"));
    match (v1, v2) {
        (Ok(v), _) => assert_eq!(v.trim(), "67108864"),
        (_, Ok(v)) => assert_eq!(v.trim(), "33554432"),
        _ => panic!("no swap limit file"),
    }
    let r = env.berth(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--memory-swap",
        "32m",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125);
    env.ok(&["rm", "-f", id]);
}

#[test]
fn images_import_from_file_and_rmi_rules() {
    let env = required_env();
    env.image("bb", &[]);
    // Import from a file path, with a message.
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("rootfs.tar");
    std::fs::create_dir_all(dir.path().join("root/bin")).unwrap();
    std::fs::copy(
        common::busybox().unwrap(),
        dir.path().join("root/bin/busybox"),
    )
    .unwrap();
    std::os::unix::fs::symlink("busybox", dir.path().join("root/bin/sh")).unwrap();
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir.path().join("root"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let id = env.ok(&[
        "import",
        "-m",
        "from a file",
        tar.to_str().unwrap(),
        "filed:v1",
    ]);
    assert!(id.starts_with("sha256:"));
    assert_eq!(
        env.ok(&["image", "inspect", "-f", "{{.Comment}}", "filed:v1"]),
        "from a file\n"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "filed:v1", "sh", "-c", "echo imported"]),
        "imported\n"
    );
    // An image used by a container cannot be removed without -f.
    env.ok(&["create", "--name", "user", "filed:v1", "sh"]);
    let r = env.berth(&["rmi", "filed:v1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is using its referenced image"),
        "{}",
        r.stderr
    );
    env.ok(&["rm", "user"]);
    let out = env.ok(&["rmi", "filed:v1"]);
    assert!(
        out.contains("Untagged: filed:v1") && out.contains("Deleted: sha256:"),
        "{out}"
    );
    assert_eq!(env.ok(&["images", "-q"]).lines().count(), 1);
    let r = env.berth(&["rmi", "filed:v1"]);
    assert!(r.stderr.contains("No such image"), "{}", r.stderr);
    let r = env.berth(&["import", "/nonexistent.tar"]);
    assert_eq!(r.code, 1);
    let r = env.berth(&["import", "--change", "RUN true", tar.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("RUN"), "{}", r.stderr);
}

#[test]
fn concurrent_starts_make_one_shim() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&["create", "bb", "sleep", "100"]);
    let id = id.trim();
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.cmd(&["start", id])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let r: common::Run = child.wait_with_output().unwrap().into();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", id]),
        "running\n"
    );
    // Processes running `berth shim ID`, not counting the container's init, which starts as a
    // clone of its shim and may not have exec'd yet.
    let shims: Vec<(String, String)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(&format!("shim {id}"))
                })
                .unwrap_or(false)
        })
        .filter_map(|p| {
            let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
            let ppid = stat[stat.rfind(')')? + 2..]
                .split_whitespace()
                .nth(1)?
                .to_string();
            Some((p.file_name().to_string_lossy().into_owned(), ppid))
        })
        .collect();
    let roots = shims
        .iter()
        .filter(|(_, ppid)| !shims.iter().any(|(pid, _)| pid == ppid))
        .count();
    assert_eq!(roots, 1, "{shims:?}");
    env.ok(&["rm", "-f", id]);
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn a_failed_start_removes_an_rm_container_however_it_was_started() {
    let env = required_env();
    env.image("bb", &[]);
    // run -d: the detached start fails the same way as an attached one.
    let r = env.berth(&["run", "-d", "--rm", "bb", "nosuchcmd"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        env.container_ids().is_empty(),
        "left: {:?}",
        env.container_ids()
    );
    // create --rm, then start: removed with its anonymous volume, as dockerd does.
    let id = env.ok(&["create", "--rm", "-v", "/data", "bb", "nosuchcmd"]);
    let r = env.berth(&["start", id.trim()]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        env.container_ids().is_empty(),
        "left: {:?}",
        env.container_ids()
    );
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "");
    // Without --rm the container stays, for `logs` and `inspect`.
    let id = env.ok(&["create", "bb", "nosuchcmd"]);
    assert_ne!(env.berth(&["start", id.trim()]).code, 0);
    assert_eq!(env.container_ids(), [id.trim().to_string()]);
    env.ok(&["rm", id.trim()]);
    assert!(env.mounts().is_empty(), "mounts left: {:?}", env.mounts());
}

#[test]
fn stats_no_stream_shows_the_engines_sample() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
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
    let out = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.PIDs}}",
        "busy",
    ]);
    let fields: Vec<&str> = out.trim().split('|').collect();
    assert_eq!(fields.len(), 5, "{out}");
    assert_eq!(fields[0], "busy");
    let cpu: f64 = fields[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 5.0, "{out}");
    assert!(!fields[2].starts_with("0B"), "{out}");
    assert_eq!(fields[3], "0B / 0B", "{out}");
    assert_eq!(fields[4], "1", "{out}");
    env.ok(&["rm", "-f", "busy"]);
}
