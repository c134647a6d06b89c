//! `berth vm-relay CONFIG`: from a [`Launch`] file to a booted guest and its main process's
//! exit code. The steps a container's init would take, in order: the network namespace (for
//! the guest's DNS queries), the terminal, the control socket, the kernel and accelerator,
//! QEMU, the agent's Hello; then [`Relay::booted`] runs until the end.

use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use super::{HostIo, Machine, Relay, bind_control};
use crate::accel::{self, Accel};
use crate::config::Launch;
use crate::kernel::{GuestKernel, guest_kernel};
use crate::qemu::{Vm, serial_tail};
use crate::terminal::Terminal;

/// The boot timeout when the launch names none: a TCG boot takes ~2 s on a loaded 2-core
/// host, ten times that is a guest that will not come up.
const DEFAULT_BOOT_TIMEOUT: Duration = Duration::from_secs(20);

/// Exit code of a relay whose guest never ran the process (Docker's for a failed start).
const BOOT_FAILED: i32 = 125;

/// The file in the cache directory that says the TCG notice was shown for this state root.
const TCG_NOTICE_SHOWN: &str = "tcg-notice-shown";

/// Runs the guest `config` describes; returns the relay's exit code.
pub fn run(config: &Path) -> i32 {
    let launch: Launch = match std::fs::read(config)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(launch) => launch,
        Err(e) => {
            eprintln!("berth vm-relay: reading {}: {e}", config.display());
            return BOOT_FAILED;
        }
    };
    if let Some(netns) = &launch.netns
        && let Err(e) = join_netns(netns)
    {
        eprintln!("berth vm-relay: joining {}: {e}", netns.display());
        return BOOT_FAILED;
    }
    let io = match host_io(&launch) {
        Ok(io) => io,
        Err(e) => {
            eprintln!("berth vm-relay: the container's terminal: {e}");
            return BOOT_FAILED;
        }
    };
    let listener = match bind_control(&launch.run_dir) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "berth vm-relay: binding {}: {e}",
                super::control::socket_path(&launch.run_dir).display()
            );
            return BOOT_FAILED;
        }
    };
    let relay = Relay::new(&launch.id, launch.guest.clone(), io, listener);
    // QEMU is spawned from this thread, which lives as long as the relay: its PDEATHSIG
    // follows the spawning thread.
    let booted = boot(&launch, &relay);
    match booted {
        Ok((vm, agent)) => relay.booted(agent, Box::new(Qemu { vm })),
        Err(message) => {
            relay.boot_failed(message);
            BOOT_FAILED
        }
    }
}

/// The kernel, the accelerator, QEMU and the agent's Hello; an error is the user's message.
fn boot(launch: &Launch, relay: &Relay) -> Result<(Vm, std::os::unix::net::UnixStream), String> {
    let kernel: GuestKernel =
        guest_kernel(&launch.cache_dir, launch.kernel.as_deref(), launch.profile)
            .map_err(|e| e.to_string())?;
    let accel = accel::choose(&launch.cache_dir);
    tcg_notice(&launch.cache_dir, &accel);
    let mut vm = Vm::spawn(launch, &kernel, &accel).map_err(|e| e.to_string())?;
    relay.spawned(vm.pid());
    let timeout = match launch.boot_timeout_ms {
        0 => DEFAULT_BOOT_TIMEOUT,
        ms => Duration::from_millis(ms),
    };
    let (agent, _hello) = vm.connect_agent(timeout).map_err(|e| e.to_string())?;
    Ok((vm, agent))
}

/// Says once per state root, on the container's stderr, that guests are emulated and why.
fn tcg_notice(cache_dir: &Path, accel: &Accel) {
    let Accel::Tcg { reason } = accel else { return };
    let marker = cache_dir.join(TCG_NOTICE_SHOWN);
    if std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
        .is_ok()
    {
        eprintln!(
            "berth: micro-VMs run under TCG emulation here, not KVM ({reason}); `berth info` says so too"
        );
    }
}

/// setns(2) into the container's network namespace: the guest's DNS queries are sent from it.
fn join_netns(path: &Path) -> std::io::Result<()> {
    let file = File::open(path)?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}

/// The relay's own stdio, or a terminal when the guest process has one.
fn host_io(launch: &Launch) -> std::io::Result<HostIo> {
    if let (Some(socket), true) = (&launch.console_socket, launch.guest.process.terminal) {
        return Ok(HostIo::Terminal(Terminal::open(socket)?));
    }
    let stdio = |fd: i32| -> std::io::Result<File> {
        // SAFETY: fds 0, 1 and 2 are this process's stdio for its whole life; borrowed to dup.
        let owned: OwnedFd = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?;
        Ok(File::from(owned))
    };
    Ok(HostIo::Pipes {
        stdin: stdio(0)?,
        stdout: stdio(1)?,
        stderr: stdio(2)?,
    })
}

/// QEMU as the relay drives it.
struct Qemu {
    vm: Vm,
}

impl Machine for Qemu {
    fn pid(&self) -> i32 {
        self.vm.pid()
    }

    fn exited(&mut self) -> Option<i32> {
        let status = self.vm.try_wait().ok()??;
        Some(
            status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        )
    }

    fn kill(&mut self) {
        let _ = self.vm.kill();
    }

    fn pause(&mut self) -> Result<(), String> {
        self.vm
            .qmp("stop", serde_json::Value::Null)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn resume(&mut self) -> Result<(), String> {
        self.vm
            .qmp("cont", serde_json::Value::Null)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn serial_tail(&self) -> String {
        serial_tail(self.vm.run_dir(), 20)
    }
}
