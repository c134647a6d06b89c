//! `run` options that reach the kernel: capabilities, seccomp, rlimits, cgroup limits, init,
//! stop signals, restart policies, labels and filters. Through the `berth` binary, as root.
mod common;

use common::{required_env, wait_for};

fn status_field(env: &common::Env, args: &[&str], field: &str) -> String {
    let mut full = vec!["run", "--rm"];
    full.extend_from_slice(args);
    full.extend(["bb", "grep", field, "/proc/self/status"]);
    env.ok(&full)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn capabilities_follow_cap_add_cap_drop_and_privileged() {
    let env = required_env();
    env.image("bb", &[]);
    assert_eq!(status_field(&env, &[], "CapEff"), "00000000a80425fb");
    assert_eq!(
        status_field(&env, &["--cap-drop", "ALL"], "CapEff"),
        "0000000000000000"
    );
    // NET_ADMIN is bit 12.
    assert_eq!(
        status_field(&env, &["--cap-add", "NET_ADMIN"], "CapEff"),
        "00000000a80435fb"
    );
    assert_eq!(
        status_field(
            &env,
            &["--cap-drop", "chown", "--cap-drop", "CAP_KILL"],
            "CapEff"
        ),
        "00000000a80425da"
    );
    let r = env.berth(&["run", "--rm", "--cap-add", "NOT_A_CAP", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // Privileged: every capability this process holds, and mount works.
    // SAFETY: reading our own capability set through /proc.
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ours = ours
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(status_field(&env, &["--privileged"], "CapEff"), ours);
    env.ok(&[
        "run",
        "--rm",
        "--privileged",
        "bb",
        "sh",
        "-c",
        "mkdir -p /mnt && mount -t tmpfs none /mnt",
    ]);
    let r = env.berth(&[
        "run",
        "--rm",
        "bb",
        "sh",
        "-c",
        "mkdir -p /mnt && mount -t tmpfs none /mnt",
    ]);
    assert_ne!(r.code, 0);
}

#[test]
fn security_opts_apply() {
    let env = required_env();
    env.image("bb", &[]);
    assert_eq!(status_field(&env, &[], "NoNewPrivs"), "0");
    assert_eq!(
        status_field(&env, &["--security-opt", "no-new-privileges"], "NoNewPrivs"),
        "1"
    );
    assert_eq!(status_field(&env, &[], "Seccomp:"), "2");
    assert_eq!(
        status_field(&env, &["--security-opt", "seccomp=unconfined"], "Seccomp:"),
        "0"
    );
    // The default profile refuses unshare without CAP_SYS_ADMIN.
    let r = env.berth(&[
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "--security-opt",
        "seccomp=unconfined",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A profile file: allow everything but mkdir/mkdirat.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let r = env.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "bb",
        "sh",
        "-c",
        "mkdir /tmp/x",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Operation not permitted"), "{}", r.stderr);
    std::fs::write(&profile, "{not json").unwrap();
    let r = env.berth(&["run", "--rm", "--security-opt", &opt, "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(env.container_ids().is_empty(), "{:?}", env.container_ids());
}

/// A container's cgroup file: the v1 path (under /sys/fs/cgroup) or the v2 file name.
fn cgroup_file(id: &str, v1: &str, v2: &str) -> String {
    std::fs::read_to_string(format!("/sys/fs/cgroup/{v1}"))
        .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/{v2}")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn ulimits_and_cgroup_limits_apply() {
    let env = required_env();
    env.image("bb", &[]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=100:200",
            "bb",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn"
        ]),
        "100\n200\n"
    );
    let r = env.berth(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=1:99999999999",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("hard limit"), "{}", r.stderr);
    let id = env.ok(&[
        "run",
        "-d",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "7",
        "bb",
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let read = |v1: &str, v2: &str| cgroup_file(id, v1, v2);
    let quota = read(&format!("cpu/berth/{id}/cpu.cfs_quota_us"), "cpu.max");
    assert!(quota == "50000" || quota.starts_with("50000 "), "{quota}");
    let shares = read(&format!("cpu/berth/{id}/cpu.shares"), "cpu.weight");
    // v1 shares, or the v2 weight runc's conversion gives for 512 shares.
    assert!(shares == "512" || shares == "20", "{shares}");
    let pids = read(&format!("pids/berth/{id}/pids.max"), "pids.max");
    assert_eq!(pids, "7");
    // The pids limit holds inside.
    let r = env.berth(&[
        "exec",
        id,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.3 & done; wait",
    ]);
    assert!(
        r.stderr.contains("fork")
            || r.stderr.contains("Resource temporarily unavailable")
            || r.code != 0,
        "{}",
        r.stderr
    );
    let stats = env.ok(&["stats", "--no-stream", id]);
    assert!(stats.starts_with("CONTAINER ID"), "{stats}");
    assert!(stats.contains(&id[..12]), "{stats}");
    env.ok(&["rm", "-f", id]);
}

#[test]
fn memory_limit_shows_in_stats() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run", "-d", "--name", "mem", "-m", "64m", "bb", "sleep", "100",
    ]);
    let stats = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
        "mem",
    ]);
    assert!(stats.starts_with("mem "), "{stats}");
    assert!(stats.contains("/ 64MiB"), "{stats}");
    assert!(stats.trim().ends_with(" 1"), "{stats}");
}

#[test]
fn init_reaps_and_is_pid_one() {
    let env = required_env();
    if !std::path::Path::new("/usr/bin/tini-static").exists() {
        common::cannot_run("tini not installed");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let out = env.ok(&["run", "--rm", "--init", "bb", "ps", "-o", "pid,args"]);
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("1 /sbin/docker-init")),
        "{out}"
    );
}

#[test]
fn stop_signal_and_timeout_are_used() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "sig",
        "--stop-signal",
        "USR1",
        "bb",
        "sh",
        "-c",
        "trap 'exit 42' USR1; echo ready; while true; do sleep 0.1; done",
    ]);
    // PID 1 ignores signals it has no handler for: stop only once the trap is set.
    wait_for(|| env.ok(&["logs", "sig"]) == "ready\n", "the trap");
    env.ok(&["stop", "sig"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.ExitCode}}", "sig"]),
        "42\n"
    );
    // A container that ignores SIGTERM is killed after --stop-timeout.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--stop-timeout",
        "1",
        "bb",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    let started = std::time::Instant::now();
    env.ok(&["stop", "stubborn"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.ExitCode}}", "stubborn"]),
        "137\n"
    );
    let r = env.berth(&["kill", "-s", "NOTASIG", "stubborn"]);
    assert_eq!(r.code, 1);
}

#[test]
fn restart_always_stops_when_stopped() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "bb",
        "sh",
        "-c",
        "sleep 0.2; exit 1",
    ]);
    wait_for(
        || {
            env.ok(&["inspect", "-f", "{{.RestartCount}}", "loop"])
                .trim()
                .parse::<i32>()
                .unwrap_or(0)
                >= 2
        },
        "restarts",
    );
    env.ok(&["stop", "-t", "1", "loop"]);
    let count = env.ok(&["inspect", "-f", "{{.RestartCount}}", "loop"]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "loop"]),
        "exited\n"
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.RestartCount}}", "loop"]),
        count
    );
    let r = env.berth(&["run", "--rm", "--restart", "always", "bb", "true"]);
    assert_eq!(r.code, 125);
    let r = env.berth(&["run", "--restart", "sometimes", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("sometimes"), "{}", r.stderr);
}

#[test]
fn labels_filters_and_formats() {
    let env = required_env();
    env.image("bb", &[]);
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n").unwrap();
    env.ok(&[
        "run", "-d", "--name", "alpha", "-l", "tier=web", "bb", "sleep", "100",
    ]);
    env.ok(&[
        "run",
        "--name",
        "beta",
        "-l",
        "tier=db",
        "--env-file",
        env_file.to_str().unwrap(),
        "bb",
        "sh",
        "-c",
        "echo $FROM_FILE",
    ]);
    assert_eq!(env.ok(&["logs", "beta"]), "yes\n");
    assert_eq!(env.ok(&["ps", "--format", "{{.Names}}"]), "alpha\n");
    assert_eq!(
        env.ok(&[
            "ps",
            "-a",
            "--filter",
            "label=tier=db",
            "--format",
            "{{.Names}}"
        ]),
        "beta\n"
    );
    assert_eq!(
        env.ok(&[
            "ps",
            "-a",
            "--filter",
            "status=exited",
            "--format",
            "{{.Names}} {{.Status}}"
        ])
        .split(" Exited")
        .next(),
        Some("beta")
    );
    assert_eq!(
        env.ok(&["ps", "-a", "--filter", "name=alp", "-q"])
            .trim()
            .len(),
        12
    );
    let table = env.ok(&["ps", "-a", "--format", "table {{.Names}}\t{{.Labels}}"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("NAMES"), "{table}");
    assert_eq!(lines.count(), 2);
    let inspect: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "alpha"])).unwrap();
    let doc = &inspect[0];
    assert_eq!(doc["Name"], "/alpha");
    assert_eq!(doc["Config"]["Labels"]["tier"], "web");
    assert_eq!(doc["Config"]["Image"], "bb");
    assert_eq!(doc["State"]["Running"], true);
    assert!(doc["State"]["Pid"].as_i64().unwrap() > 0);
    assert_eq!(doc["HostConfig"]["RestartPolicy"]["Name"], "no");
    assert!(doc["Mounts"].is_array());
    assert!(doc["Id"].as_str().unwrap().len() == 64);
    let r = env.berth(&["inspect", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("No such object: nosuch"), "{}", r.stderr);
}

#[test]
fn oom_kill_is_reported() {
    let env = required_env();
    env.image("bb", &[]);
    // Without swap, 8 MiB of memory cannot hold a 64 MiB string.
    let r = env.berth(&[
        "run",
        "--name",
        "hog",
        "-m",
        "8m",
        "--memory-swap",
        "8m",
        "bb",
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}",
    ]);
    assert_eq!(r.code, 137, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "hog"
        ]),
        "true 137\n"
    );
}

#[test]
fn update_changes_the_live_cgroup_and_the_record() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "7",
        "bb",
        "sleep",
        "600",
    ]);
    let id = id.trim();
    let read = |v1: &str, v2: &str| cgroup_file(id, v1, v2);
    let memory = || {
        read(
            &format!("memory/berth/{id}/memory.limit_in_bytes"),
            "memory.max",
        )
    };
    let quota = || read(&format!("cpu/berth/{id}/cpu.cfs_quota_us"), "cpu.max");
    let pids = || read(&format!("pids/berth/{id}/pids.max"), "pids.max");
    assert_eq!(memory(), (64u64 << 20).to_string());
    let out = env.ok(&[
        "update",
        "--memory",
        "128m",
        "--cpus",
        "1",
        "--cpu-shares",
        "256",
        "--pids-limit",
        "20",
        "--restart",
        "unless-stopped",
        id,
    ]);
    assert_eq!(out.trim(), id);
    let check = || {
        assert_eq!(memory(), (128u64 << 20).to_string());
        let q = quota();
        assert!(q == "100000" || q.starts_with("100000 "), "{q}");
        let shares = read(&format!("cpu/berth/{id}/cpu.shares"), "cpu.weight");
        assert!(shares == "256" || shares == "10", "{shares}");
        assert_eq!(pids(), "20");
        let hc = env.ok(&[
            "inspect", "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}",
            id,
        ]);
        assert_eq!(
            hc.trim(),
            format!("{} 1000000000 20 unless-stopped", 128u64 << 20)
        );
    };
    check();
    // The record keeps them: a restart makes the same cgroup.
    env.ok(&["restart", "-t", "0", id]);
    check();
    // -1 is unlimited. A CFS quota beside --cpus, or too little memory, is refused and
    // changes nothing.
    env.ok(&["update", "--pids-limit", "-1", id]);
    assert_eq!(pids(), "max");
    let r = env.berth(&["update", "--cpu-quota", "50000", id]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--cpu-period/--cpu-quota"),
        "{}",
        r.stderr
    );
    let q = quota();
    assert!(q == "100000" || q.starts_with("100000 "), "{q}");
    let r = env.berth(&["update", "--memory", "1k", id]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("6MB"), "{}", r.stderr);
    assert_eq!(memory(), (128u64 << 20).to_string());
    let r = env.berth(&["update", "--memory", "64m", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );

    // Quota and period on a container without --cpus.
    let other = env.ok(&["run", "-d", "--network", "none", "bb", "sleep", "600"]);
    let other = other.trim();
    env.ok(&[
        "update",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        other,
    ]);
    assert_eq!(
        cgroup_file(
            other,
            &format!("cpu/berth/{other}/cpu.cfs_period_us"),
            "cpu.max"
        )
        .split_whitespace()
        .last()
        .unwrap_or(""),
        "50000"
    );
    let q = cgroup_file(
        other,
        &format!("cpu/berth/{other}/cpu.cfs_quota_us"),
        "cpu.max",
    );
    assert!(q == "25000" || q.starts_with("25000 "), "{q}");
}

#[test]
fn update_of_the_restart_policy_reaches_the_running_containers_shim() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "flaky",
        "bb",
        "sh",
        "-c",
        "sleep 1; exit 3",
    ]);
    env.ok(&["update", "--restart", "on-failure:2", "flaky"]);
    wait_for(
        || {
            env.ok(&[
                "inspect",
                "-f",
                "{{.RestartCount}} {{.State.Status}}",
                "flaky",
            ])
            .trim()
                == "2 exited"
        },
        "two restarts, then exited",
    );
    let r = env.berth(&["update", "--restart", "sometimes", "flaky"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("sometimes"), "{}", r.stderr);
}
