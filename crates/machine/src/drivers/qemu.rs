//! The `qemu` driver: the machine is a QEMU microvm run by `berth vm-relay` (berth-vm's
//! host-side relay), detached from the command that starts it. The guest is berth's own kernel
//! and initramfs (the machine profile: a Docker host's modules and a shell); its main process is
//! `berth serve` on TCP 2376 with mutual TLS, its state on the machine's qcow2 disk at
//! /var/lib/berth, its API forwarded from 127.0.0.1:<api port> by QEMU's user-mode network.
//!
//! The relay is the machine's one recorded process ([`ProcessRecord`]): QEMU dies with it
//! (PDEATHSIG), so "the relay is alive" is "the machine runs", and killing the relay by pid is
//! a complete kill.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_vm::config::{
    GuestExec, GuestFile, GuestMount, GuestNetwork, GuestProcess, GuestProfile, GuestRun, HostDisk,
    Launch, Nic, PortForward,
};
use berth_vm::relay::control::{self, Request};
use nix::sys::signal::Signal;

use crate::MachineError;
use crate::certs;
use crate::disk;
use crate::driver::{ExecRequest, MachineDriver, State};
use crate::machine::Machine;
use crate::process::ProcessRecord;

/// The port `berth serve` listens on in the guest (Docker's TLS port).
pub const GUEST_API_PORT: u16 = 2376;
/// The disk's serial on virtio-blk, how the guest agent finds it.
const DISK_SERIAL: &str = "berth-data";
/// Where the guest keeps its certificates.
const GUEST_CERTS: &str = "/etc/berth/certs";
/// How long the relay may wait for the agent's Hello (software emulation, a loaded host).
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// QEMU's user-mode network: the guest's address, gateway and DNS forwarder.
const SLIRP_GUEST: &str = "10.0.2.15/24";
const SLIRP_GATEWAY: &str = "10.0.2.2";
const SLIRP_DNS: &str = "10.0.2.3";
const GUEST_MAC: &str = "52:54:00:12:34:56";

pub struct Qemu;

impl Qemu {
    fn launch(&self, machine: &Machine) -> Result<Launch, MachineError> {
        let config = &machine.config;
        let certs_dir = machine.certs_dir();
        let cert = |file: &str| -> Result<GuestFile, MachineError> {
            Ok(GuestFile {
                path: format!("{GUEST_CERTS}/{file}"),
                content: certs::read(&certs_dir, file)?,
            })
        };
        let guest_cert = |file: &str| format!("{GUEST_CERTS}/{file}");
        let process = GuestProcess {
            // The initramfs's /init is the berth binary; run as anything but PID 1 it is the
            // ordinary CLI.
            args: vec![
                "/init".into(),
                "serve".into(),
                "-H".into(),
                format!("tcp://0.0.0.0:{GUEST_API_PORT}"),
                "--tlsverify".into(),
                "--tlscacert".into(),
                guest_cert(certs::CA),
                "--tlscert".into(),
                guest_cert(certs::SERVER),
                "--tlskey".into(),
                guest_cert(certs::SERVER_KEY),
            ],
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                "HOME=/root".into(),
                "BERTH_ROOT=/var/lib/berth".into(),
                "BERTH_RUN=/run/berth".into(),
            ],
            cwd: "/".into(),
            ..GuestProcess::default()
        };
        Ok(Launch {
            id: format!("machine-{}", config.name),
            run_dir: machine.paths.run.clone(),
            cache_dir: machine.paths.vm_cache.clone(),
            kernel: config.kernel.clone(),
            cpus: config.cpus,
            memory_mib: config.memory_mib,
            shares: Vec::new(),
            disks: vec![HostDisk {
                path: machine.paths.disk(),
                format: "qcow2".into(),
                serial: DISK_SERIAL.into(),
            }],
            netns: None,
            nic: Some(Nic::User {
                forwards: vec![PortForward {
                    host_address: "127.0.0.1".into(),
                    host_port: config.api_port,
                    guest_port: GUEST_API_PORT,
                }],
            }),
            guest: GuestRun {
                process,
                hostname: config.name.clone(),
                shared_root: false,
                mounts: vec![GuestMount::Disk {
                    serial: DISK_SERIAL.into(),
                    destination: "/var/lib/berth".into(),
                    fstype: "ext4".into(),
                }],
                files: vec![
                    cert(certs::CA)?,
                    cert(certs::SERVER)?,
                    cert(certs::SERVER_KEY)?,
                    GuestFile {
                        path: "/etc/resolv.conf".into(),
                        content: format!("nameserver {SLIRP_DNS}\n"),
                    },
                ],
                network: Some(GuestNetwork {
                    mac: GUEST_MAC.into(),
                    addresses: vec![SLIRP_GUEST.into()],
                    gateway: Some(SLIRP_GATEWAY.into()),
                    gateway6: None,
                    mtu: 1500,
                }),
                dns_forward: false,
                // The guest has no clock worth trusting: it is the host's at every start.
                clock_ns: chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            },
            console_socket: None,
            boot_timeout_ms: BOOT_TIMEOUT.as_millis() as u64,
            profile: GuestProfile::Machine,
        })
    }

    /// The relay's record, when that process still runs.
    fn record(&self, machine: &Machine) -> Option<ProcessRecord> {
        ProcessRecord::load(&machine.paths.process_record()).filter(ProcessRecord::alive)
    }

    /// Removes what a boot left in the runtime directory, but its logs.
    fn clear_runtime(&self, machine: &Machine) {
        let Ok(entries) = std::fs::read_dir(&machine.paths.run) else {
            return;
        };
        for entry in entries.flatten() {
            let is_log = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(".log"));
            if is_log {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

impl MachineDriver for Qemu {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn check_host(&self) -> Result<(), MachineError> {
        for (program, hint) in [
            ("qemu-system-x86_64", "apt-get install qemu-system-x86"),
            ("qemu-img", "apt-get install qemu-utils"),
            ("mkfs.ext4", "apt-get install e2fsprogs"),
        ] {
            if !disk::on_path(program) {
                return Err(MachineError::MissingTool {
                    program: program.into(),
                    hint: hint.into(),
                });
            }
        }
        Ok(())
    }

    fn create(&self, machine: &Machine) -> Result<(), MachineError> {
        disk::create(&machine.paths.disk(), machine.config.disk_bytes)
    }

    fn start(&self, machine: &Machine) -> Result<(), MachineError> {
        let run = &machine.paths.run;
        std::fs::create_dir_all(run).map_err(MachineError::io("creating", run))?;
        self.clear_runtime(machine);
        let log_path = machine.paths.process_log();
        let _ = std::fs::remove_file(run.join("serial.log"));
        let launch = self.launch(machine)?;
        let launch_path = run.join("launch.json");
        let bytes = serde_json::to_vec_pretty(&launch).expect("the launch serializes");
        crate::paths::write_atomic(&launch_path, &bytes, 0o600)
            .map_err(MachineError::io("writing", &launch_path))?;
        let log =
            std::fs::File::create(&log_path).map_err(MachineError::io("creating", &log_path))?;
        let exe = std::env::current_exe().map_err(MachineError::io(
            "finding berth's own binary",
            "/proc/self/exe",
        ))?;
        let mut command = Command::new(exe);
        command
            .arg("vm-relay")
            .arg(&launch_path)
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(MachineError::io("opening", &log_path))?,
            )
            .stderr(log);
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent; the relay
        // gets its own session so the user's terminal (its hangup, its ^C) never reaches it.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(MachineError::io("starting the VM relay for", run))?;
        let pid = child.id() as i32;
        // The relay outlives this command: it is never waited for here (its end is seen
        // through the record), and dropping the handle leaves it running.
        drop(child);
        let record = ProcessRecord::of(pid)
            .ok_or_else(|| MachineError::Relay("the VM relay exited at once".into()))?;
        record.save(&machine.paths.process_record())?;
        // The relay binds its socket first thing; while it is not there, the relay must still
        // be alive (a relay that failed at once is reported now, not after a timeout).
        loop {
            match control::call(run, Request::Start, Duration::from_millis(100)) {
                Ok(_) => return Ok(()),
                Err(control::ControlError::Connect { .. }) if record.alive() => {}
                Err(control::ControlError::Connect { .. }) => {
                    return Err(MachineError::Relay(
                        "the VM relay exited before it served its socket".into(),
                    ));
                }
                Err(e) => return Err(MachineError::Relay(e.to_string())),
            }
        }
    }

    fn stop(&self, machine: &Machine, timeout: Duration) -> Result<(), MachineError> {
        let Some(record) = self.record(machine) else {
            self.clear_runtime(machine);
            return Ok(());
        };
        // The agent stops `berth serve`, syncs and unmounts the disk and powers off; the relay
        // exits with QEMU.
        let asked = control::call(
            &machine.paths.run,
            Request::Poweroff,
            Duration::from_secs(1),
        );
        if asked.is_err() || !record.wait_gone(timeout) {
            record.signal(Signal::SIGTERM);
            if !record.wait_gone(Duration::from_secs(5)) {
                record.signal(Signal::SIGKILL);
                record.wait_gone(Duration::from_secs(5));
            }
        }
        self.clear_runtime(machine);
        Ok(())
    }

    fn kill(&self, machine: &Machine) -> Result<(), MachineError> {
        if let Some(record) = self.record(machine) {
            record.signal(Signal::SIGKILL);
            if !record.wait_gone(Duration::from_secs(10)) {
                return Err(MachineError::Relay(format!(
                    "the VM relay (pid {}) did not die",
                    record.pid
                )));
            }
        }
        self.clear_runtime(machine);
        Ok(())
    }

    fn state(&self, machine: &Machine) -> State {
        if self.record(machine).is_some() {
            return State::Running;
        }
        // Whatever a dead boot left (its record, sockets) goes; its logs stay for errors.
        if machine.paths.process_record().exists() {
            self.clear_runtime(machine);
        }
        State::Stopped
    }

    fn endpoint(&self, machine: &Machine) -> (String, u16) {
        ("127.0.0.1".to_string(), machine.config.api_port)
    }

    fn accelerator(&self, machine: &Machine) -> String {
        match berth_vm::accel::choose(&machine.paths.vm_cache) {
            berth_vm::accel::Accel::Kvm => "kvm".into(),
            berth_vm::accel::Accel::Tcg { .. } => "tcg".into(),
        }
    }

    fn exec(&self, machine: &Machine, request: ExecRequest) -> Result<i32, MachineError> {
        let mut env = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "HOME=/root".to_string(),
        ];
        if request.console_socket.is_some() {
            env.push(format!(
                "TERM={}",
                std::env::var("TERM").unwrap_or_else(|_| "xterm".into())
            ));
        }
        let exec = GuestExec {
            process: GuestProcess {
                args: request.args,
                env,
                cwd: "/".into(),
                terminal: request.console_socket.is_some(),
                stdin: request.interactive,
                ..GuestProcess::default()
            },
        };
        let exe = std::env::current_exe().map_err(MachineError::io(
            "finding berth's own binary",
            "/proc/self/exe",
        ))?;
        let mut command = Command::new(exe);
        command.arg("vm-exec");
        if let Some(socket) = &request.console_socket {
            command.arg("--console-socket").arg(socket);
        }
        command
            .arg(&machine.paths.run)
            .arg(serde_json::to_string(&exec).expect("the exec serializes"))
            .stdin(request.stdin)
            .stdout(request.stdout)
            .stderr(request.stderr);
        let status = command.status().map_err(MachineError::io(
            "running berth vm-exec for",
            &machine.paths.run,
        ))?;
        use std::os::unix::process::ExitStatusExt;
        Ok(status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
    }

    fn boot_log(&self, machine: &Machine, lines: usize) -> String {
        let serial = berth_vm::qemu::serial_tail(&machine.paths.run, lines);
        let serial = if serial.trim().is_empty() {
            "(nothing)"
        } else {
            serial.trim_end()
        };
        format!("{serial}{}", relay_log_tail(&machine.paths.process_log()))
    }
}

/// The relay's own last lines, as a suffix for errors ("" when it said nothing).
fn relay_log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(10)..].join("\n");
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- relay log (last lines) ---\n{tail}")
    }
}
