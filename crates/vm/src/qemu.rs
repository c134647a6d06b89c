//! QEMU as berth runs it: the `microvm` machine with direct kernel boot (the PVH vmlinux and
//! berth's initramfs), virtio-mmio devices only (9p shares, virtio-blk disks, one NIC, the
//! agent's virtio-serial port), the serial console to a log file and QMP on a Unix socket, all
//! in the launch's run directory. [`Vm`] is the running QEMU, a child of the caller that dies
//! with it; readiness is the agent's Hello on its port, never a sleep.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::accel::Accel;
use crate::boot_images::BootImages;
use crate::config::{AGENT_PORT, GuestProfile, Hello, Launch, Nic};
use crate::error::VmError;
use crate::kernel::GuestKernel;
use crate::protocol::{Frame, Kind};

/// Files QEMU keeps in the run directory.
pub const SERIAL_LOG: &str = "serial.log";
pub const QEMU_LOG: &str = "qemu.log";
pub const QMP_SOCKET: &str = "qmp.sock";
pub const AGENT_SOCKET: &str = "agent.sock";
pub const PID_FILE: &str = "qemu.pid";

/// Boot-time initcalls of Debian's kernel that cost a guest ~120 ms under TCG (measured with
/// `initcall_debug`) for nothing a container or a Docker host uses: self-tests (the SP800-108
/// KDF's alone is ~100 ms of SHA-256 under emulation, BLAKE2s), kprobe and trace_printk
/// tracing, /sys/kernel/slab, the built-in X.509 certificates (module signatures: berth loads
/// its modules stripped of them) and hibernation's /dev/snapshot. The trace events' tracefs
/// files are skipped too: their ~10,000 inodes and dentries held 8 MB of an idle guest's slab.
pub const SKIPPED_INITCALLS: &[&str] = &[
    "crypto_kdf108_init",
    "blake2s_mod_init",
    "init_kprobe_trace",
    "init_trace_printk_function_export",
    "slab_sysfs_init",
    "load_system_certificate_list",
    "snapshot_device_init",
    "event_trace_init",
    "tracer_init_tracefs",
];

/// TCG's translation cache for a `run --vm` guest, in MiB (QEMU's `tb-size`).
const CONTAINER_TB_SIZE_MIB: u32 = 16;

/// The kernel command-line flag that makes the agent power off at once (the boot-time floor).
pub const FLOOR_FLAG: &str = "berth.floor";

/// The guest kernel's command line: quiet, one UART, no probing of hardware microvm lacks, no
/// self-tests; `reboot=t` + QEMU's `-no-reboot` turn the agent's reboot into QEMU's exit; under
/// TCG the TSC frequency is given (PIT calibration hangs about half the time under host load)
/// and pages are not zeroed on allocation.
/// [`SKIPPED_INITCALLS`] are left out.
pub fn kernel_cmdline(accel: &Accel) -> String {
    let mut cmdline = String::from(
        "console=ttyS0 quiet reboot=t panic=-1 8250.nr_uarts=1 no_timer_check \
         cryptomgr.notests i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd mitigations=off \
         random.trust_cpu=on nokaslr",
    );
    cmdline.push_str(" initcall_blacklist=");
    cmdline.push_str(&SKIPPED_INITCALLS.join(","));
    // BERTH_VM_DEBUG=1: the agent notes each boot step's guest uptime on the serial console.
    if std::env::var_os("BERTH_VM_DEBUG").is_some() {
        cmdline.push_str(" berth.debug");
    }

    if let Accel::Tcg { .. } = accel {
        cmdline.push_str(&format!(" tsc_early_khz={}", host_tsc_khz()));
        // Debian's kernel zeroes every page it allocates (INIT_ON_ALLOC_DEFAULT_ON), which
        // under emulation is the largest cost of unpacking the initramfs (the berth binary:
        // ~1 s for a debug build's 50 MB) and of every exec after. The guest runs one
        // container, whose memory it all is; the VM is the boundary. Under KVM it stays on.
        cmdline.push_str(" init_on_alloc=0");
    }
    cmdline
}

/// TCG's guest TSC ticks with the host's: its frequency from /proc/cpuinfo (else 2.6 GHz).
fn host_tsc_khz() -> u64 {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|mhz| mhz.trim().parse::<f64>().ok())
        })
        .map(|mhz| (mhz * 1000.0) as u64)
        .filter(|&khz| khz > 0)
        .unwrap_or(2_600_000)
}

/// A running QEMU.
pub struct Vm {
    child: Child,
    run_dir: PathBuf,
    exited: Option<ExitStatus>,
    /// What QEMU booted from, until the agent's Hello says the guest no longer needs it.
    boot_images: Option<BootImages>,
}

impl Vm {
    /// Spawns QEMU for `launch` with `PR_SET_PDEATHSIG=SIGKILL` (QEMU dies with the thread that
    /// spawned it: call this from the thread that lives as long as the guest), in
    /// `launch.netns` when set.
    /// QEMU boots from private copies of the kernel and initramfs ([`BootImages`]), which the
    /// agent's Hello releases.
    pub fn spawn(launch: &Launch, kernel: &GuestKernel, accel: &Accel) -> Result<Vm, VmError> {
        check_socket_paths(&launch.run_dir)?;
        let images = BootImages::copy(kernel)?;
        let mut vm = Self::spawn_with_cmdline(
            launch,
            &images.as_guest_kernel(),
            accel,
            &kernel_cmdline(accel),
            &images.fds(),
        )?;
        vm.boot_images = Some(images);
        Ok(vm)
    }

    /// The same guest, but the agent powers off as soon as it runs: the boot-time floor the
    /// speed of `run --vm` is measured against. QEMU reads the cached files themselves, as it
    /// would on its own.
    pub fn spawn_floor(
        launch: &Launch,
        kernel: &GuestKernel,
        accel: &Accel,
    ) -> Result<Vm, VmError> {
        check_socket_paths(&launch.run_dir)?;
        let cmdline = format!("{} {FLOOR_FLAG}", kernel_cmdline(accel));
        Self::spawn_with_cmdline(launch, kernel, accel, &cmdline, &[])
    }

    fn spawn_with_cmdline(
        launch: &Launch,
        kernel: &GuestKernel,
        accel: &Accel,
        cmdline: &str,
        inherited: &[RawFd],
    ) -> Result<Vm, VmError> {
        let run_dir = &launch.run_dir;
        fs::create_dir_all(run_dir).map_err(|source| VmError::Write {
            path: run_dir.clone(),
            source,
        })?;
        let qemu = find_qemu().ok_or(VmError::NoQemu)?;
        for stale in [QMP_SOCKET, AGENT_SOCKET, SERIAL_LOG, PID_FILE] {
            let _ = fs::remove_file(run_dir.join(stale));
        }
        let log = fs::File::create(run_dir.join(QEMU_LOG)).map_err(|source| VmError::Write {
            path: run_dir.join(QEMU_LOG),
            source,
        })?;
        let netns = match &launch.netns {
            Some(path) => Some(fs::File::open(path).map_err(|source| VmError::Read {
                path: path.clone(),
                source,
            })?),
            None => None,
        };

        let mut command = Command::new(qemu);
        command
            .args(qemu_args(launch, kernel, accel, cmdline))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(VmError::Spawn)?)
            .stderr(log);
        let netns_fd = netns.as_ref().map(|f| f.as_raw_fd());
        let inherited = inherited.to_vec();
        // SAFETY: only async-signal-safe calls (prctl, setns, fcntl) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                for &fd in &inherited {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(fd) = netns_fd
                    && libc::setns(fd, libc::CLONE_NEWNET) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(VmError::Spawn)?;
        Ok(Vm {
            child,
            run_dir: run_dir.clone(),
            exited: None,
            boot_images: None,
        })
    }

    /// Connects to the agent's port and waits for its Hello. On timeout, or QEMU exiting
    /// first, the error carries the serial log's last lines.
    pub fn connect_agent(&mut self, timeout: Duration) -> Result<(UnixStream, Hello), VmError> {
        let deadline = Instant::now() + timeout;
        let socket = self.run_dir.join(AGENT_SOCKET);
        let mut stream = loop {
            self.fail_if_exited()?;
            // QEMU creates the socket while it starts; until then there is nothing to wait on
            // but the file.
            match UnixStream::connect(&socket) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return Err(self.boot_timeout(timeout)),
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        stream
            .set_read_timeout(Some(remaining.max(Duration::from_millis(1))))
            .map_err(|e| VmError::Protocol(crate::protocol::ProtocolError::Io(e)))?;
        let frame = match Frame::read_from(&mut stream) {
            Ok(Some(frame)) => frame,
            // The port closed: QEMU is exiting.
            Ok(None) => {
                let _ = self.wait_timeout(Duration::from_secs(2));
                self.fail_if_exited()?;
                return Err(self.boot_timeout(timeout));
            }
            Err(crate::protocol::ProtocolError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                self.fail_if_exited()?;
                return Err(self.boot_timeout(timeout));
            }
            Err(e) => return Err(VmError::Protocol(e)),
        };
        if frame.kind != Kind::Hello {
            return Err(VmError::NotHello { kind: frame.kind });
        }
        let hello: Hello = frame.parse().map_err(VmError::Protocol)?;
        if let Some(images) = self.boot_images.take() {
            images.release();
        }
        stream
            .set_read_timeout(None)
            .map_err(|e| VmError::Protocol(crate::protocol::ProtocolError::Io(e)))?;
        Ok((stream, hello))
    }

    fn boot_timeout(&self, timeout: Duration) -> VmError {
        VmError::BootTimeout {
            waited_ms: timeout.as_millis() as u64,
            serial: self.diagnostics(),
        }
    }

    fn fail_if_exited(&mut self) -> Result<(), VmError> {
        if let Some(status) = self.try_wait()? {
            return Err(VmError::QemuExited {
                status: status.to_string(),
                serial: self.diagnostics(),
            });
        }
        Ok(())
    }

    /// The serial log's tail, and QEMU's own complaints when it wrote any.
    fn diagnostics(&self) -> String {
        let mut text = serial_tail(&self.run_dir, 20);
        let qemu = fs::read_to_string(self.run_dir.join(QEMU_LOG)).unwrap_or_default();
        if !qemu.trim().is_empty() {
            text.push_str("\nQEMU said: ");
            text.push_str(qemu.trim());
        }
        text
    }

    /// QEMU's process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, VmError> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().map_err(VmError::Wait)?;
        }
        Ok(self.exited)
    }

    /// Waits for QEMU to exit.
    pub fn wait(&mut self) -> Result<ExitStatus, VmError> {
        if let Some(status) = self.exited {
            return Ok(status);
        }
        let status = self.child.wait().map_err(VmError::Wait)?;
        self.exited = Some(status);
        Ok(status)
    }

    /// Waits at most `timeout` for QEMU to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, VmError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, then reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, VmError> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        let _ = self.child.kill();
        self.wait()
    }

    /// The run directory's serial log, QMP socket and so on.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// One QMP command (`stop`, `cont`, `quit`, `human-monitor-command` for `hostfwd_add`):
    /// its `return` value, or its error's description.
    pub fn qmp(
        &self,
        command: &str,
        arguments: serde_json::Value,
    ) -> Result<serde_json::Value, VmError> {
        qmp(&self.run_dir.join(QMP_SOCKET), command, arguments)
    }
}

impl Drop for Vm {
    /// A `Vm` dropped while QEMU runs kills it: no guest outlives the handle that owned it.
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Refuses a run directory whose sockets' paths a Unix socket address cannot hold (108 bytes
/// with the terminating NUL), before anything is made: QEMU would fail later, less clearly.
fn check_socket_paths(run_dir: &Path) -> Result<(), VmError> {
    for socket in [QMP_SOCKET, AGENT_SOCKET] {
        let path = run_dir.join(socket);
        if path.as_os_str().len() > 107 {
            return Err(VmError::SocketPathTooLong { path });
        }
    }
    Ok(())
}

/// One QMP exchange on `socket`: the greeting, capabilities negotiation, the command.
pub fn qmp(
    socket: &Path,
    command: &str,
    arguments: serde_json::Value,
) -> Result<serde_json::Value, VmError> {
    let io_error = |source| VmError::QmpIo {
        path: socket.to_path_buf(),
        source,
    };
    let stream = UnixStream::connect(socket).map_err(io_error)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io_error)?;
    let mut writer = stream.try_clone().map_err(io_error)?;
    let mut reader = BufReader::new(stream);
    let read_reply = |reader: &mut BufReader<UnixStream>| -> Result<serde_json::Value, VmError> {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(io_error)? == 0 {
                return Err(io_error(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let value: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| io_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
            // Events and the greeting come between; only a return or an error answers.
            if let Some(result) = value.get("return") {
                return Ok(result.clone());
            }
            if let Some(error) = value.get("error") {
                return Err(VmError::Qmp {
                    command: command.to_string(),
                    message: error
                        .get("desc")
                        .and_then(|d| d.as_str())
                        .unwrap_or("unknown error")
                        .to_string(),
                });
            }
        }
    };
    let mut send = |value: serde_json::Value| -> Result<(), VmError> {
        let mut line = value.to_string();
        line.push('\n');
        writer.write_all(line.as_bytes()).map_err(io_error)
    };
    send(serde_json::json!({"execute": "qmp_capabilities"}))?;
    read_reply(&mut reader)?;
    let mut request = serde_json::json!({"execute": command});
    if !arguments.is_null() {
        request["arguments"] = arguments;
    }
    send(request)?;
    match read_reply(&mut reader) {
        // `quit` may close the socket before its answer arrives.
        Err(VmError::QmpIo { .. }) if command == "quit" => Ok(serde_json::Value::Null),
        other => other,
    }
}

/// The last `lines` lines of the guest's serial console log in `run_dir`.
pub fn serial_tail(run_dir: &Path, lines: usize) -> String {
    let bytes = fs::read(run_dir.join(SERIAL_LOG)).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `qemu-system-x86_64` on `PATH`.
fn find_qemu() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join("qemu-system-x86_64"))
        .find(|candidate| candidate.is_file())
}

/// A value inside a QEMU option list: commas are doubled.
fn escape(value: &Path) -> String {
    value.to_string_lossy().replace(',', ",,")
}

/// QEMU's arguments for `launch`.
pub fn qemu_args(
    launch: &Launch,
    kernel: &GuestKernel,
    accel: &Accel,
    cmdline: &str,
) -> Vec<String> {
    let run_dir = &launch.run_dir;
    let mut args: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    let (accel_name, cpu) = match accel {
        Accel::Kvm => ("kvm", "host"),
        Accel::Tcg { .. } => ("tcg", "max"),
    };
    let accel_option = match (accel, launch.profile) {
        // TCG's translation cache grows to ~46 MB of resident memory over a boot; capped at
        // 16 MB (flushed when full) a container's boot takes no more CPU time, measured with
        // `vm-floor`. A machine runs a whole Docker host's code and keeps QEMU's default.
        (Accel::Tcg { .. }, GuestProfile::Container) => {
            format!("{accel_name},tb-size={CONTAINER_TB_SIZE_MIB}")
        }
        _ => accel_name.to_string(),
    };
    let name = if launch.id.is_empty() {
        "berth"
    } else {
        &launch.id
    };
    push(&[
        "-name",
        name,
        "-M",
        "microvm,pit=on,pic=on,rtc=on,x-option-roms=off",
        "-accel",
        &accel_option,
        "-cpu",
        cpu,
        "-m",
        &launch.memory_mib.max(64).to_string(),
        "-smp",
        &launch.cpus.max(1).to_string(),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        &format!("file:{}", escape(&run_dir.join(SERIAL_LOG))),
        "-kernel",
        &escape(&kernel.vmlinux),
        "-initrd",
        &escape(&kernel.initramfs),
        "-append",
        cmdline,
        "-qmp",
        &format!(
            "unix:{},server=on,wait=off",
            escape(&run_dir.join(QMP_SOCKET))
        ),
        "-pidfile",
        &run_dir.join(PID_FILE).to_string_lossy(),
    ]);
    for (i, share) in launch.shares.iter().enumerate() {
        let readonly = if share.readonly { ",readonly=on" } else { "" };
        push(&[
            "-fsdev",
            &format!(
                "local,id=fs{i},path={},security_model=passthrough{readonly}",
                escape(&share.source)
            ),
            "-device",
            &format!("virtio-9p-device,fsdev=fs{i},mount_tag={}", share.tag),
        ]);
    }
    for (i, disk) in launch.disks.iter().enumerate() {
        push(&[
            "-drive",
            &format!(
                "id=disk{i},file={},format={},if=none,discard=unmap",
                escape(&disk.path),
                disk.format
            ),
            "-device",
            &format!("virtio-blk-device,drive=disk{i},serial={}", disk.serial),
        ]);
    }
    if let Some(nic) = &launch.nic {
        let netdev = match nic {
            Nic::Tap { name } => {
                format!("tap,id=net0,ifname={name},script=no,downscript=no")
            }
            Nic::User { forwards } => {
                let mut netdev = String::from("user,id=net0");
                for forward in forwards {
                    netdev.push_str(&format!(
                        ",hostfwd=tcp:{}:{}-:{}",
                        forward.host_address, forward.host_port, forward.guest_port
                    ));
                }
                netdev
            }
        };
        let mut device = String::from("virtio-net-device,netdev=net0");
        if let Some(network) = &launch.guest.network {
            device.push_str(&format!(",mac={}", network.mac));
        }
        push(&["-netdev", &netdev, "-device", &device]);
    }
    // Free page reporting: memory the guest frees goes back to the host (an idle guest's
    // footprint), without the host asking for it.
    push(&["-device", "virtio-balloon-device,free-page-reporting=on"]);
    // Two ports (0 is reserved for a console, the agent's is 1): the default 31 cost the
    // guest's virtio_console ~20 ms under TCG setting up 64 virtqueues.
    push(&[
        "-chardev",
        &format!(
            "socket,id=agent,path={},server=on,wait=off",
            escape(&run_dir.join(AGENT_SOCKET))
        ),
        "-device",
        "virtio-serial-device,max_ports=2",
        "-device",
        &format!("virtserialport,chardev=agent,name={AGENT_PORT}"),
    ]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GuestNetwork, GuestRun, HostDisk, HostShare, PortForward};

    #[test]
    fn the_command_line_has_every_device_of_the_launch() {
        let launch = Launch {
            id: "c1".into(),
            run_dir: "/run/x".into(),
            cpus: 2,
            memory_mib: 512,
            shares: vec![HostShare {
                tag: "berth-root".into(),
                source: "/var/a,b".into(),
                readonly: false,
            }],
            disks: vec![HostDisk {
                path: "/d.qcow2".into(),
                format: "qcow2".into(),
                serial: "data".into(),
            }],
            nic: Some(Nic::User {
                forwards: vec![PortForward {
                    host_address: "127.0.0.1".into(),
                    host_port: 8080,
                    guest_port: 80,
                }],
            }),
            guest: GuestRun {
                network: Some(GuestNetwork {
                    mac: "02:42:ac:11:00:02".into(),
                    addresses: vec![],
                    gateway: None,
                    gateway6: None,
                    mtu: 1500,
                }),
                ..GuestRun::default()
            },
            ..Launch::default()
        };
        let kernel = GuestKernel {
            vmlinux: "/c/vmlinux".into(),
            initramfs: "/c/i.cpio".into(),
            version: "6.1".into(),
        };
        let args = qemu_args(
            &launch,
            &kernel,
            &Accel::Tcg { reason: "x".into() },
            "console=ttyS0",
        );
        let line = args.join(" ");
        for expected in [
            "-accel tcg,tb-size=16 -cpu max -m 512 -smp 2",
            "-serial file:/run/x/serial.log",
            "local,id=fs0,path=/var/a,,b,security_model=passthrough",
            "virtio-9p-device,fsdev=fs0,mount_tag=berth-root",
            "id=disk0,file=/d.qcow2,format=qcow2,if=none",
            "virtio-blk-device,drive=disk0,serial=data",
            "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80",
            "virtio-net-device,netdev=net0,mac=02:42:ac:11:00:02",
            "virtserialport,chardev=agent,name=berth-agent",
            "-qmp unix:/run/x/qmp.sock,server=on,wait=off",
        ] {
            assert!(line.contains(expected), "{expected} missing from {line}");
        }
        assert!(kernel_cmdline(&Accel::Kvm).contains("reboot=t"));
        assert!(!kernel_cmdline(&Accel::Kvm).contains("tsc_early_khz"));
        assert!(
            kernel_cmdline(&Accel::Tcg {
                reason: String::new()
            })
            .contains("tsc_early_khz=")
        );
    }

    #[test]
    fn a_run_directory_too_long_for_a_socket_is_refused_up_front() {
        let launch = Launch {
            run_dir: PathBuf::from(format!("/tmp/{}", "d".repeat(120))),
            ..Launch::default()
        };
        let kernel = GuestKernel {
            vmlinux: "/none".into(),
            initramfs: "/none".into(),
            version: "6.1".into(),
        };
        let accel = Accel::Tcg {
            reason: String::new(),
        };
        assert!(matches!(
            Vm::spawn(&launch, &kernel, &accel),
            Err(VmError::SocketPathTooLong { .. })
        ));
    }

    #[test]
    fn the_serial_tail_is_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SERIAL_LOG), "a\nb\nc\nd\n").unwrap();
        assert_eq!(serial_tail(dir.path(), 2), "c\nd");
        assert_eq!(serial_tail(&dir.path().join("none"), 2), "");
    }
}
