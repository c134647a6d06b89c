//! The Linux sandbox: a container is namespaces and a cgroup made by an OCI runtime (the
//! embedded libcontainer, or an external runc/crun/youki) from a bundle in the container's
//! runtime directory. With the shared [`super::cgroups`], the only module that imports
//! `berth_runtime`; one file per concern: the runtime choice ([`runtime`]), the spec
//! ([`spec`]), the network namespace ([`netns`]), a shareable /dev/shm ([`shm`]), the
//! cgroup's limits ([`cgroups`]), host facts ([`host`]) and the library's errors ([`error`]).
//! The overlay rootfs is the shared [`super::rootfs`].

mod cgroups;
mod error;
pub(crate) mod host;
mod netns;
mod runtime;
mod shm;
mod spec;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

use berth_runtime::oci::{CreateOptions, ExecOptions};

use self::runtime::Choice;
use super::{ExecProcess, InitIo, Launch, Place, Sandbox, SandboxError, Usage};
use crate::store::ContainerRecord;
use crate::types::HostConfig;

/// A container run by an OCI runtime.
pub(crate) struct Linux {
    runtime: Choice,
    place: Place,
}

impl Linux {
    pub(crate) fn new(runtime: &str, place: Place) -> Linux {
        Linux {
            runtime: Choice::of(runtime),
            place,
        }
    }

    fn cgroup_path(&self) -> String {
        super::cgroups::path_of(&self.place.id)
    }
}

impl Sandbox for Linux {
    fn check(&self) -> Result<(), SandboxError> {
        self.runtime.resolve().map(|_| ())
    }

    fn mount_rootfs(&self, layers: &[PathBuf], volatile: bool) -> Result<PathBuf, SandboxError> {
        let target = self.place.run_dir.join("rootfs");
        super::rootfs::mount(layers, &self.place.container_dir, &target, volatile)?;
        Ok(target)
    }

    fn prepare(&self, rec: &ContainerRecord, launch: Launch) -> Result<(), SandboxError> {
        if rec.config.host_config.ipc_mode == "shareable" {
            shm::mount(&self.shm_dir(), rec.config.host_config.shm_size)?;
        }
        let spec = spec::build(
            rec,
            launch,
            self.runtime == Choice::Embedded,
            &self.shm_dir(),
        )?;
        let json = serde_json::to_vec(&spec).map_err(|e| SandboxError::Failed(Box::new(e)))?;
        std::fs::write(self.place.run_dir.join("config.json"), json)
            .map_err(|e| SandboxError::Failed(format!("writing the OCI bundle: {e}").into()))
    }

    fn create(&self, io: InitIo) -> Result<i32, SandboxError> {
        let runtime = self.runtime.resolve()?;
        // A previous run's runtime state (a restart, or a killed shim) must go first.
        let _ = runtime.delete(&self.place.state_root, &self.place.id, true);
        Ok(runtime.create(CreateOptions {
            id: self.place.id.clone(),
            bundle: self.place.run_dir.clone(),
            state_root: self.place.state_root.clone(),
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
            console_socket: io.console_socket,
        })?)
    }

    fn start(&self) -> Result<(), SandboxError> {
        let runtime = self.runtime.resolve()?;
        if let Err(e) = runtime.start(&self.place.state_root, &self.place.id) {
            let _ = runtime.delete(&self.place.state_root, &self.place.id, true);
            return Err(e.into());
        }
        Ok(())
    }

    fn init_pidfd(&self, pid: i32) -> Option<OwnedFd> {
        crate::proc::container_pidfd(pid, &self.cgroup_path())
    }

    fn signal(&self, init: BorrowedFd<'_>, signal: i32) -> std::io::Result<()> {
        crate::proc::signal(init, signal)
    }

    fn exec(&self, process: ExecProcess) -> Result<i32, SandboxError> {
        Ok(self.runtime.resolve()?.exec(ExecOptions {
            id: self.place.id.clone(),
            state_root: self.place.state_root.clone(),
            args: process.args,
            env: process.env,
            cwd: process.cwd,
            uid: process.uid,
            gid: process.gid,
            additional_gids: process.additional_gids,
            terminal: process.terminal,
            console_size: process.console_size,
            console_socket: process.console_socket,
            stdin: process.stdin,
            stdout: process.stdout,
            stderr: process.stderr,
            scratch: process.scratch,
        })?)
    }

    fn pause(&self) -> Result<(), SandboxError> {
        Ok(self
            .runtime
            .resolve()?
            .pause(&self.place.state_root, &self.place.id)?)
    }

    fn resume(&self) -> Result<(), SandboxError> {
        Ok(self
            .runtime
            .resolve()?
            .resume(&self.place.state_root, &self.place.id)?)
    }

    fn stats(&self) -> Result<Usage, SandboxError> {
        super::cgroups::stats(&self.cgroup_path(), &self.place.id)
    }

    fn oom_killed(&self) -> bool {
        super::cgroups::oom_killed(&self.cgroup_path())
    }

    fn processes(&self) -> Vec<i32> {
        super::cgroups::processes(&self.place.id)
    }

    fn update(&self, hc: &HostConfig, running: bool) -> Result<(), SandboxError> {
        cgroups::update(&self.cgroup_path(), &self.place.id, hc, running)
    }

    fn teardown(&self) -> Result<(), SandboxError> {
        Ok(self
            .runtime
            .resolve()?
            .delete(&self.place.state_root, &self.place.id, true)?)
    }

    fn unmount_rootfs(&self) {
        crate::rootfs::unmount(&self.place.run_dir.join("rootfs"));
        crate::rootfs::unmount(&self.shm_dir());
    }

    fn shm_dir(&self) -> PathBuf {
        self.place.run_dir.join("shm")
    }
}

/// Docker's exit code for a wait(2) status.
pub(crate) fn exit_code(status: i32) -> i32 {
    berth_runtime::oci::exit_code(status)
}
