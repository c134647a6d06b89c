//! `run` flags that reach the kernel directly: `--sysctl`, `--device`, `--shm-size`,
//! `--oom-score-adj`, `--memory-reservation`, `--oom-kill-disable`, `--cpu-period/quota`. What
//! the container sees, and the refusals of what would change the host (nothing created).
mod common;

use common::{cgroup_dirs, required_env};

fn read_in(env: &common::Env, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    args.extend(["bb", "sh", "-c", script]);
    env.ok(&args).trim().to_string()
}

#[test]
fn namespaced_sysctls_are_set_inside_only() {
    let env = required_env();
    env.image("bb", &[]);
    let host_shmmax = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    let seen = read_in(
        &env,
        &[
            "--sysctl",
            "kernel.shmmax=1048576",
            "--sysctl",
            "net.ipv4.tcp_syncookies=0",
        ],
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_syncookies",
    );
    assert_eq!(seen, "1048576\n0");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(),
        host_shmmax,
        "the host's value changed"
    );
}

#[test]
fn sysctls_that_would_change_the_host_are_refused_and_nothing_is_created() {
    let env = required_env();
    env.image("bb", &[]);
    for (flags, words) in [
        (
            vec!["--sysctl", "kernel.core_pattern=|/tmp/x"],
            "not allowed",
        ),
        (
            vec!["--network", "host", "--sysctl", "net.ipv4.ip_forward=0"],
            "host network namespace",
        ),
        (
            vec!["--ipc", "host", "--sysctl", "kernel.shmmax=1"],
            "host IPC namespace",
        ),
        (vec!["--sysctl", "justaname"], "is not allowed"),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags.iter().copied());
        args.extend(["bb", "true"]);
        let r = env.berth(&args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert!(
        env.container_ids().is_empty(),
        "a refused run left a container"
    );
}

#[test]
fn devices_appear_with_their_permissions() {
    let env = required_env();
    env.image("bb", &[]);
    let seen = read_in(
        &env,
        &["--device", "/dev/zero:/dev/myzero"],
        "head -c 3 /dev/myzero | od -An -tx1",
    );
    assert_eq!(seen, "00 00 00");
    // loop-control (c 10:237) is outside Docker's default rules: the device's own
    // permissions decide whether it opens for writing.
    let open_for_write = "(exec 3>/dev/lc) 2>/dev/null && echo opened || echo refused";
    assert_eq!(
        read_in(
            &env,
            &["--device", "/dev/loop-control:/dev/lc:r"],
            open_for_write
        ),
        "refused"
    );
    assert_eq!(
        read_in(
            &env,
            &["--device", "/dev/loop-control:/dev/lc:rw"],
            open_for_write
        ),
        "opened"
    );
    // Without the flag the node is not there.
    assert_eq!(
        read_in(&env, &[], "test -e /dev/myzero || echo absent"),
        "absent"
    );
    let r = env.berth(&["run", "--rm", "--device", "/dev/nope", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("/dev/nope"), "{}", r.stderr);
    let r = env.berth(&["run", "--rm", "--device", "/dev/zero:/d:x", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("invalid device mode: x"), "{}", r.stderr);
    assert!(env.container_ids().is_empty());
}

#[test]
fn shm_size_and_oom_score_adj_are_what_the_process_sees() {
    let env = required_env();
    env.image("bb", &[]);
    // df's 1K-blocks of /dev/shm.
    let size = |flags: &[&str]| read_in(&env, flags, "df -k /dev/shm | tail -1 | awk '{print $2}'");
    assert_eq!(size(&[]), "65536");
    assert_eq!(size(&["--shm-size", "16m"]), "16384");
    assert_eq!(size(&["--shm-size", "8m", "--ipc", "shareable"]), "8192");
    assert_eq!(
        read_in(
            &env,
            &["--oom-score-adj", "500"],
            "cat /proc/self/oom_score_adj"
        ),
        "500"
    );
    let r = env.berth(&["run", "--rm", "--oom-score-adj", "1001", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("range for oom score adj"), "{}", r.stderr);
    let r = env.berth(&["run", "--rm", "--shm-size", "-1", "bb", "true"]);
    assert_ne!(r.code, 0);
}

#[test]
fn memory_reservation_and_cfs_quota_reach_the_cgroup() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--memory-reservation",
            "32m",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "bb",
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    let read = |file: &str| {
        cgroup_dirs(&id)
            .iter()
            .find_map(|d| std::fs::read_to_string(d.join(file)).ok())
            .unwrap_or_else(|| panic!("no cgroup of {id} has {file}"))
            .trim()
            .to_string()
    };
    assert_eq!(
        read("memory.soft_limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    assert_eq!(read("cpu.cfs_period_us"), "50000");
    assert_eq!(read("cpu.cfs_quota_us"), "25000");
    let inspect = env.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.MemoryReservation}} {{.HostConfig.CpuQuota}}",
        &id,
    ]);
    assert_eq!(inspect.trim(), format!("{} 25000", 32u64 << 20));
    let r = env.berth(&[
        "run",
        "--rm",
        "-m",
        "16m",
        "--memory-reservation",
        "32m",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("memory reservation"), "{}", r.stderr);
    env.ok(&["rm", "-f", &id]);
}
