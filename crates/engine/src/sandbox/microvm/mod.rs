//! The micro-VM sandbox (`--runtime vm`, `run --vm`): a container is a guest with its own
//! kernel under QEMU, its root the container's mounted rootfs shared over 9p (so cp, diff,
//! commit and export work as for any container). Its init on the host is the relay
//! (`berth vm-relay`, see `berth_vm::relay`): the shim starts, waits for and signals it as it
//! would a container's init; the relay boots the guest, runs the process in it and exits with
//! its exit code. Execs go through the relay's control socket (`berth vm-exec`), pause is
//! QEMU's `stop`, and the counters are the relay's cgroup's: the VM's host CPU and memory.
//!
//! One file per concern: the guest's launch from the container's settings ([`launch`]) and the
//! helpers' spawning ([`spawn`]).

pub mod launch;
mod spawn;

use std::ffi::OsStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_vm::config::{GuestExec, GuestNetwork, GuestProcess, Launch as VmLaunch};
use berth_vm::relay::control::{self, ControlError, Request};

use super::{ExecProcess, InitIo, Launch, Place, Sandbox, SandboxError, Usage, cgroups};
use crate::store::ContainerRecord;
use crate::types::HostConfig;
use spawn::Stdio3;

/// The `--runtime` value that picks this sandbox.
pub const RUNTIME: &str = "vm";

/// The launch file in the relay's run directory.
const LAUNCH_FILE: &str = "launch.json";

/// How long a control request waits for the relay's socket to appear (it binds it first).
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// A container run as a micro-VM.
pub(crate) struct MicroVm {
    place: Place,
}

impl MicroVm {
    pub(crate) fn new(place: Place) -> MicroVm {
        MicroVm { place }
    }

    fn launch_path(&self) -> PathBuf {
        self.place.vm_run_dir.join(LAUNCH_FILE)
    }

    fn read_launch(&self) -> Result<VmLaunch, SandboxError> {
        let bytes = std::fs::read(self.launch_path()).map_err(|e| {
            failed(format!(
                "reading the VM's launch {}: {e}",
                self.launch_path().display()
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SandboxError::Failed(Box::new(e)))
    }

    fn write_launch(&self, launch: &VmLaunch) -> Result<(), SandboxError> {
        let json = serde_json::to_vec(launch).map_err(|e| SandboxError::Failed(Box::new(e)))?;
        std::fs::create_dir_all(&self.place.vm_run_dir)
            .and_then(|_| std::fs::write(self.launch_path(), json))
            .map_err(|e| failed(format!("writing the VM's launch: {e}")))
    }

    fn call(&self, request: Request) -> Result<control::Reply, SandboxError> {
        control::call(&self.place.vm_run_dir, request, CONNECT_WAIT).map_err(|e| match e {
            ControlError::Refused {
                message,
                exit_code: Some(exit_code @ (126 | 127)),
            } => SandboxError::CannotRun { message, exit_code },
            other => SandboxError::Failed(Box::new(other)),
        })
    }
}

impl Sandbox for MicroVm {
    /// The guest has one NIC, eth0, set up at boot (QEMU's microvm has no hotplug).
    fn network_limit(&self) -> Option<usize> {
        Some(1)
    }

    fn check(&self) -> Result<(), SandboxError> {
        match on_path("qemu-system-x86_64") {
            Some(_) => Ok(()),
            None => Err(SandboxError::Refused(
                "--vm needs QEMU: qemu-system-x86_64 is not on $PATH (Debian: apt-get install qemu-system-x86)"
                    .into(),
            )),
        }
    }

    fn mount_rootfs(&self, layers: &[PathBuf], volatile: bool) -> Result<PathBuf, SandboxError> {
        let target = self.place.run_dir.join("rootfs");
        super::rootfs::mount(layers, &self.place.container_dir, &target, volatile)?;
        Ok(target)
    }

    fn prepare(&self, rec: &ContainerRecord, launch: Launch) -> Result<(), SandboxError> {
        if rec.config.host_config.network_mode == "host" {
            return Err(SandboxError::Refused(
                "--network host cannot apply to a --vm container: its guest has its own kernel and network stack (publish ports with -p instead)"
                    .into(),
            ));
        }
        let nic = match &launch.netns {
            // `--network container:X` shares X's namespace: its eth0 is X's, not ours to take.
            Some(netns)
                if !rec
                    .config
                    .host_config
                    .network_mode
                    .starts_with("container:") =>
            {
                hand_over(netns)?
            }
            _ => None,
        };
        let vm = launch::build(
            &rec.id,
            &rec.config,
            launch,
            launch::Dirs {
                run_dir: &self.place.vm_run_dir,
                cache_dir: &self.place.vm_cache_dir,
            },
            nic,
        )?;
        self.write_launch(&vm)
    }

    fn create(&self, io: InitIo) -> Result<i32, SandboxError> {
        let mut vm = self.read_launch()?;
        vm.console_socket = io.console_socket;
        self.write_launch(&vm)?;
        let _ = std::fs::remove_file(control::socket_path(&self.place.vm_run_dir));
        let cgroups = cgroups::make(&self.place.id)?;
        let launch = self.launch_path();
        spawn::helper(
            &[OsStr::new("vm-relay"), launch.as_os_str()],
            Stdio3 {
                stdin: io.stdin,
                stdout: io.stdout,
                stderr: io.stderr,
            },
            &cgroups,
        )
    }

    fn start(&self) -> Result<(), SandboxError> {
        self.call(Request::Start).map(|_| ())
    }

    fn init_pidfd(&self, pid: i32) -> Option<OwnedFd> {
        crate::proc::container_pidfd(pid, &cgroups::path_of(&self.place.id))
    }

    fn signal(&self, init: BorrowedFd<'_>, signal: i32) -> std::io::Result<()> {
        crate::proc::signal(init, signal)
    }

    fn exec(&self, process: ExecProcess) -> Result<i32, SandboxError> {
        let exec = GuestExec {
            process: GuestProcess {
                args: process.args,
                env: process.env,
                cwd: process.cwd.unwrap_or_else(|| "/".into()),
                uid: process.uid,
                gid: process.gid,
                additional_gids: process.additional_gids,
                terminal: process.terminal,
                console_size: process.console_size,
                stdin: process.stdin.is_some() || process.terminal,
            },
        };
        let json = serde_json::to_string(&exec).map_err(|e| SandboxError::Failed(Box::new(e)))?;
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("vm-exec"),
            self.place.vm_run_dir.as_os_str(),
            OsStr::new(&json),
        ];
        if let Some(socket) = &process.console_socket {
            args.push(OsStr::new("--console-socket"));
            args.push(socket.as_os_str());
        }
        spawn::helper(
            &args,
            Stdio3 {
                stdin: process.stdin,
                stdout: process.stdout,
                stderr: process.stderr,
            },
            &[],
        )
    }

    fn pause(&self) -> Result<(), SandboxError> {
        self.call(Request::Pause).map(|_| ())
    }

    fn resume(&self) -> Result<(), SandboxError> {
        self.call(Request::Resume).map(|_| ())
    }

    fn stats(&self) -> Result<Usage, SandboxError> {
        cgroups::stats(&cgroups::path_of(&self.place.id), &self.place.id)
    }

    fn oom_killed(&self) -> bool {
        cgroups::oom_killed(&cgroups::path_of(&self.place.id))
    }

    fn processes(&self) -> Vec<i32> {
        cgroups::processes(&self.place.id)
    }

    fn update(&self, hc: &HostConfig, running: bool) -> Result<(), SandboxError> {
        if !running {
            // Kept in the record; the next start's VM gets them.
            return Ok(());
        }
        let Ok(current) = self.read_launch() else {
            return Ok(());
        };
        if launch::cpus_of(hc) != current.cpus || launch::memory_mib_of(hc) != current.memory_mib {
            return Err(SandboxError::Refused(
                format!(
                    "Cannot update container {}: a --vm container's CPUs and memory are its VM's, fixed when it starts (stop it, update, start it)",
                    self.place.id
                )
                .into(),
            ));
        }
        Ok(())
    }

    fn teardown(&self) -> Result<(), SandboxError> {
        // The relay and QEMU: whatever is left of them is in the cgroup.
        cgroups::kill_all(&self.place.id);
        let _ = std::fs::remove_dir_all(&self.place.vm_run_dir);
        Ok(())
    }

    fn unmount_rootfs(&self) {
        crate::rootfs::unmount(&self.place.run_dir.join("rootfs"));
        let _ = std::fs::remove_dir_all(&self.place.vm_run_dir);
    }

    fn shm_dir(&self) -> PathBuf {
        self.place.run_dir.join("shm")
    }
}

/// The accelerator `--vm` guests run under here ("kvm" or "tcg") and, for TCG, why not KVM;
/// the self-test's verdict is cached in `cache_dir` for the host's boot.
pub fn accelerator(cache_dir: &Path) -> (String, String) {
    match berth_vm::accel::choose(cache_dir) {
        berth_vm::Accel::Kvm => ("kvm".to_string(), String::new()),
        berth_vm::Accel::Tcg { reason } => ("tcg".to_string(), reason),
    }
}

/// Turns the container's network namespace into the VM's: eth0's place goes to the guest.
fn hand_over(netns: &Path) -> Result<Option<GuestNetwork>, SandboxError> {
    let nic = berth_net::vm_port::hand_over_to_vm(netns, launch::TAP)
        .map_err(|e| SandboxError::Failed(Box::new(e)))?;
    Ok(nic.map(|nic| GuestNetwork {
        mac: nic.mac,
        addresses: nic.addresses,
        gateway: nic.gateway,
        gateway6: nic.gateway6,
        mtu: nic.mtu,
    }))
}

/// `program` on `$PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn failed(message: String) -> SandboxError {
    SandboxError::Failed(message.into())
}
