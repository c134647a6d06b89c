//! A hostile process inside a default container (tests/hostile/probe.py, run by the host's
//! python with /usr bound read-only) tries what escapes and limit lifts are made of; each
//! attempt must fail as it fails under Docker's defaults.
mod common;

use std::collections::HashMap;

use common::Env;

const PROBE: &str = include_str!("hostile/probe.py");

/// Runs the probe in a container made with `flags`; returns its results by name.
fn probe(env: &Env, flags: &[&str]) -> HashMap<String, String> {
    let dir = env.root.parent().unwrap().join("probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.py"), PROBE).unwrap();
    let probe_mount = format!("{}:/probe:ro", dir.display());
    let host_pid = format!("HOST_PID={}", std::process::id());
    let mut args = vec![
        "run",
        "--rm",
        "-e",
        &host_pid,
        "-v",
        "/usr:/usr:ro",
        "-v",
        "/usr/lib:/lib:ro",
        "-v",
        "/usr/lib64:/lib64:ro",
        "-v",
        &probe_mount,
    ];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["bb", "/usr/bin/python3", "/probe/probe.py"]);
    let r = env.berth(&args);
    assert_eq!(r.code, 0, "probe failed: {}{}", r.stdout, r.stderr);
    r.stdout
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            (k.to_string(), v.trim().to_string())
        })
        .collect()
}

fn setup() -> Env {
    let env = common::required_env();
    common::require(
        common::have("/usr/bin/python3", "the probe is a python script"),
        "python3",
    );
    env.image("bb", &[]);
    env
}

/// `results[name]` must be `want` (an errno name, or "ok").
fn expect(results: &HashMap<String, String>, want: &[(&str, &str)]) {
    let wrong: Vec<String> = want
        .iter()
        .filter(|(name, errno)| results.get(*name).map(String::as_str) != Some(*errno))
        .map(|(name, errno)| format!("{name}: want {errno}, got {:?}", results.get(*name)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn assert_empty(results: &HashMap<String, String>, list: &str) {
    let value = results
        .get(list)
        .unwrap_or_else(|| panic!("no {list} in {results:?}"));
    assert!(value.is_empty(), "{list} {value}");
}

/// The cgroup mount is read-only in every hierarchy and shows only the container's own
/// cgroup: the limits stay as set, no new cgroup can be made anywhere (the host's
/// name=systemd tree included), and no release_agent is in reach.
fn assert_cgroups_locked(results: &HashMap<String, String>) {
    let files: usize = results["cgroup_files"].parse().unwrap();
    assert!(files > 20, "the cgroup mount shows only {files} files");
    assert_empty(results, "cgroup_writable:");
    assert_empty(results, "cgroup_mkdir:");
    assert_empty(results, "release_agent:");
    expect(
        results,
        &[
            ("write_pids_max", "EROFS"),
            ("read_pids_max", "50"),
            ("write_cfs_quota", "EROFS"),
            ("read_cfs_quota", "50000"),
            ("write_memory_limit", "EROFS"),
            ("read_memory_limit", "67108864"),
            ("mkdir_systemd", "EROFS"),
        ],
    );
    // Docker's containers sit in name=systemd:/docker/<id>; berth's in /berth/<id>, like
    // their controllers.
    let own = &results["cgroup_of_pids"];
    assert!(own.starts_with("/berth/"), "{own}");
    assert_eq!(results["cgroup_of_systemd"], *own);
}

#[test]
fn a_default_container_cannot_lift_limits_or_reach_the_host() {
    let env = setup();
    let limits = ["-m", "64m", "--pids-limit", "50", "--cpus", "0.5"];
    let results = probe(&env, &limits);
    assert_cgroups_locked(&results);
    assert_empty(&results, "proc_sys_writable:");
    assert_empty(&results, "sys_writable:");
    // Files some kernels do not have: read-only where they exist.
    for name in ["sysrq_trigger", "sys_uevent_helper"] {
        let got = &results[name];
        assert!(got == "EROFS" || got == "absent", "{name}: {got}");
    }
    // Docker's masked paths: files read as /dev/null, directories are empty.
    let masked = &results["masked:"];
    assert!(!masked.is_empty());
    assert!(masked.split(' ').all(|m| m.ends_with("=0")), "{masked}");
    expect(
        &results,
        &[
            ("core_pattern", "EROFS"),
            ("sys_mkdir", "EROFS"),
            ("mount_tmpfs", "EPERM"),
            ("remount_sys_rw", "EPERM"),
            ("remount_cgroup_rw", "EPERM"),
            ("umount_proc_sys", "EPERM"),
            // Docker keeps CAP_MKNOD; the device cgroup refuses the open.
            ("mknod_sda", "ok"),
            ("open_sda", "EPERM"),
            ("mknod_mem", "ok"),
            ("open_mem", "EPERM"),
            ("unshare_mount", "EPERM"),
            ("unshare_user", "EPERM"),
            ("unshare_net", "EPERM"),
            ("setns_host", "EPERM"),
            // The host's processes do not exist in the container's pid namespace.
            ("ptrace_host", "ESRCH"),
            ("kill_host", "ESRCH"),
            // Docker keeps CAP_NET_RAW by default.
            ("packet_socket", "ok"),
            ("raw_icmp_socket", "ok"),
            ("keyctl", "EPERM"),
            ("add_key", "EPERM"),
            ("open_by_handle_at", "EPERM"),
            ("init_module", "EPERM"),
            ("kexec_load", "EPERM"),
            ("bpf", "EPERM"),
            ("perf_event_open", "EPERM"),
            ("reboot", "EPERM"),
            ("swapon", "EPERM"),
            ("settimeofday", "EPERM"),
            ("sethostname", "EPERM"),
            ("pivot_root", "EPERM"),
            ("iopl", "EPERM"),
            ("syslog", "EPERM"),
            ("userfaultfd", "EPERM"),
        ],
    );
}

#[test]
fn raw_sockets_are_refused_where_docker_drops_net_raw() {
    let env = setup();
    let results = probe(&env, &["--cap-drop", "NET_RAW"]);
    expect(
        &results,
        &[("packet_socket", "EPERM"), ("raw_icmp_socket", "EPERM")],
    );
}

#[test]
fn cgroups_stay_locked_under_runc_too() {
    let env = setup();
    if !common::have("runc", "the --runtime runc backend") {
        panic!("this test cannot run here: the reason is said above");
    }
    let results = probe(
        &env,
        &[
            "--runtime",
            "runc",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
        ],
    );
    assert_cgroups_locked(&results);
}

#[test]
fn a_privileged_container_keeps_a_writable_cgroup_mount() {
    // Docker's --privileged: the cgroup mount is read-write, in the container's own cgroup.
    let env = setup();
    let r = env.berth(&[
        "run",
        "--rm",
        "--privileged",
        "bb",
        "sh",
        "-c",
        "mkdir /sys/fs/cgroup/pids/sub && rmdir /sys/fs/cgroup/pids/sub && echo made",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "made\n");
}
