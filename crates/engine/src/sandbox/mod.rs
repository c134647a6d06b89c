//! The seam between the engine and what runs a container. `Sandbox` is every operation a
//! container backend provides: mount the rootfs, prepare what it runs from it and the
//! container's settings, create and start its init, exec a process inside, pause and resume, read its
//! counters and processes, change its limits, and tear down its state. `Engine::sandbox_for`
//! is the one place that maps a container's `HostConfig.runtime` to a backend.
//!
//! Two backends: `linux`, namespaces and cgroups through an OCI runtime (the embedded
//! libcontainer or an external runc/crun/youki), and `microvm` (`--runtime vm`), a guest with
//! its own kernel under QEMU. What both use lives beside them: the overlay rootfs
//! ([`rootfs`]) and the cgroup's processes and counters ([`cgroups`]). Only `linux` and
//! `cgroups` import `berth_runtime`; only `microvm` imports `berth_vm`.

pub(crate) mod cgroups;
mod inputs;
pub(crate) mod linux;
pub mod microvm;
mod rootfs;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

pub use crate::error::SandboxError;
pub(crate) use inputs::{ExecProcess, InitIo, Launch, Mount, Usage};

use crate::Engine;
use crate::store::ContainerRecord;
use crate::types::HostConfig;

/// A container backend, bound to one container (see [`Place`]). The engine and the shim call
/// only this; every call must come from a single-threaded process (an embedded runtime clones
/// its caller).
pub(crate) trait Sandbox {
    /// Whether the backend can run containers at all (its runtime exists): `create`'s early
    /// check, so a bad `--runtime` fails before anything is made.
    fn check(&self) -> Result<(), SandboxError>;
    /// Mounts the container's root filesystem: the image's `layers` under the container's own
    /// writable layer; returns where. `volatile`: its writes need not survive a crash (an
    /// `--rm` container).
    fn mount_rootfs(&self, layers: &[PathBuf], volatile: bool) -> Result<PathBuf, SandboxError>;
    /// Turns a [`Launch`] (the mounted rootfs, the resolved command, network files and
    /// namespace, mounts) and the container's settings into what [`Sandbox::create`] runs.
    fn prepare(&self, rec: &ContainerRecord, launch: Launch) -> Result<(), SandboxError>;
    /// Creates the container from what [`Sandbox::prepare`] made (a previous run's state goes
    /// first); returns its init's pid, a child of the caller, not yet running the user's
    /// program.
    fn create(&self, io: InitIo) -> Result<i32, SandboxError>;
    /// Lets the created init run the user's program.
    fn start(&self) -> Result<(), SandboxError>;
    /// A pidfd on the container's init while `pid` is still a process of this container
    /// (never for pid 0 or a reused pid): signals sent through it never reach a reused pid,
    /// and the engine polls it to see the init exit.
    fn init_pidfd(&self, pid: i32) -> Option<OwnedFd>;
    /// Sends `signal` to the container's init, through a pidfd from [`Sandbox::init_pidfd`].
    fn signal(&self, init: BorrowedFd<'_>, signal: i32) -> std::io::Result<()>;
    /// Starts a process in the running container; returns its pid (a child of the caller).
    fn exec(&self, process: ExecProcess) -> Result<i32, SandboxError>;
    /// Freezes every process of the container.
    fn pause(&self) -> Result<(), SandboxError>;
    /// Thaws what [`Sandbox::pause`] froze.
    fn resume(&self) -> Result<(), SandboxError>;
    /// The container's resource counters now.
    fn stats(&self) -> Result<Usage, SandboxError>;
    /// Whether the container's last run was killed for running out of memory.
    fn oom_killed(&self) -> bool;
    /// The host pids of the container's processes (`top`).
    fn processes(&self) -> Vec<i32>;
    /// Checks the limits in `hc`; applies them at once when the container is `running` (or
    /// paused).
    fn update(&self, hc: &HostConfig, running: bool) -> Result<(), SandboxError>;
    /// Removes the backend's state of the container, killing what is left of it.
    fn teardown(&self) -> Result<(), SandboxError>;
    /// Unmounts what [`Sandbox::mount_rootfs`] mounted, once the container is done for good
    /// (nothing when it is not mounted); a shareable /dev/shm too.
    fn unmount_rootfs(&self);
    /// Where the container's shareable /dev/shm (`--ipc shareable`) lives on the host, for a
    /// container that joins its IPC (`--ipc container:X`).
    fn shm_dir(&self) -> PathBuf;
    /// How many networks the container can be on at once; `None`: no limit.
    fn network_limit(&self) -> Option<usize> {
        None
    }
}

/// Where a container's sandbox keeps its things.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    pub id: String,
    /// The container's runtime directory: the rootfs mount point, the bundle, sockets.
    pub run_dir: PathBuf,
    /// The container's own directory: its writable layer.
    pub container_dir: PathBuf,
    /// The runtime's own state root, shared by every container.
    pub state_root: PathBuf,
    /// A micro-VM's run directory (its relay's and QEMU's sockets, serial log): short, as a
    /// unix socket's path is limited to 108 bytes.
    pub vm_run_dir: PathBuf,
    /// Where micro-VMs' kernels, initramfs and the accelerator's verdict are cached.
    pub vm_cache_dir: PathBuf,
}

/// The one map from a `--runtime` value to a backend: "vm" is a micro-VM; every other value
/// is the Linux sandbox's, which tells the embedded runtime from an external one itself.
fn backend(runtime: &str, place: Place) -> Box<dyn Sandbox> {
    if runtime == microvm::RUNTIME {
        return Box::new(microvm::MicroVm::new(place));
    }
    Box::new(linux::Linux::new(runtime, place))
}

impl Engine {
    /// The backend of container `rec`, bound to it. Choosing never fails: a runtime that is
    /// missing fails the operation that needs it, as it always did.
    pub(crate) fn sandbox_for(&self, rec: &ContainerRecord) -> Box<dyn Sandbox> {
        backend(
            &rec.config.host_config.runtime,
            Place {
                id: rec.id.clone(),
                run_dir: self.container_run_dir(&rec.id),
                container_dir: self.container_dir(&rec.id),
                state_root: self.runtime_state_root(),
                vm_run_dir: self.vm_run_dir(&rec.id),
                vm_cache_dir: self.vm_cache_dir(),
            },
        )
    }
}

impl Engine {
    /// A micro-VM container's run directory: `<run>/vm/<short id>`.
    pub(crate) fn vm_run_dir(&self, id: &str) -> PathBuf {
        self.run.join("vm").join(&id[..id.len().min(12)])
    }

    /// Where micro-VMs' derived kernels and initramfs are cached: `<root>/vm`.
    pub fn vm_cache_dir(&self) -> PathBuf {
        self.root.join("vm")
    }
}

/// Checks a `--runtime` value without making anything (for `create` to fail early).
pub(crate) fn validate_runtime(runtime: &str) -> Result<(), SandboxError> {
    backend(runtime, Place::default()).check()
}

/// Docker's exit code for a wait(2) status: the code, or 128 + the signal that killed it.
pub(crate) fn exit_code(status: i32) -> i32 {
    linux::exit_code(status)
}

/// The host's CPU time so far (ns) and its online CPUs, the base of a CPU percentage.
pub(crate) fn host_cpu() -> (u64, u32) {
    linux::host::cpu()
}

/// The host's memory, bytes.
pub(crate) fn host_memory_bytes() -> u64 {
    linux::host::memory_bytes()
}

/// Whether the host's cgroups are v2 only.
pub(crate) fn host_cgroup_v2() -> bool {
    linux::host::cgroup_v2()
}

/// Whether the host supports a memory+swap limit and a swappiness.
pub(crate) fn host_swap_controls() -> (bool, bool) {
    linux::host::swap_controls()
}

/// The CPU and memory-node lists a container may be pinned to ("0-3", "0").
pub(crate) fn host_cpuset() -> (String, String) {
    linux::host::cpuset_available()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_takes_known_runtimes_and_paths_and_rejects_unknown_names() {
        assert!(validate_runtime("").is_ok());
        assert!(validate_runtime("berth").is_ok());
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("my-runtime");
        std::fs::write(&binary, "#!/bin/sh\n").unwrap();
        assert!(validate_runtime(binary.to_str().unwrap()).is_ok());
        let unknown = validate_runtime("no-such-runtime-here").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown runtime \"no-such-runtime-here\": not an executable name on $PATH or a path"
        );
        assert_eq!(
            crate::Error::from(unknown).kind(),
            crate::error::ErrorKind::Invalid,
            "dockerd answers an unknown runtime with 400"
        );
        let missing = validate_runtime("/no/such/runtime").unwrap_err();
        assert!(
            missing.to_string().contains("/no/such/runtime"),
            "{missing}"
        );
    }
}
