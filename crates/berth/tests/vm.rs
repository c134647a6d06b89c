//! `run --vm`: a container as a micro-VM through the `berth` binary, as root, with QEMU and
//! Debian's kernel. Every guest boots under TCG here (~2 s), so the tests are few and each
//! checks much on one boot.
mod common;

use std::process::Stdio;
use std::time::Duration;

use common::http::get_from_host;
use common::terminal::Terminal;
use common::vm::{qemus_naming, vm_env};
use common::{eventually, free_port, wait_for};

#[test]
fn run_vm_passes_the_process_settings_a_volume_and_the_exit_code_through() {
    let env = vm_env();
    env.image("bb", &[]);
    let data = env.root.parent().unwrap().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The guest's process runs as alice (uid 1000): the directory is everyone's.
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::fs::write(data.join("in"), "from the host\n").unwrap();
    let volume = format!("{}:/data", data.display());
    env.ok(&["volume", "create", "named"]);
    let mountpoint = env.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "named"]);
    std::fs::write(
        std::path::Path::new(mountpoint.trim()).join("file"),
        "in a named volume\n",
    )
    .unwrap();
    let r = env.berth(&[
        "run",
        "--vm",
        "--rm",
        "-e",
        "X=forty-two",
        "-w",
        "/tmp",
        "-u",
        "alice",
        "-v",
        &volume,
        "-v",
        "named:/named",
        "--tmpfs",
        "/scratch",
        "bb",
        "sh",
        "-c",
        "echo hi; echo x=$X; pwd; id -u; cat /data/in; echo from the guest > /data/out; \
         cat /proc/cmdline; grep -c ' /scratch tmpfs ' /proc/mounts; \
         cat /named/file; exit 7",
    ]);
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        &lines[..5],
        ["hi", "x=forty-two", "/tmp", "1000", "from the host"],
        "{}",
        r.stderr
    );
    // The guest's own kernel: booted by berth on a serial console, not the host's command line.
    let host_cmdline = std::fs::read_to_string("/proc/cmdline").unwrap();
    assert!(lines[5].contains("console=ttyS0"), "{}", r.stdout);
    assert_ne!(lines[5].trim(), host_cmdline.trim());
    assert_eq!(
        lines[6], "1",
        "--tmpfs /scratch is a tmpfs in the guest: {}",
        r.stdout
    );
    assert_eq!(
        lines[7], "in a named volume",
        "a named volume is shared with the guest: {}",
        r.stdout
    );
    assert_eq!(
        std::fs::read_to_string(data.join("out")).unwrap(),
        "from the guest\n",
        "the guest's write is seen on the host"
    );
    assert!(env.container_ids().is_empty(), "--rm removed it");
    // Emulation is said once per state root, and `info` says which accelerator and why.
    let info = env.ok(&["info"]);
    let tcg = info.contains(" VM accelerator: tcg (");
    assert!(tcg || info.contains(" VM accelerator: kvm\n"), "{info}");
    assert_eq!(
        r.stderr.contains("under TCG emulation"),
        tcg,
        "{}",
        r.stderr
    );

    // A command that does not exist: Docker's message and 127, as a container's.
    let r = env.berth(&["run", "--vm", "--rm", "bb", "nope"]);
    assert_eq!(r.code, 127, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("TCG"), "said once: {}", r.stderr);
    assert!(
        r.stderr
            .contains("exec: \"nope\": executable file not found in $PATH"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_detached_vm_logs_execs_stops_with_its_signal_handler_and_leaves_nothing() {
    let env = vm_env();
    env.image("bb", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = env
        .ok(&[
            "run",
            "--vm",
            "-d",
            "-p",
            &publish,
            "bb",
            "sh",
            "-c",
            "mkdir /w; echo served by the guest > /w/index.html; httpd -p 80 -h /w; \
             echo started; trap 'echo got term; exit 3' TERM; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    wait_for(
        || env.berth(&["logs", &id]).stdout.contains("started"),
        "the guest's first output in the log",
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", &id])
            .trim(),
        "vm"
    );
    assert_eq!(qemus_naming(&id).len(), 1, "one QEMU runs the container");
    // The guest stands where the container's eth0 stood: its published port reaches it.
    assert_eq!(
        eventually(Duration::from_secs(10), "GET from the guest", || {
            get_from_host(port)
        }),
        "served by the guest"
    );
    let exec = env.berth(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo in the guest; hostname; exit 5",
    ]);
    assert_eq!(exec.code, 5, "{}{}", exec.stdout, exec.stderr);
    assert_eq!(exec.stdout, format!("in the guest\n{}\n", &id[..12]));
    let update = env.berth(&["update", "--memory", "512m", &id]);
    assert_ne!(update.code, 0, "a running VM's memory is fixed");
    assert!(
        update.stderr.contains("fixed when it starts"),
        "{}",
        update.stderr
    );
    let top = env.ok(&["top", &id]);
    assert!(top.contains("qemu-system"), "top shows the VM: {top}");
    // The guest has one NIC, fixed at boot: a second network is refused, not half-made.
    let second = format!("vmsecond{}", std::process::id());
    env.ok(&["network", "create", &second]);
    let connect = env.berth(&["network", "connect", &second, &id]);
    let removed = env.berth(&["network", "rm", &second]);
    assert_ne!(
        connect.code, 0,
        "a second network joined: {}",
        connect.stdout
    );
    assert!(
        connect.stderr.contains("is a micro-VM"),
        "{}",
        connect.stderr
    );
    assert_eq!(
        removed.code, 0,
        "the network is left in use: {}",
        removed.stderr
    );

    env.ok(&["stop", &id]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.ExitCode}}", &id])
            .trim(),
        "3",
        "SIGTERM reached the guest's process, whose handler chose the exit code"
    );
    assert!(env.ok(&["logs", &id]).contains("got term"));

    // Started again, its QEMU killed: the container shows as exited, the log says why.
    env.ok(&["start", &id]);
    wait_for(|| qemus_naming(&id).len() == 1, "the second start's QEMU");
    wait_for(
        || env.berth(&["logs", &id]).stdout.matches("started").count() == 2,
        "the second run's output",
    );
    for pid in qemus_naming(&id) {
        // SAFETY: kill(2) on the QEMU process this test's container runs.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    wait_for(
        || env.ok(&["inspect", "-f", "{{.State.Status}}", &id]).trim() == "exited",
        "the container to exit with its VM",
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.ExitCode}}", &id])
            .trim(),
        "137"
    );
    let log = env.berth(&["logs", &id]);
    assert!(
        log.stderr.contains("stopped before its process exited"),
        "{}",
        log.stderr
    );
    env.ok(&["rm", "-f", &id]);
    assert!(qemus_naming(&id).is_empty(), "rm -f leaves no QEMU");
    let vm_dir = env.run.join("vm").join(&id[..12]);
    assert!(!vm_dir.exists(), "no socket or run directory left");
    assert!(env.mounts().is_empty(), "no mount left: {:?}", env.mounts());
    assert!(common::cgroup_dirs(&id).is_empty(), "no cgroup left");
}

#[test]
fn run_vm_it_gives_the_guest_process_a_terminal_of_the_clients_size() {
    let env = vm_env();
    env.image("bb", &[]);
    let terminal = Terminal::spawn(
        env.cmd(&[
            "run",
            "--vm",
            "-it",
            "--rm",
            "bb",
            "sh",
            "-c",
            "test -t 0 && echo on a tty; stty size; read x; echo got $x; stty size; exit 4",
        ]),
        30,
        100,
    );
    // The first guest of a state root builds its initramfs first: more than wait_for's 10 s
    // on a loaded host.
    terminal.wait_for("30 100", Duration::from_secs(60));
    // A resize of the client's terminal reaches the guest's pty (SIGWINCH -> Resize).
    terminal.resize(40, 120);
    std::thread::sleep(Duration::from_millis(700));
    terminal.type_in(b"hello\r");
    let (status, out) = terminal.finish(Duration::from_secs(60));
    assert_eq!(status.code(), Some(4), "{out}");
    assert!(out.contains("on a tty"), "{out}");
    assert!(out.contains("got hello"), "{out}");
    assert!(
        out.contains("40 120"),
        "the resize reached the guest: {out}"
    );
}

#[test]
fn the_docker_cli_runs_a_vm_that_reaches_a_container_by_name_on_a_user_network() {
    let env = vm_env();
    common::require(
        common::have("docker", "the docker CLI against berth serve"),
        "the docker CLI",
    );
    env.image("bb", &[]);
    let (command, socket) = env.serve_command();
    let _serve = common::serve::Serve::start(command, socket.clone());
    let config = env.root.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let docker = |args: &[&str]| {
        let mut c = std::process::Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", &config)
            .stdin(Stdio::null());
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let ok = |args: &[&str]| {
        let r = docker(args);
        assert_eq!(r.code, 0, "docker {args:?}: {}{}", r.stdout, r.stderr);
    };
    ok(&["network", "create", "vmnet"]);
    ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "vmnet",
        "bb",
        "sh",
        "-c",
        "mkdir /w; echo served by a container > /w/index.html; exec httpd -f -p 80 -h /w",
    ]);
    // The guest resolves `web` through its agent and the shim's embedded DNS, and reaches it
    // over the tap that took its container's place on the network.
    let r = docker(&[
        "run",
        "--rm",
        "--runtime",
        "vm",
        "--network",
        "vmnet",
        "bb",
        "sh",
        "-c",
        "wget -qO- http://web/; exit 9",
    ]);
    assert_eq!(r.code, 9, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "served by a container\n", "{}", r.stderr);
}
