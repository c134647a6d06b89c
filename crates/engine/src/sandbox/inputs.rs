//! The plain values a sandbox takes and gives: what the engine prepared for a start
//! ([`Launch`], [`Mount`]), the init's and an exec's stdio ([`InitIo`], [`ExecProcess`]), and
//! a reading of the container's counters ([`Usage`]).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// What the engine prepared for a start: the rootfs is mounted, the command and user are
/// resolved in it, the network files are written and the network namespace (if any) is set up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Launch {
    /// The mounted root filesystem, absolute.
    pub rootfs: PathBuf,
    /// argv (entrypoint + cmd), never empty.
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Working directory inside the container, absolute.
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub hostname: String,
    /// The directory holding the container's resolv.conf, hostname and hosts.
    pub network_files: PathBuf,
    /// The network namespace the engine made and configured, to be joined.
    pub netns: Option<PathBuf>,
    /// The user's mounts (volumes, binds, tmpfs), destinations resolved inside the rootfs.
    pub mounts: Vec<Mount>,
    /// `--pid container:X`: X's pid namespace, to be joined.
    pub pid_ns: Option<PathBuf>,
    /// `--ipc container:X`: X's IPC namespace, to be joined.
    pub ipc_ns: Option<PathBuf>,
    /// `--ipc container:X`: the host directory that is X's /dev/shm, to be bound in.
    pub shm: Option<PathBuf>,
}

/// A mount the user asked for (`-v`, `--mount`, a volume), with host paths only.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mount {
    Bind {
        source: PathBuf,
        destination: String,
        readonly: bool,
        /// "rprivate", "private", "shared", "rshared", "slave", "rslave".
        propagation: String,
        /// rbind, or a plain bind (`bind-nonrecursive`).
        recursive: bool,
    },
    Tmpfs {
        destination: String,
        /// tmpfs options such as "size=65536k,mode=1770".
        options: String,
    },
}

/// The stdio of a container's init.
#[derive(Default)]
pub(crate) struct InitIo {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Listening unix socket that receives the pty master (`-t`).
    pub console_socket: Option<PathBuf>,
}

/// A process to run inside a running container (`exec`).
pub(crate) struct ExecProcess {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub terminal: bool,
    /// The pty's window size (rows, columns) from the start.
    pub console_size: Option<(u16, u16)>,
    /// Listening unix socket that receives the pty master (`terminal`).
    pub console_socket: Option<PathBuf>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// A scratch directory the backend may use for this process, removed after.
    pub scratch: PathBuf,
}

/// A reading of a container's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Usage {
    /// Total CPU time consumed, nanoseconds.
    pub cpu_total_ns: u64,
    /// Per-CPU time, nanoseconds.
    pub per_cpu_ns: Vec<u64>,
    /// Memory in use (cache excluded, as Docker shows it), bytes.
    pub memory_used: u64,
    /// The memory limit, bytes (the host's memory when unlimited).
    pub memory_limit: u64,
    pub pids: u64,
    pub pids_limit: u64,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    pub block_write: u64,
}
