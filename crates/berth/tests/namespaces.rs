//! Namespaces and pinned resources, as dockerd applies and echoes them: `--pid`, `--ipc`,
//! `--uts`, `--cgroupns`, `--userns` (host, private, `container:X`), `--group-add`,
//! `--device-cgroup-rule`, `--cpuset-*`, `--memory-swappiness`, `--memory-swap`, `--runtime`.
//! Through the `berth` CLI, and through `berth serve` driven by the real docker CLI.
mod common;

use common::http::http;
use std::process::{Command, Stdio};

use common::{Env, Run, required_env};

const DOCKER: &str = "/usr/local/bin/docker";

/// `readlink /proc/self/ns/KIND` of this (the host's) process.
fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `readlink /proc/self/ns/KIND` in a new container with `flags`.
fn run_ns(env: &Env, flags: &[&str], kind: &str) -> String {
    let path = format!("/proc/self/ns/{kind}");
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend(["bb", "busybox", "readlink", &path]);
    env.ok(&args).trim().to_string()
}

/// `readlink /proc/self/ns/KIND` in running container `name`.
fn exec_ns(env: &Env, name: &str, kind: &str) -> String {
    let path = format!("/proc/self/ns/{kind}");
    env.ok(&["exec", name, "busybox", "readlink", &path])
        .trim()
        .to_string()
}

fn inspect(env: &Env, name: &str, format: &str) -> String {
    env.ok(&["inspect", "--format", format, name])
        .trim()
        .to_string()
}

fn refused(r: &Run, message: &str) {
    assert_eq!(r.code, 125, "stdout {} stderr {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(message),
        "{message:?} not in {}",
        r.stderr
    );
}

#[test]
fn pid_host_and_container_share_the_namespace() {
    let env = required_env();
    env.image("bb", &[]);
    assert_eq!(run_ns(&env, &["--pid", "host"], "pid"), host_ns("pid"));
    assert_ne!(run_ns(&env, &[], "pid"), host_ns("pid"));

    env.ok(&["run", "-d", "--name", "donor", "bb", "sleep", "300"]);
    let donor = exec_ns(&env, "donor", "pid");
    assert_ne!(donor, host_ns("pid"));
    assert_eq!(run_ns(&env, &["--pid", "container:donor"], "pid"), donor);
    // The joiner sees the donor's processes: its init is pid 1 there.
    let ps = env.ok(&["run", "--rm", "--pid", "container:donor", "bb", "ps"]);
    assert!(ps.contains("sleep 300"), "{ps}");
    env.ok(&[
        "create",
        "--name",
        "joiner",
        "--pid",
        "container:donor",
        "bb",
        "true",
    ]);
    assert_eq!(
        inspect(&env, "joiner", "{{.HostConfig.PidMode}}"),
        "container:donor"
    );
    assert_eq!(inspect(&env, "donor", "{{.HostConfig.PidMode}}"), "");

    env.ok(&["create", "--name", "stopped", "bb", "sleep", "300"]);
    let r = env.berth(&["run", "--rm", "--pid", "container:stopped", "bb", "true"]);
    refused(&r, "cannot join PID of a non running container: stopped");
    refused(
        &env.berth(&["run", "--rm", "--pid", "private", "bb", "true"]),
        "--pid: invalid PID mode",
    );
}

#[test]
fn ipc_modes_share_or_hide_the_namespace_and_dev_shm() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["create", "--name", "plain", "bb", "true"]);
    assert_eq!(inspect(&env, "plain", "{{.HostConfig.IpcMode}}"), "private");
    assert_eq!(run_ns(&env, &["--ipc", "host"], "ipc"), host_ns("ipc"));
    assert_ne!(run_ns(&env, &[], "ipc"), host_ns("ipc"));

    // A shareable donor: the joiner is in its IPC namespace and sees its /dev/shm.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "donor",
        "--ipc",
        "shareable",
        "bb",
        "sh",
        "-c",
        "echo from-donor > /dev/shm/note; exec sleep 300",
    ]);
    assert_eq!(
        inspect(&env, "donor", "{{.HostConfig.IpcMode}}"),
        "shareable"
    );
    common::wait_for(
        || {
            env.berth(&["exec", "donor", "cat", "/dev/shm/note"])
                .stdout
                .contains("from-donor")
        },
        "the donor's note",
    );
    let donor = exec_ns(&env, "donor", "ipc");
    assert_eq!(run_ns(&env, &["--ipc", "container:donor"], "ipc"), donor);
    let note = env.ok(&[
        "run",
        "--rm",
        "--ipc",
        "container:donor",
        "bb",
        "sh",
        "-c",
        "cat /dev/shm/note; echo from-joiner > /dev/shm/reply",
    ]);
    assert_eq!(note.trim(), "from-donor");
    assert_eq!(
        env.ok(&["exec", "donor", "cat", "/dev/shm/reply"]).trim(),
        "from-joiner"
    );

    // A private donor cannot be joined; a stopped one neither.
    env.ok(&["run", "-d", "--name", "private", "bb", "sleep", "300"]);
    refused(
        &env.berth(&["run", "--rm", "--ipc", "container:private", "bb", "true"]),
        "container private: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
    );
    refused(
        &env.berth(&["run", "--rm", "--ipc", "container:plain", "bb", "true"]),
        "cannot join IPC of a non running container: plain",
    );

    // none: no /dev/shm at all.
    let r = env.berth(&["run", "--rm", "--ipc", "none", "bb", "ls", "/dev/shm"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        env.ok(&["run", "--rm", "bb", "ls", "-d", "/dev/shm"])
            .contains("/dev/shm")
    );
    refused(
        &env.berth(&["run", "--rm", "--ipc", "bogus", "bb", "true"]),
        "--ipc: invalid IPC mode",
    );

    // The donor's shareable tmpfs goes with it.
    let shm_mounts = || {
        env.mounts()
            .into_iter()
            .filter(|m| m.ends_with("/shm"))
            .count()
    };
    assert_eq!(shm_mounts(), 1);
    env.ok(&["rm", "-f", "donor"]);
    assert_eq!(shm_mounts(), 0);
}

#[test]
fn uts_cgroupns_and_userns_modes() {
    let env = required_env();
    env.image("bb", &[]);
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let inside = env.ok(&["run", "--rm", "--uts", "host", "bb", "hostname"]);
    assert_eq!(inside.trim(), host_name.trim());
    assert_eq!(run_ns(&env, &["--uts", "host"], "uts"), host_ns("uts"));
    refused(
        &env.berth(&["run", "--rm", "--uts", "host", "-h", "web", "bb", "true"]),
        "conflicting options: hostname and the UTS mode",
    );

    assert_eq!(
        run_ns(&env, &["--cgroupns", "host"], "cgroup"),
        host_ns("cgroup")
    );
    assert_ne!(
        run_ns(&env, &["--cgroupns", "private"], "cgroup"),
        host_ns("cgroup")
    );
    env.ok(&["create", "--name", "plain", "bb", "true"]);
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(
        inspect(&env, "plain", "{{.HostConfig.CgroupnsMode}}"),
        if v2 { "private" } else { "host" }
    );

    env.ok(&[
        "create",
        "--name",
        "modes",
        "--uts",
        "host",
        "--userns",
        "host",
        "--cgroupns",
        "private",
        "bb",
        "true",
    ]);
    assert_eq!(
        inspect(
            &env,
            "modes",
            "{{.HostConfig.UTSMode}} {{.HostConfig.UsernsMode}} {{.HostConfig.CgroupnsMode}}"
        ),
        "host host private"
    );
    refused(
        &env.berth(&["run", "--rm", "--userns", "remap", "bb", "true"]),
        "--userns: invalid USER mode",
    );
    refused(
        &env.berth(&["run", "--rm", "--cgroupns", "other", "bb", "true"]),
        "--cgroupns: invalid CGROUP mode",
    );
}

#[test]
fn group_add_takes_numbers_and_the_images_group_names() {
    let env = required_env();
    env.image("bb", &[]);
    let groups = env.ok(&[
        "run",
        "--rm",
        "--group-add",
        "staff",
        "--group-add",
        "1234",
        "bb",
        "id",
        "-G",
    ]);
    assert_eq!(groups.trim(), "0 50 1234");
    // An exec gets them too, as in Docker.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "grp",
        "--group-add",
        "staff",
        "bb",
        "sleep",
        "300",
    ]);
    assert_eq!(env.ok(&["exec", "grp", "id", "-G"]).trim(), "0 50");
    assert_eq!(
        inspect(&env, "grp", "{{json .HostConfig.GroupAdd}}"),
        "[\"staff\"]"
    );
    refused(
        &env.berth(&["run", "--rm", "--group-add", "nosuch", "bb", "true"]),
        "unable to find group nosuch",
    );
}

/// The value of cgroup file `file` of container `id` in v1 controller `controller` (or v2).
fn cgroup_file(id: &str, controller: &str, file: &str) -> Option<String> {
    [
        format!("/sys/fs/cgroup/{controller}/berth/{id}/{file}"),
        format!("/sys/fs/cgroup/berth/{id}/{file}"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .map(|s| s.trim().to_string())
}

/// What dockerd records for `--memory-swappiness N` here: nothing on a host without the
/// setting (cgroup v2).
fn expected_swappiness(n: i64) -> String {
    let v1_file = std::path::Path::new("/sys/fs/cgroup/memory/memory.swappiness").exists();
    if v1_file {
        n.to_string()
    } else {
        "<nil>".into()
    }
}

/// What dockerd records as memory+swap for `bytes` (twice `-m`): unlimited (-1) on a cgroup
/// v1 host without swap accounting.
fn expected_swap(bytes: i64) -> i64 {
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let memsw = std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
    if v2 || memsw { bytes } else { -1 }
}

#[test]
fn cpusets_swappiness_swap_and_device_rules_are_applied_and_echoed() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env
        .ok(&[
            "run",
            "-d",
            "-m",
            "64m",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--memory-swappiness",
            "10",
            "--device-cgroup-rule",
            "c 1:11 rwm",
            "bb",
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    assert_eq!(
        cgroup_file(&id, "cpuset", "cpuset.cpus").as_deref(),
        Some("0")
    );
    assert_eq!(
        cgroup_file(&id, "cpuset", "cpuset.mems").as_deref(),
        Some("0")
    );
    if std::path::Path::new("/sys/fs/cgroup/memory/memory.swappiness").exists() {
        assert_eq!(
            cgroup_file(&id, "memory", "memory.swappiness").as_deref(),
            Some("10")
        );
    }
    if let Some(list) = cgroup_file(&id, "devices", "devices.list") {
        assert!(list.lines().any(|l| l == "c 1:11 rwm"), "{list}");
    }
    assert_eq!(
        inspect(
            &env,
            &id,
            "{{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}} {{.HostConfig.MemorySwappiness}} {{.HostConfig.MemorySwap}} {{json .HostConfig.DeviceCgroupRules}}"
        ),
        format!(
            "0 0 {} {} [\"c 1:11 rwm\"]",
            expected_swappiness(10),
            expected_swap(128 << 20)
        )
    );

    // `update` moves a running container to other CPUs.
    let (available, _) = std::fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus")
        .or_else(|_| std::fs::read_to_string("/sys/devices/system/cpu/online"))
        .unwrap_or_default()
        .trim()
        .split_once('-')
        .map(|(a, b)| (b.to_string(), a.to_string()))
        .unwrap_or_default();
    if !available.is_empty() {
        env.ok(&["update", "--cpuset-cpus", &available, &id]);
        assert_eq!(
            cgroup_file(&id, "cpuset", "cpuset.cpus").as_deref(),
            Some(available.as_str())
        );
        assert_eq!(inspect(&env, &id, "{{.HostConfig.CpusetCpus}}"), available);
    }
    let r = env.berth(&["update", "--cpuset-cpus", "4095", &id]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("Requested CPUs are not available"),
        "{}",
        r.stderr
    );

    env.ok(&["create", "--name", "plain", "bb", "true"]);
    assert_eq!(
        inspect(
            &env,
            "plain",
            "{{json .HostConfig.MemorySwappiness}} {{.HostConfig.MemorySwap}} {{json .HostConfig.DeviceCgroupRules}}"
        ),
        "null 0 null"
    );
    env.ok(&[
        "create",
        "--name",
        "unlimited",
        "-m",
        "64m",
        "--memory-swap",
        "-1",
        "bb",
        "true",
    ]);
    assert_eq!(
        inspect(&env, "unlimited", "{{.HostConfig.MemorySwap}}"),
        "-1"
    );

    refused(
        &env.berth(&["run", "--rm", "--cpuset-cpus", "4095", "bb", "true"]),
        "Requested CPUs are not available - requested 4095, available: ",
    );
    refused(
        &env.berth(&["run", "--rm", "--memory-swappiness", "101", "bb", "true"]),
        "Invalid value: 101, valid memory swappiness range is 0-100",
    );
    refused(
        &env.berth(&[
            "run",
            "--rm",
            "--device-cgroup-rule",
            "c 1:11 rwx",
            "bb",
            "true",
        ]),
        "invalid device cgroup format 'c 1:11 rwx'",
    );
}

#[test]
fn runtime_names_are_echoed_and_unknown_ones_refused() {
    let env = required_env();
    env.image("bb", &[]);
    refused(
        &env.berth(&["run", "--rm", "--runtime", "nosuch", "bb", "true"]),
        "unknown or invalid runtime name: nosuch",
    );
    if common::have(
        "runc",
        "the external runtime berth runs with --runtime runc",
    ) {
        env.ok(&["create", "--name", "rt", "--runtime", "runc", "bb", "true"]);
        assert_eq!(inspect(&env, "rt", "{{.HostConfig.Runtime}}"), "runc");
    }
}

/// The docker CLI against `berth serve` of `env`.
struct Docker {
    _serve: common::serve::Serve,
    host: String,
    config: std::path::PathBuf,
}

impl Docker {
    fn start(env: &Env) -> Option<Docker> {
        if !std::path::Path::new(DOCKER).exists() {
            common::cannot_run("the docker CLI is not at /usr/local/bin/docker");
            return None;
        }
        let (cmd, socket) = env.serve_command();
        let config = env.run.parent().unwrap().join("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        let host = format!("unix://{}", socket.display());
        Some(Docker {
            _serve: common::serve::Serve::start(cmd, socket),
            host,
            config,
        })
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config)
            .stdin(Stdio::null());
        common::output_within(c, common::COMMAND_DEADLINE)
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "docker {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }
}

#[test]
fn docker_cli_through_the_api_sets_and_sees_every_mode() {
    let env = required_env();
    env.image("bb", &[]);
    let Some(docker) = Docker::start(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    docker.ok(&[
        "run",
        "-d",
        "--name",
        "pod",
        "--ipc",
        "shareable",
        "--network",
        "none",
        "bb",
        "sleep",
        "300",
    ]);
    // A Kubernetes pod's shape: every member joins the infra container's pid, ipc and
    // network namespaces.
    let namespaces = "for n in pid ipc net; do busybox readlink /proc/self/ns/$n; done";
    let pod = docker.ok(&["exec", "pod", "sh", "-c", namespaces]);
    let member = docker.ok(&[
        "run",
        "--rm",
        "--pid",
        "container:pod",
        "--ipc",
        "container:pod",
        "--network",
        "container:pod",
        "bb",
        "sh",
        "-c",
        namespaces,
    ]);
    assert_eq!(member, pod);
    assert_eq!(pod.lines().count(), 3, "{pod}");
    docker.ok(&[
        "create",
        "--name",
        "all",
        "--pid",
        "host",
        "--uts",
        "host",
        "--cgroupns",
        "private",
        "--userns",
        "host",
        "--group-add",
        "staff",
        "--device-cgroup-rule",
        "c 1:11 rwm",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--memory-swappiness",
        "10",
        "-m",
        "64m",
        "bb",
        "true",
    ]);
    let format = "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}|{{.HostConfig.UTSMode}}|\
                  {{.HostConfig.CgroupnsMode}}|{{.HostConfig.UsernsMode}}|{{json .HostConfig.GroupAdd}}|\
                  {{json .HostConfig.DeviceCgroupRules}}|{{.HostConfig.CpusetCpus}}|\
                  {{.HostConfig.CpusetMems}}|{{.HostConfig.MemorySwappiness}}|{{.HostConfig.MemorySwap}}";
    assert_eq!(
        docker.ok(&["inspect", "--format", format, "all"]).trim(),
        format!(
            "host|private|host|private|host|[\"staff\"]|[\"c 1:11 rwm\"]|0|0|{}|{}",
            expected_swappiness(10),
            expected_swap(128 << 20)
        )
    );
    // The docker CLI sends MemorySwappiness -1 when unset: inspect shows null, as dockerd.
    docker.ok(&["create", "--name", "plain", "bb", "true"]);
    assert_eq!(
        docker
            .ok(&[
                "inspect",
                "--format",
                "{{json .HostConfig.MemorySwappiness}} {{.HostConfig.IpcMode}}",
                "plain"
            ])
            .trim(),
        "null private"
    );
    let r = docker.run(&["run", "--rm", "--runtime", "nosuch", "bb", "true"]);
    refused(&r, "unknown or invalid runtime name: nosuch");
    let r = docker.run(&["run", "--rm", "--ipc", "container:plain", "bb", "true"]);
    refused(&r, "cannot join IPC of a non running container: plain");
}

#[test]
fn the_api_answers_bad_modes_and_absent_donors_with_dockerds_codes() {
    let env = required_env();
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let _serve = common::serve::Serve::start(cmd, socket.clone());
    let create = |host_config: &str| {
        http(
            &socket,
            "POST",
            "/v1.41/containers/create",
            &format!(r#"{{"Image":"bb","Cmd":["true"],"HostConfig":{host_config}}}"#),
        )
    };
    for (host_config, message) in [
        (r#"{"IpcMode":"bogus"}"#, "invalid IPC mode: bogus"),
        (
            r#"{"PidMode":"container:"}"#,
            "invalid PID mode: container:",
        ),
        (
            r#"{"Runtime":"nosuch"}"#,
            "unknown or invalid runtime name: nosuch",
        ),
        (
            r#"{"MemorySwappiness":101}"#,
            "Invalid value: 101, valid memory swappiness range is 0-100",
        ),
        (
            r#"{"DeviceCgroupRules":["c 1 rwm"]}"#,
            "invalid device cgroup format 'c 1 rwm'",
        ),
    ] {
        let (status, body) = create(host_config);
        assert_eq!(status, 400, "{host_config}: {body}");
        assert!(body.contains(message), "{host_config}: {body}");
    }
    env.ok(&["create", "--name", "stopped", "bb", "sleep", "300"]);
    let (status, body) = create(r#"{"PidMode":"container:stopped"}"#);
    assert_eq!(status, 201, "{body}");
    let id = body.split('"').nth(3).unwrap().to_string();
    let (status, body) = http(
        &socket,
        "POST",
        &format!("/v1.41/containers/{id}/start"),
        "",
    );
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("cannot join PID of a non running container: stopped"),
        "{body}"
    );
    env.ok(&["run", "-d", "--name", "private", "bb", "sleep", "300"]);
    let (_, body) = create(r#"{"IpcMode":"container:private"}"#);
    let id = body.split('"').nth(3).unwrap().to_string();
    let (status, body) = http(
        &socket,
        "POST",
        &format!("/v1.41/containers/{id}/start"),
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("non-shareable IPC"), "{body}");
}
