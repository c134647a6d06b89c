//! `exec`: a new process inside a running container, through the container's sandbox.
//! Runs in the calling process (which must be single-threaded): the process is its child.

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::types::State;
use crate::{Engine, Error, user};

/// Docker's exec options.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    /// Extra `KEY=VALUE`s on top of the container's environment.
    pub env: Vec<String>,
    /// `-u`; empty = the container's user.
    pub user: String,
    /// `-w`; empty = the container's working directory.
    pub workdir: String,
    pub tty: bool,
    /// With `tty`: the window size (rows, columns) the pty starts with.
    pub console_size: Option<(u16, u16)>,
    pub detach: bool,
}

/// A started exec process.
pub struct Exec {
    pub pid: i32,
    /// The pty master when `tty` was requested.
    pub pty: Option<OwnedFd>,
}

impl Exec {
    /// Waits for the process; returns Docker's exit code.
    pub fn wait(&self) -> i32 {
        let mut status = 0;
        loop {
            // SAFETY: waitpid on our own child with a valid out-pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                break;
            }
            if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return 255;
            }
        }
        crate::sandbox::exit_code(status)
    }
}

pub mod helper;

fn dup(fd: Option<BorrowedFd<'_>>) -> Option<OwnedFd> {
    fd.and_then(|f| f.try_clone_to_owned().ok())
}

impl Engine {
    /// Starts `request.cmd` in the container. `stdio` is the caller's stdin/stdout/stderr
    /// (ignored for `tty`, where the caller proxies the returned pty, and for `detach`).
    pub fn exec(
        &self,
        name_or_id: &str,
        request: &ExecRequest,
        stdio: [Option<BorrowedFd<'_>>; 3],
    ) -> Result<Exec, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        self.exec_in(&rec, request, stdio)
    }

    /// The running container an exec may start in: Docker's check at exec create (a paused
    /// or stopped container is a conflict), before any process is started.
    pub fn exec_container(&self, name_or_id: &str) -> Result<crate::store::ContainerRecord, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        exec_allowed(&rec)?;
        Ok(rec)
    }

    /// Docker's checks of an exec before any process starts, without starting one (a
    /// multi-threaded front end asks this before it runs the exec helper): the container
    /// runs, the user exists, the command is found; a command that cannot run is Docker's
    /// `OCI runtime exec failed` with exit code 126.
    pub fn exec_check(&self, name_or_id: &str, request: &ExecRequest) -> Result<(), Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        self.exec_prepared(&rec, request).map(|_| ())
    }

    /// The checks of [`Engine::exec_check`]; returns the exec's user and environment.
    fn exec_prepared(
        &self,
        rec: &crate::store::ContainerRecord,
        request: &ExecRequest,
    ) -> Result<(user::ResolvedUser, Vec<String>), Error> {
        exec_allowed(rec)?;
        if request.cmd.is_empty() {
            return Err(Error::InvalidArgument("No exec command specified".into()));
        }
        let run_dir = self.container_run_dir(&rec.id);
        let rootfs = run_dir.join("rootfs");
        let c = &rec.config.config;
        let user = user::resolve_with_groups(
            &rootfs,
            if request.user.is_empty() {
                &c.user
            } else {
                &request.user
            },
            rec.config.host_config.group_add.as_deref(),
        )?;
        // The container process's environment, then the exec's own.
        let spec: Option<oci_spec::runtime::Spec> = std::fs::read(run_dir.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let mut env: Vec<String> = spec
            .as_ref()
            .and_then(|s| s.process().as_ref())
            .and_then(|p| p.env().clone())
            .unwrap_or_else(|| c.env.clone().unwrap_or_default());
        // A bare `KEY` (no `=`) unsets it, as dockerd's exec does: a front end resolves a
        // client-side `-e KEY` itself, never from a server's environment.
        for kv in &request.env {
            let key = kv.split('=').next().unwrap_or("");
            env.retain(|e| e.split('=').next() != Some(key));
            if kv.contains('=') {
                env.push(kv.clone());
            }
        }
        if request.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        // Looked up in the container's own view, its mounts included, while its init runs.
        // A micro-VM's init on the host is its relay, whose root is the host's: the guest's
        // root is the rootfs itself.
        let view = match self.init_pidfd(rec) {
            Some(_) if rec.config.host_config.runtime != crate::sandbox::microvm::RUNTIME => {
                std::path::PathBuf::from(format!("/proc/{}/root", rec.pid))
            }
            _ => rootfs.clone(),
        };
        crate::lifecycle::check_executable(&view, &request.cmd[0], &env, &[])
            .map_err(as_runtime_exec_error)?;
        Ok((user, env))
    }

    /// [`Engine::exec`] in a container already looked up (the shim's health probes).
    pub(crate) fn exec_in(
        &self,
        rec: &crate::store::ContainerRecord,
        request: &ExecRequest,
        stdio: [Option<BorrowedFd<'_>>; 3],
    ) -> Result<Exec, Error> {
        let (user, env) = self.exec_prepared(rec, request)?;
        let run_dir = self.container_run_dir(&rec.id);
        let c = &rec.config.config;
        let cwd = if !request.workdir.is_empty() {
            request.workdir.clone()
        } else if !c.working_dir.is_empty() {
            c.working_dir.clone()
        } else {
            "/".into()
        };
        let scratch = run_dir.join(format!("exec-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).map_err(|e| Error::io("creating the exec dir", e))?;
        let console = if request.tty {
            Some(crate::stdio::pty::bind_console_socket(&scratch)?)
        } else {
            None
        };
        let [stdin, stdout, stderr] = if request.detach || request.tty {
            [None, None, None]
        } else {
            stdio
        };
        let null = || {
            std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .ok()
                .map(OwnedFd::from)
        };
        let result = self.sandbox_for(rec).exec(crate::sandbox::ExecProcess {
            args: request.cmd.clone(),
            env,
            cwd: Some(cwd),
            uid: user.uid,
            gid: user.gid,
            additional_gids: user.additional_gids,
            terminal: request.tty,
            console_size: request.console_size,
            console_socket: console.as_ref().map(|_| scratch.join("console.sock")),
            stdin: dup(stdin).or_else(null),
            stdout: dup(stdout).or_else(null),
            stderr: dup(stderr).or_else(null),
            scratch: scratch.clone(),
        });
        let pty = match (&result, &console) {
            (Ok(_), Some(listener)) => Some(crate::stdio::pty::receive_pty(listener)),
            _ => None,
        };
        let _ = std::fs::remove_dir_all(&scratch);
        let pid = result?;
        Ok(Exec {
            pid,
            pty: pty.transpose()?,
        })
    }
}

/// Only a running (not paused) container takes an exec.
fn exec_allowed(rec: &crate::store::ContainerRecord) -> Result<(), Error> {
    match rec.state {
        State::Running => {}
        State::Restarting => return Err(crate::lifecycle::restarting(&rec.id)),
        State::Paused => {
            return Err(Error::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                rec.id
            )));
        }
        _ => {
            return Err(Error::Conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
    }
    Ok(())
}

/// A command an exec cannot run is, as dockerd reports it from the runtime, `OCI runtime exec
/// failed: ...` with exit code 126 whatever the cause (not the 127 of a container's command).
fn as_runtime_exec_error(e: Error) -> Error {
    match e {
        Error::CannotRun { message, .. } => Error::CannotRun {
            message: format!(
                "OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown"
            ),
            exit_code: 126,
        },
        other => other,
    }
}
