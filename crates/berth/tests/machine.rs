//! `berth machine`: bad input refused without booting anything (and nothing left behind), the
//! reconciliation of a machine whose process died, and one whole lifecycle that boots a real
//! machine under QEMU: create (an image preloaded) -> the docker CLI through `machine env` (ps,
//! a container run inside) -> ssh, scp -> stop -> start (a volume made before the stop is still
//! there) -> rm.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::vm::qemus_naming;
use common::{Env, Run, have};

/// The names in `dir`, sorted (none when it does not exist).
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The machines' state directory of a test's root, and what is in it.
fn state_entries(env: &Env) -> Vec<String> {
    entries(&env.root.join("machines"))
}

fn run_entries(env: &Env) -> Vec<String> {
    entries(&env.run.join("machines"))
}

/// A stopped machine as `create` leaves it on disk, without booting it: its config only (the
/// verbs that do not boot need nothing else).
fn stopped_machine(env: &Env, name: &str) -> PathBuf {
    let dir = env.root.join("machines").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({
            "name": name, "driver": "qemu", "cpus": 1, "memory_mib": 512,
            "disk_bytes": 1u64 << 30, "created": "2026-01-01T00:00:00Z", "api_port": 1,
        })
        .to_string(),
    )
    .unwrap();
    dir
}

fn assert_refused(r: &Run, words: &str) {
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(words),
        "expected {words:?} in: {}",
        r.stderr
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_made() {
    let env = common::required_env();
    for (args, words) in [
        (vec!["machine", "create", "bad/name"], "Invalid hostname"),
        (vec!["machine", "create", ".hidden"], "Invalid hostname"),
        (
            vec!["machine", "create", "--memory", "12x", "m1"],
            "invalid --memory \"12x\"",
        ),
        (
            vec!["machine", "create", "--disk", "1", "m1"],
            "invalid --disk \"1\": at least 256 MiB",
        ),
        (vec!["machine", "create", "--cpus", "0", "m1"], "--cpus"),
        (
            vec!["machine", "create", "-d", "virtualbox", "m1"],
            "unknown machine driver \"virtualbox\"",
        ),
        (
            vec!["machine", "create", "--image", "nope:1", "m1"],
            "--image: No such image: nope:1",
        ),
        (
            vec!["machine", "start", "nope"],
            "Host does not exist: \"nope\"",
        ),
        (
            vec!["machine", "rm", "nope"],
            "Host does not exist: \"nope\"",
        ),
        (
            vec!["machine", "env", "nope"],
            "Host does not exist: \"nope\"",
        ),
    ] {
        let r = env.berth(&args);
        assert_refused(&r, words);
    }
    assert!(state_entries(&env).is_empty(), "{:?}", state_entries(&env));
    assert!(run_entries(&env).is_empty(), "{:?}", run_entries(&env));
}

#[test]
fn without_qemu_create_says_what_to_install_and_leaves_nothing() {
    let env = common::required_env();
    // A PATH with everything create needs but QEMU.
    let bin = env.root.parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["mkfs.ext4", "qemu-img"] {
        if let Some(found) = which(tool) {
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
    }
    let r: Run = common::output_within(
        {
            let mut c = env.cmd(&["machine", "create", "m1"]);
            c.env("PATH", &bin);
            c
        },
        common::COMMAND_DEADLINE,
    );
    assert_refused(
        &r,
        "qemu-system-x86_64 not found: apt-get install qemu-system-x86",
    );
    assert!(state_entries(&env).is_empty(), "{:?}", state_entries(&env));
    assert!(run_entries(&env).is_empty(), "{:?}", run_entries(&env));
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[test]
fn a_name_in_use_is_refused_in_docker_machines_words() {
    let env = common::required_env();
    let dir = stopped_machine(&env, "m1");
    let before = std::fs::read(dir.join("config.json")).unwrap();
    let r = env.berth(&["machine", "create", "m1"]);
    assert_refused(&r, "Host already exists: \"m1\"");
    assert_eq!(std::fs::read(dir.join("config.json")).unwrap(), before);
    let ls = env.ok(&[
        "machine",
        "ls",
        "--format",
        "{{.Name}} {{.State}} {{.DriverName}}",
    ]);
    assert_eq!(ls.trim(), "m1 Stopped qemu");
    assert_eq!(env.ok(&["machine", "status", "m1"]).trim(), "Stopped");
    assert_refused(
        &env.berth(&["machine", "stop", "m1"]),
        "Machine \"m1\" is already stopped.",
    );
    assert_refused(&env.berth(&["machine", "env", "m1"]), "Host is not running");
    assert!(
        env.ok(&["machine", "rm", "-y", "m1"])
            .contains("Successfully removed m1")
    );
    assert!(state_entries(&env).is_empty());
}

/// A machine whose recorded process is alive runs; `rm` without -f refuses it (docker-machine's
/// exit 1); once that process is killed -9, the next command sees it stopped and cleans up.
#[test]
fn a_running_machine_needs_rm_f_and_a_dead_one_is_reconciled() {
    let env = common::required_env();
    stopped_machine(&env, "m1");
    let mut stand_in = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let _reap = KillOnDrop(stand_in.id() as i32);
    let run_dir = env.run.join("machines/m1");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("process.json"),
        serde_json::json!({
            "pid": stand_in.id(),
            "start_ticks": start_ticks(stand_in.id() as i32),
            "boot_id": std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim(),
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(run_dir.join("relay.sock"), "").unwrap();
    assert_eq!(env.ok(&["machine", "status", "m1"]).trim(), "Running");
    let r = env.berth(&["machine", "rm", "m1"]);
    assert_refused(&r, "machine \"m1\" is running");
    assert!(env.root.join("machines/m1/config.json").exists());

    // kill -9 of the machine's process: the next command repairs the state.
    stand_in.kill().unwrap();
    stand_in.wait().unwrap();
    assert_eq!(env.ok(&["machine", "status", "m1"]).trim(), "Stopped");
    assert!(!run_dir.join("process.json").exists());
    assert!(!run_dir.join("relay.sock").exists());
    env.ok(&["machine", "rm", "m1"]);
    assert!(state_entries(&env).is_empty());
    assert!(run_entries(&env).is_empty(), "{:?}", run_entries(&env));
}

fn start_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(19).unwrap().parse().unwrap()
}

struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a pid this test spawned; a reaped pid only yields ESRCH here
        // (the test waits for it before it could be reused).
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// Removes the machine (and kills whatever of it runs) even when the test fails.
struct MachineGuard<'a> {
    env: &'a Env,
    name: &'a str,
}

impl Drop for MachineGuard<'_> {
    fn drop(&mut self) {
        let _ = self.env.berth(&["machine", "rm", "-f", self.name]);
    }
}

/// The `export K="V"` lines of `machine env`, as a map.
fn exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn docker(env_vars: &[(String, String)], config: &Path, args: &[&str]) -> Run {
    let mut c = Command::new("docker");
    c.args(args)
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null());
    for (k, v) in env_vars {
        c.env(k, v);
    }
    common::output_within(c, common::COMMAND_DEADLINE)
}

#[test]
fn a_machine_lives_through_create_docker_ssh_stop_start_and_rm() {
    let env = common::required_env();
    common::require(
        common::vm::can_boot_guests()
            && have("qemu-img", "a machine's disk is a qcow2")
            && have("docker", "the docker CLI talks to the machine's engine"),
        "QEMU, a guest kernel, qemu-img and the docker CLI",
    );
    let _guard = MachineGuard {
        env: &env,
        name: "m1",
    };
    let docker_config = env.root.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();

    // An image of this host's berth, preloaded into the machine.
    env.image("preloaded:1", &[]);
    let created = Instant::now();
    let r = env.berth(&[
        "machine",
        "create",
        "--memory",
        "1g",
        "--disk",
        "2g",
        "--image",
        "preloaded:1",
        "m1",
    ]);
    assert_eq!(r.code, 0, "create: {}{}", r.stdout, r.stderr);
    let vars = exports(&env.ok(&["machine", "env", "m1"]));
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "DOCKER_TLS_VERIFY",
            "DOCKER_HOST",
            "DOCKER_CERT_PATH",
            "DOCKER_MACHINE_NAME"
        ]
    );
    let ps = docker(&vars, &docker_config, &["ps"]);
    assert_eq!(ps.code, 0, "docker ps: {}{}", ps.stdout, ps.stderr);
    assert!(ps.stdout.starts_with("CONTAINER ID"), "{}", ps.stdout);
    eprintln!(
        "machine create -> docker ps answered: {:.2} s",
        created.elapsed().as_secs_f64()
    );

    let images = docker(
        &vars,
        &docker_config,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    );
    assert_eq!(images.stdout.trim(), "preloaded:1", "{}", images.stderr);
    // The machine is a Docker host: its engine runs containers (on its own kernel).
    let hello = docker(
        &vars,
        &docker_config,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "preloaded:1",
            "sh",
            "-c",
            "echo hi; uname -r",
        ],
    );
    assert_eq!(
        hello.code, 0,
        "docker run: {}{}",
        hello.stdout, hello.stderr
    );
    let mut lines = hello.stdout.lines();
    assert_eq!(lines.next(), Some("hi"));
    let host_kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_ne!(
        lines.next(),
        Some(host_kernel.trim()),
        "the container ran on the host's kernel"
    );

    // berth itself follows `machine env`: its commands run in the machine's engine, with the
    // machine's kernel, their output and exit codes passed back.
    let berth_in = |args: &[&str]| {
        let mut c = env.cmd(args);
        for (k, v) in &vars {
            c.env(k, v);
        }
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let r = berth_in(&[
        "run",
        "-d",
        "--name",
        "inside",
        "preloaded:1",
        "sleep",
        "60",
    ]);
    assert_eq!(
        r.code, 0,
        "berth run -d in the machine: {}{}",
        r.stdout, r.stderr
    );
    let r = berth_in(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(r.stdout.trim(), "inside", "{}", r.stderr);
    assert!(
        !env.ok(&["ps", "-a"]).contains("inside"),
        "the container was made on this host"
    );
    let r = berth_in(&["exec", "inside", "sh", "-c", "uname -r; exit 7"]);
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    assert_ne!(r.stdout.trim(), host_kernel.trim());
    let r = berth_in(&["rm", "-f", "inside"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let context = env.root.parent().unwrap().join("context");
    std::fs::create_dir_all(&context).unwrap();
    let r = berth_in(&["build", "-t", "x", context.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("tar -C DIR -c ."), "{}", r.stderr);

    let ls = env.ok(&["machine", "ls"]);
    let row = ls
        .lines()
        .find(|l| l.starts_with("m1 "))
        .unwrap_or_default();
    assert!(row.contains("Running") && row.contains("qemu"), "{ls}");
    assert!(row.contains(&vars[1].1), "{ls}");
    assert_eq!(env.ok(&["machine", "ip", "m1"]).trim(), "127.0.0.1");

    // ssh: a command's output and exit code come back.
    let r = env.berth(&[
        "machine",
        "ssh",
        "m1",
        "echo",
        "from-the-guest;",
        "exit",
        "3",
    ]);
    assert_eq!(r.code, 3, "ssh: {}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), "from-the-guest");
    // scp both ways through the agent.
    let host_file = env.root.parent().unwrap().join("note.txt");
    std::fs::write(&host_file, "across\n").unwrap();
    env.ok(&[
        "machine",
        "scp",
        host_file.to_str().unwrap(),
        "m1:/tmp/note.txt",
    ]);
    let back = env.root.parent().unwrap().join("back.txt");
    env.ok(&["machine", "scp", "m1:/tmp/note.txt", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "across\n");

    // What the engine inside keeps is on the machine's disk: it survives a stop.
    let v = docker(&vars, &docker_config, &["volume", "create", "kept"]);
    assert_eq!(v.code, 0, "volume create: {}{}", v.stdout, v.stderr);
    env.ok(&["machine", "stop", "m1"]);
    assert_eq!(env.ok(&["machine", "status", "m1"]).trim(), "Stopped");
    let run_dir = env.run.join("machines/m1");
    assert!(
        qemus_naming(&run_dir.to_string_lossy()).is_empty(),
        "QEMU left after stop"
    );

    let started = Instant::now();
    env.ok(&["machine", "start", "m1"]);
    eprintln!(
        "machine start -> API answered: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let vars = exports(&env.ok(&["machine", "env", "m1"]));
    let volumes = docker(&vars, &docker_config, &["volume", "ls", "-q"]);
    assert_eq!(volumes.code, 0, "{}", volumes.stderr);
    assert!(
        volumes.stdout.lines().any(|l| l == "kept"),
        "{}",
        volumes.stdout
    );

    // A running machine is removed only with -f, and then nothing of it is left.
    assert_refused(&env.berth(&["machine", "rm", "m1"]), "is running");
    env.ok(&["machine", "rm", "-f", "m1"]);
    assert!(
        qemus_naming(&run_dir.to_string_lossy()).is_empty(),
        "QEMU left after rm -f"
    );
    assert!(state_entries(&env).is_empty(), "{:?}", state_entries(&env));
    assert!(!run_dir.exists());
}
