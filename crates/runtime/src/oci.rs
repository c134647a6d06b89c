//! OCI runtime backends. One trait, one file per implementation: the embedded youki
//! libcontainer (default, no extra process) and any external OCI runtime binary (runc, crun,
//! youki, a path), driven through its command line like containerd's shim does.

mod embedded;
mod external;
mod join;
pub mod seccomp_bpf;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

pub use embedded::Embedded;
pub use external::External;

/// Why an OCI runtime call failed. The underlying library's or system's error is kept as the
/// source wherever there is one.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// libcontainer (or the OCI spec files it reads) failed, or left the container unusable.
    #[error(transparent)]
    Libcontainer(crate::Cause),
    /// A step of `exec`'s namespace join (outside libcontainer) failed.
    #[error("{context}: {source}")]
    Join {
        context: String,
        #[source]
        source: crate::Cause,
    },
    /// Compiling or caching the container's seccomp filter failed.
    #[error("seccomp: {context}: {source}")]
    Seccomp {
        context: String,
        #[source]
        source: crate::Cause,
    },
    /// An external runtime binary failed; its last line of stderr.
    #[error("OCI runtime {runtime}: {message}")]
    External { runtime: String, message: String },
    #[error("unknown runtime {0:?}: not an executable name on $PATH or a path")]
    UnknownRuntime(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// How to create a container's init process.
pub struct CreateOptions {
    pub id: String,
    /// Directory holding `config.json`.
    pub bundle: PathBuf,
    /// The runtime's own state directory (libcontainer root / `runc --root`).
    pub state_root: PathBuf,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Listening unix socket that receives the pty master (when process.terminal is set).
    pub console_socket: Option<PathBuf>,
}

/// A process to run inside an existing container (`exec`).
pub struct ExecOptions {
    pub id: String,
    pub state_root: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub terminal: bool,
    /// The pty's window size (rows, columns) from the start, as `run -t` has it: a program
    /// that asks at once (`stty size`, a shell's first prompt) must not see 0x0.
    pub console_size: Option<(u16, u16)>,
    pub console_socket: Option<PathBuf>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Scratch directory for a process.json the external runtimes need.
    pub scratch: PathBuf,
}

/// An OCI runtime. Every call must come from a single-threaded process: the embedded runtime
/// clones its caller.
pub trait OciRuntime {
    /// Creates the container and returns the init process's pid. The init process ends up a
    /// child of the caller (the caller must be a child subreaper for external runtimes).
    fn create(&self, options: CreateOptions) -> Result<i32, RuntimeError>;
    /// Lets the created init process exec the user's program.
    fn start(&self, state_root: &std::path::Path, id: &str) -> Result<(), RuntimeError>;
    fn pause(&self, state_root: &std::path::Path, id: &str) -> Result<(), RuntimeError>;
    fn resume(&self, state_root: &std::path::Path, id: &str) -> Result<(), RuntimeError>;
    /// Removes the runtime's state and the container's cgroup; kills what is left when `force`.
    fn delete(
        &self,
        state_root: &std::path::Path,
        id: &str,
        force: bool,
    ) -> Result<(), RuntimeError>;
    /// Starts a process in the running container; returns its pid (a child of the caller).
    fn exec(&self, options: ExecOptions) -> Result<i32, RuntimeError>;
}

/// Docker's exit code for a wait(2) status: the code, or 128 + the signal that killed it.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// Whether `--runtime` names the embedded libcontainer: empty, "berth", "embedded" or
/// "libcontainer". The one list of those names; any other value names an external runtime.
pub fn is_embedded(name: &str) -> bool {
    matches!(name, "" | "berth" | "embedded" | "libcontainer")
}

/// Picks the backend for `--runtime`: an [`is_embedded`] name selects libcontainer; any other
/// value is an OCI runtime binary name looked up on $PATH, or a path.
pub fn select(name: &str) -> Result<Box<dyn OciRuntime>, RuntimeError> {
    if is_embedded(name) {
        Ok(Box::new(Embedded))
    } else {
        Ok(Box::new(External::find(name)?))
    }
}

/// Checks a `--runtime` value without building anything (for `create` to fail early).
pub fn validate(name: &str) -> Result<(), RuntimeError> {
    select(name).map(|_| ())
}
