//! Boots real guests (QEMU, the host's Debian kernel, this test binary as the agent: its
//! `main` turns into the agent when it is a guest's `/init`, which is why this target has no
//! libtest harness) and checks what the host sees over the agent's channel: Hello, the main
//! process's frames and exit code, a missing command's Failed + 127, and QEMU exiting after.
//! Prints the boot times and the floor (the same guest whose agent powers off at once);
//! with BERTH_VM_DEBUG=1 also the agent's boot steps from the serial log. BERTH_VM_AGENT=PATH
//! boots another agent binary instead (a release `berth`: the figures the benchmark sees).

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_vm::config::{
    GuestExec, GuestFile, GuestMount, GuestNetwork, GuestProcess, GuestRun, HostDisk, HostShare,
    Launch, Nic, ROOT_TAG,
};
use berth_vm::kernel::{Profile, guest_kernel_with_agent};
use berth_vm::protocol::{Frame, Kind, MAIN_STREAM};
use berth_vm::{Accel, GuestKernel, Vm};

/// A test of this file: its name and body.
type Test = fn(&Setup);

fn main() {
    if berth_vm::agent::is_guest_init() {
        std::process::exit(berth_vm::agent::main());
    }
    let setup = Setup::new().expect("these tests cannot run here (see the reason above)");
    let tests: [(&str, Test); 6] = [
        (
            "a_guest_runs_the_main_process_and_reports_its_output_and_exit",
            a_guest_runs_the_main_process_and_reports_its_output_and_exit,
        ),
        (
            "a_missing_command_fails_with_127",
            a_missing_command_fails_with_127,
        ),
        (
            "the_floor_boots_and_powers_off",
            the_floor_boots_and_powers_off,
        ),
        (
            "a_guest_that_is_not_ready_in_time_is_an_error_and_goes",
            a_guest_that_is_not_ready_in_time_is_an_error_and_goes,
        ),
        (
            "a_terminal_guest_takes_stdin_resizes_execs_signals_and_resolves",
            a_terminal_guest_takes_stdin_resizes_execs_signals_and_resolves,
        ),
        (
            "a_machine_guest_runs_in_the_initramfs_with_a_shell_and_its_disk",
            a_machine_guest_runs_in_the_initramfs_with_a_shell_and_its_disk,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        test(&setup);
        eprintln!("test {name} ... ok");
    }
}

/// The pattern of crates/berth/tests/common: a test that cannot run says so, and under CI
/// that is a failure.
fn cannot_run(reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("this test cannot run: {reason} (CI is set, so that is a failure)");
    }
    eprintln!("skipping: {reason}");
}

struct Setup {
    _dir: tempfile::TempDir,
    agent: PathBuf,
    rootfs: PathBuf,
    run_base: PathBuf,
    kernel: GuestKernel,
    accel: Accel,
}

impl Setup {
    fn new() -> Option<Setup> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            cannot_run("booting a guest with a 9p root needs root");
            return None;
        }
        let busybox = ["/usr/bin/busybox", "/bin/busybox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        let Some(busybox) = busybox else {
            cannot_run("no busybox (apt-get install busybox-static)");
            return None;
        };
        if std::process::Command::new("qemu-system-x86_64")
            .arg("--version")
            .output()
            .is_err()
        {
            cannot_run("no qemu-system-x86_64 (apt-get install qemu-system-x86)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy(&busybox, rootfs.join("bin/busybox")).unwrap();
        for tool in [
            "sh", "echo", "cat", "ls", "stty", "sleep", "ip", "nslookup", "hostname", "tty",
        ] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
        }
        let cache = dir.path().join("cache");
        // BERTH_VM_AGENT: another agent binary (a release berth, for figures like the bench's).
        let agent = std::env::var_os("BERTH_VM_AGENT")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_exe().unwrap());
        let started = Instant::now();
        let kernel = match guest_kernel_with_agent(&cache, None, Profile::Container, &agent) {
            Ok(kernel) => kernel,
            Err(berth_vm::VmError::NoKernel { looked_for }) => {
                cannot_run(&format!("no guest kernel ({looked_for})"));
                return None;
            }
            Err(e) => panic!("preparing the guest kernel: {e}"),
        };
        let initramfs_size = std::fs::metadata(&kernel.initramfs).unwrap().len();
        eprintln!(
            "kernel {} prepared in {:?} (initramfs {} KiB)",
            kernel.version,
            started.elapsed(),
            initramfs_size / 1024
        );
        let accel = berth_vm::accel::choose(&cache);
        eprintln!("accelerator: {accel}");
        Some(Setup {
            agent,
            run_base: dir.path().join("run"),
            _dir: dir,
            rootfs,
            kernel,
            accel,
        })
    }

    fn launch(&self, name: &str, args: &[&str]) -> Launch {
        Launch {
            id: name.to_string(),
            run_dir: self.run_base.join(name),
            cpus: 1,
            memory_mib: 256,
            shares: vec![HostShare {
                tag: ROOT_TAG.to_string(),
                source: self.rootfs.clone(),
                readonly: false,
            }],
            guest: GuestRun {
                process: GuestProcess {
                    args: args.iter().map(|a| a.to_string()).collect(),
                    env: vec!["PATH=/bin".to_string()],
                    cwd: "/".to_string(),
                    ..GuestProcess::default()
                },
                hostname: name.to_string(),
                shared_root: true,
                ..GuestRun::default()
            },
            ..Launch::default()
        }
    }
}

/// What the host saw of one stream until its Exit.
#[derive(Default, Debug)]
struct Seen {
    kinds: Vec<Kind>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    failed: Option<berth_vm::config::Failed>,
    exit: Option<i32>,
}

/// Boots `launch`, sends its Run, collects stream 0 until Exit; then QEMU must exit.
fn boot_and_run(setup: &Setup, launch: &Launch) -> Seen {
    let started = Instant::now();
    let mut vm = Vm::spawn(launch, &setup.kernel, &setup.accel).unwrap();
    let (mut channel, hello) = vm.connect_agent(Duration::from_secs(60)).unwrap();
    let booted = started.elapsed();
    Frame::json(Kind::Run, MAIN_STREAM, &launch.guest)
        .write_to(&mut channel)
        .unwrap();
    let seen = collect(&mut channel);
    let ran = started.elapsed();
    let status = vm
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("QEMU exits after the main process");
    eprintln!(
        "  spawn->Hello {booted:?} (guest uptime {} ms), spawn->Exit {ran:?}, spawn->QEMU gone {:?} ({status})",
        hello.uptime_ms,
        started.elapsed()
    );
    if std::env::var_os("BERTH_VM_DEBUG").is_some() {
        eprintln!("{}", berth_vm::serial_tail(&launch.run_dir, 150));
    }
    seen
}

fn collect(channel: &mut UnixStream) -> Seen {
    channel
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut streams: HashMap<u32, Seen> = HashMap::new();
    loop {
        let frame = Frame::read_from(channel)
            .unwrap()
            .expect("the channel stays open until Exit");
        let seen = streams.entry(frame.stream).or_default();
        seen.kinds.push(frame.kind);
        match frame.kind {
            Kind::Stdout => seen.stdout.extend_from_slice(&frame.payload),
            Kind::Stderr => seen.stderr.extend_from_slice(&frame.payload),
            Kind::Failed => seen.failed = Some(frame.parse().unwrap()),
            Kind::Exit => {
                seen.exit = Some(frame.as_int().unwrap());
                if frame.stream == MAIN_STREAM {
                    return streams.remove(&MAIN_STREAM).unwrap();
                }
            }
            _ => {}
        }
    }
}

fn a_guest_runs_the_main_process_and_reports_its_output_and_exit(setup: &Setup) {
    let launch = setup.launch("echo", &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let seen = boot_and_run(setup, &launch);
    assert_eq!(seen.kinds.first(), Some(&Kind::Started), "{seen:?}");
    assert_eq!(String::from_utf8_lossy(&seen.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&seen.stderr), "err\n");
    assert_eq!(seen.exit, Some(7));
    assert!(seen.failed.is_none());
}

fn a_missing_command_fails_with_127(setup: &Setup) {
    let launch = setup.launch("missing", &["nope"]);
    let seen = boot_and_run(setup, &launch);
    let failed = seen.failed.expect("a Failed frame");
    assert_eq!(
        failed.message,
        "exec: \"nope\": executable file not found in $PATH"
    );
    assert_eq!(failed.exit_code, 127);
    assert_eq!(seen.kinds, [Kind::Failed, Kind::Exit]);
    assert_eq!(seen.exit, Some(127));
}

fn the_floor_boots_and_powers_off(setup: &Setup) {
    let launch = setup.launch("floor", &["true"]);
    let started = Instant::now();
    let mut vm = Vm::spawn_floor(&launch, &setup.kernel, &setup.accel).unwrap();
    let status = vm
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("the floor guest powers off by itself");
    eprintln!(
        "  floor: spawn->QEMU gone {:?} ({status})",
        started.elapsed()
    );
    if std::env::var_os("BERTH_VM_DEBUG").is_some() {
        eprintln!("{}", berth_vm::serial_tail(&launch.run_dir, 150));
    }
    assert!(
        status.success(),
        "{status}: {}",
        berth_vm::serial_tail(Path::new(&launch.run_dir), 20)
    );
}

/// A machine: no shared root (the process runs in the initramfs's tree, moved to a tmpfs so a
/// container runtime can pivot_root, with the busybox shell the Machine profile adds), an ext4
/// disk found by its serial and mounted, a file laid over, and
/// after the host's Poweroff the disk unmounted cleanly (the host reads the guest's file from
/// the image).
fn a_machine_guest_runs_in_the_initramfs_with_a_shell_and_its_disk(setup: &Setup) {
    if !["mkfs.ext4", "debugfs", "e2fsck"]
        .iter()
        .all(|tool| std::process::Command::new(tool).arg("-V").output().is_ok())
    {
        cannot_run("no e2fsprogs (mkfs.ext4, debugfs, e2fsck)");
        panic!("this test cannot run without e2fsprogs");
    }
    let kernel = guest_kernel_with_agent(
        &setup.run_base.join("machine-cache"),
        None,
        Profile::Machine,
        &setup.agent,
    )
    .unwrap();
    eprintln!(
        "  machine initramfs {} KiB",
        std::fs::metadata(&kernel.initramfs).unwrap().len() / 1024
    );
    let disk = setup.run_base.join("machine-disk.img");
    std::fs::create_dir_all(&setup.run_base).unwrap();
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let mkfs = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&disk)
        .status()
        .unwrap();
    assert!(mkfs.success());
    let mut launch = setup.launch(
        "machine",
        &[
            "sh",
            "-c",
            "grep ' / ' /proc/mounts | tail -n 1 | cut -d ' ' -f 3 && \
             unshare -m sh -c 'mkdir -p /p && mount -t tmpfs p /p && mkdir /p/old && \
                               cd /p && pivot_root . old && echo pivoted' && \
             grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts && cat /etc/berth/greeting > /data/hello && \
             stat -c %a /etc/berth/server-key.pem && \
             if [ -e /usr/sbin/nft ]; then /usr/sbin/nft add table inet probe && echo nft; fi; \
             echo ready; exec sleep 60",
        ],
    );
    launch.shares.clear();
    launch.memory_mib = 512;
    launch.disks = vec![HostDisk {
        path: disk.clone(),
        format: "raw".to_string(),
        serial: "berth-data".to_string(),
    }];
    launch.guest.shared_root = false;
    launch.guest.mounts = vec![GuestMount::Disk {
        serial: "berth-data".to_string(),
        destination: "/data".to_string(),
        fstype: "ext4".to_string(),
    }];
    launch.guest.files = vec![
        GuestFile {
            path: "/etc/berth/greeting".to_string(),
            content: "hello from the machine\n".to_string(),
        },
        GuestFile {
            path: "/etc/berth/server-key.pem".to_string(),
            content: "secret".to_string(),
        },
    ];
    let machine = Setup {
        _dir: tempfile::tempdir().unwrap(),
        agent: setup.agent.clone(),
        rootfs: setup.rootfs.clone(),
        run_base: setup.run_base.clone(),
        kernel,
        accel: setup.accel.clone(),
    };
    // Up, then stopped as `berth machine stop` does: a Poweroff while the main process runs
    // (SIGTERM ends it: 143), and the disk must come back clean.
    let mut vm = Vm::spawn(&launch, &machine.kernel, &machine.accel).unwrap();
    let (mut channel, _) = vm.connect_agent(Duration::from_secs(60)).unwrap();
    channel
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    Frame::json(Kind::Run, MAIN_STREAM, &launch.guest)
        .write_to(&mut channel)
        .unwrap();
    let mut streams = HashMap::new();
    let mut no_dns = |_: &Frame| None;
    read_until(&mut channel, &mut streams, &mut no_dns, &|s| {
        text(s.get(&MAIN_STREAM)).contains("ready")
            || s.get(&MAIN_STREAM).is_some_and(|m| m.exit.is_some())
    });
    Frame::new(Kind::Poweroff, MAIN_STREAM, Vec::new())
        .write_to(&mut channel)
        .unwrap();
    read_until(&mut channel, &mut streams, &mut no_dns, &|s| {
        s.get(&MAIN_STREAM).is_some_and(|m| m.exit.is_some())
    });
    let seen = &streams[&MAIN_STREAM];
    assert_eq!(
        seen.exit,
        Some(143),
        "{seen:?} {}",
        String::from_utf8_lossy(&seen.stderr)
    );
    let status = vm
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("QEMU exits after the poweroff");
    if std::env::var_os("BERTH_VM_DEBUG").is_some() {
        eprintln!("{}", berth_vm::serial_tail(&launch.run_dir, 150));
    }
    assert!(status.success(), "{status}");
    // The host's nft comes along (with its libraries) and the guest's nftables modules take
    // its rules.
    let nft = if Path::new("/usr/sbin/nft").exists() {
        "nft\n"
    } else {
        ""
    };
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout),
        format!("tmpfs\npivoted\n600\n{nft}ready\n")
    );
    let fsck = std::process::Command::new("e2fsck")
        .args(["-n"])
        .arg(&disk)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "the disk was not unmounted cleanly: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let read = std::process::Command::new("debugfs")
        .args(["-R", "cat /hello"])
        .arg(&disk)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "hello from the machine\n"
    );
}

/// Reads frames until `done` says the collected state is complete; panics on the main
/// stream's Exit first.
fn read_until(
    channel: &mut UnixStream,
    streams: &mut HashMap<u32, Seen>,
    dns: &mut dyn FnMut(&Frame) -> Option<Frame>,
    done: &dyn Fn(&HashMap<u32, Seen>) -> bool,
) {
    while !done(streams) {
        let frame = Frame::read_from(channel)
            .unwrap()
            .expect("the channel stays open");
        if frame.kind == Kind::DnsQuery {
            if let Some(reply) = dns(&frame) {
                reply.write_to(channel).unwrap();
            }
            continue;
        }
        let seen = streams.entry(frame.stream).or_default();
        seen.kinds.push(frame.kind);
        match frame.kind {
            Kind::Stdout => seen.stdout.extend_from_slice(&frame.payload),
            Kind::Stderr => seen.stderr.extend_from_slice(&frame.payload),
            Kind::Failed => seen.failed = Some(frame.parse().unwrap()),
            Kind::Exit => seen.exit = Some(frame.as_int().unwrap()),
            _ => {}
        }
    }
}

/// An answer to a DNS query: the question echoed, one A record 10.9.8.7.
fn dns_answer(query: &[u8]) -> Vec<u8> {
    let mut reply = query.to_vec();
    reply[2] |= 0x80; // QR: a response
    reply[3] = 0x80; // RA, no error
    reply[6..8].copy_from_slice(&1u16.to_be_bytes()); // ANCOUNT
    reply[8..12].fill(0); // NSCOUNT, ARCOUNT
    // The question ends after its name (labels to a zero byte) and QTYPE/QCLASS.
    let mut end = 12;
    while query[end] != 0 {
        end += 1 + query[end] as usize;
    }
    end += 5;
    let qtype = u16::from_be_bytes([query[end - 4], query[end - 3]]);
    reply.truncate(end);
    if qtype != 1 {
        // Not an A query (busybox also asks AAAA): no answer records.
        reply[6..8].fill(0);
        return reply;
    }
    reply.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7]);
    reply
}

fn text(seen: Option<&Seen>) -> String {
    seen.map(|s| String::from_utf8_lossy(&s.stdout).into_owned())
        .unwrap_or_default()
}

/// The main process on a pty sized from the start, reading the host's stdin; an exec on its
/// own stream seeing the guest's network (eth0's address, the default route) and resolving a
/// name through the agent's DNS forwarder (answered here) in the main process's PID namespace;
/// a resize; then SIGTERM, which the main process (PID 1 there, no handler) ignores, and
/// SIGKILL: Docker's 137.
fn a_terminal_guest_takes_stdin_resizes_execs_signals_and_resolves(setup: &Setup) {
    let mut launch = setup.launch(
        "tty",
        &[
            "sh",
            "-c",
            "stty size; read line; echo \"got $line\"; read again; stty size; exec sleep 60",
        ],
    );
    launch.guest.process.terminal = true;
    launch.guest.process.stdin = true;
    launch.guest.process.console_size = Some((30, 100));
    launch.guest.dns_forward = true;
    launch.guest.network = Some(GuestNetwork {
        mac: "52:54:00:12:34:56".to_string(),
        addresses: vec!["10.0.2.15/24".to_string()],
        gateway: Some("10.0.2.2".to_string()),
        gateway6: None,
        mtu: 1400,
    });
    launch.nic = Some(Nic::User { forwards: vec![] });
    let started = Instant::now();
    let mut vm = Vm::spawn(&launch, &setup.kernel, &setup.accel).unwrap();
    let (mut channel, _) = vm.connect_agent(Duration::from_secs(60)).unwrap();
    channel
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    Frame::json(Kind::Run, MAIN_STREAM, &launch.guest)
        .write_to(&mut channel)
        .unwrap();
    let mut streams = HashMap::new();
    let mut queries = 0;
    let mut dns = |frame: &Frame| {
        queries += 1;
        Some(Frame::new(
            Kind::DnsReply,
            frame.stream,
            dns_answer(&frame.payload),
        ))
    };
    read_until(&mut channel, &mut streams, &mut dns, &|s| {
        text(s.get(&MAIN_STREAM)).contains("30 100")
    });
    Frame::new(Kind::Stdin, MAIN_STREAM, b"hello\n".to_vec())
        .write_to(&mut channel)
        .unwrap();
    read_until(&mut channel, &mut streams, &mut dns, &|s| {
        text(s.get(&MAIN_STREAM)).contains("got hello")
    });

    // QMP answers while the guest runs: its status, and a port forward added to the user NIC.
    let status = vm.qmp("query-status", serde_json::Value::Null).unwrap();
    assert_eq!(status["status"], "running", "{status}");
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    vm.qmp(
        "human-monitor-command",
        serde_json::json!({"command-line": format!("hostfwd_add tcp:127.0.0.1:{free_port}-:80")}),
    )
    .unwrap();
    assert!(
        vm.qmp("no-such-command", serde_json::Value::Null).is_err(),
        "an unknown command is QMP's error"
    );

    let exec = GuestExec {
        process: GuestProcess {
            args: vec![
                "sh".to_string(),
                "-c".to_string(),
                "ip -4 addr show eth0; ip route; nslookup web.example 127.0.0.11; hostname; \
                 echo pid1=$(cat /proc/1/comm) self=$$; exit 3"
                    .to_string(),
            ],
            env: vec!["PATH=/bin".to_string()],
            cwd: "/".to_string(),
            ..GuestProcess::default()
        },
    };
    Frame::json(Kind::Run, 1, &exec)
        .write_to(&mut channel)
        .unwrap();
    read_until(&mut channel, &mut streams, &mut dns, &|s| {
        s.get(&1).is_some_and(|e| e.exit.is_some())
    });
    let exec_seen = &streams[&1];
    let exec_out = text(Some(exec_seen));
    assert_eq!(exec_seen.exit, Some(3), "{exec_seen:?}");
    assert!(exec_out.contains("inet 10.0.2.15/24"), "{exec_out}");
    assert!(exec_out.contains("mtu 1400"), "{exec_out}");
    assert!(
        exec_out.contains("default via 10.0.2.2 dev eth0"),
        "{exec_out}"
    );
    assert!(
        exec_out.contains("10.9.8.7"),
        "{exec_out}\n{}",
        String::from_utf8_lossy(&exec_seen.stderr)
    );
    assert!(exec_out.contains("tty\n"), "the hostname: {exec_out}");
    // The exec runs in the container's PID namespace, whose PID 1 is the main process (its
    // /proc shows that namespace), not the agent.
    assert!(exec_out.contains("pid1=sh self="), "{exec_out}");
    assert!(!exec_out.contains("self=1\n"), "{exec_out}");

    let mut resize = 40u16.to_le_bytes().to_vec();
    resize.extend_from_slice(&120u16.to_le_bytes());
    Frame::new(Kind::Resize, MAIN_STREAM, resize)
        .write_to(&mut channel)
        .unwrap();
    Frame::new(Kind::Stdin, MAIN_STREAM, b"more\n".to_vec())
        .write_to(&mut channel)
        .unwrap();
    read_until(&mut channel, &mut streams, &mut dns, &|s| {
        text(s.get(&MAIN_STREAM)).contains("40 120")
    });
    // The main process is `sleep`, PID 1 of its namespace as in a container: SIGTERM, which it
    // has no handler for, does nothing; SIGKILL ends it (Docker's 137 after a stop's timeout).
    Frame::int(Kind::Signal, MAIN_STREAM, libc::SIGTERM)
        .write_to(&mut channel)
        .unwrap();
    let quiet_until = Instant::now() + Duration::from_millis(700);
    while let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
        channel
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match Frame::read_from(&mut channel) {
            Ok(Some(frame)) => assert!(
                !(frame.kind == Kind::Exit && frame.stream == MAIN_STREAM),
                "SIGTERM should be ignored by PID 1 without a handler"
            ),
            Err(berth_vm::protocol::ProtocolError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            other => panic!("the channel: {other:?}"),
        }
    }
    channel
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    Frame::int(Kind::Signal, MAIN_STREAM, libc::SIGKILL)
        .write_to(&mut channel)
        .unwrap();
    read_until(&mut channel, &mut streams, &mut dns, &|s| {
        s.get(&MAIN_STREAM).is_some_and(|m| m.exit.is_some())
    });
    assert_eq!(streams[&MAIN_STREAM].exit, Some(137));
    assert!(queries > 0);
    let status = vm
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("QEMU exits after the main process");
    assert!(status.success());
    eprintln!("  the whole session took {:?}", started.elapsed());
}

/// Readiness has a deadline: past it, the error says so (with the serial log's tail) and the
/// QEMU the `Vm` owned is gone once it is dropped.
fn a_guest_that_is_not_ready_in_time_is_an_error_and_goes(setup: &Setup) {
    let launch = setup.launch("late", &["true"]);
    let mut vm = Vm::spawn(&launch, &setup.kernel, &setup.accel).unwrap();
    let pid = vm.pid();
    let err = vm
        .connect_agent(Duration::from_millis(50))
        .expect_err("QEMU alone takes longer than 50 ms to load the kernel");
    assert!(
        matches!(err, berth_vm::VmError::BootTimeout { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("did not say hello within 50 ms"),
        "{err}"
    );
    drop(vm);
    // SAFETY: kill(pid, 0) only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "QEMU {pid} outlived its Vm");
}
