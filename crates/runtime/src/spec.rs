//! OCI runtime spec generation with Docker's defaults (capabilities, devices, masked and
//! read-only paths, mounts, seccomp, cgroup resources, rlimits).

use std::path::PathBuf;

/// Everything the runtime needs to know to build a container's OCI spec.
/// The engine fills it from the image config and the user's flags; nothing here names an image.
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    /// The container's root filesystem (the overlay mount point), absolute.
    pub rootfs: PathBuf,
    /// `--read-only`
    pub readonly_rootfs: bool,
    /// argv, already resolved from entrypoint + cmd. Never empty.
    pub args: Vec<String>,
    /// `KEY=VALUE` entries, image env then user env; PATH is added by the engine when missing.
    pub env: Vec<String>,
    /// Working directory inside the container, absolute ("/" when unset).
    pub cwd: String,
    /// Already resolved numeric user.
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub hostname: String,
    /// `-t`: allocate a pty (process.terminal).
    pub terminal: bool,
    /// cgroup path relative to the hierarchy roots, e.g. "/berth/<id>".
    pub cgroup_path: String,
    pub resources: Resources,
    /// `--privileged`: all capabilities, all host devices, no seccomp, no masked paths, rw /sys.
    pub privileged: bool,
    /// `--cap-add` / `--cap-drop`, as the user typed them ("NET_ADMIN", "CAP_NET_ADMIN", "ALL").
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`
    pub no_new_privileges: bool,
    pub seccomp: SeccompMode,
    /// `--ulimit name=soft[:hard]`
    pub ulimits: Vec<Ulimit>,
    /// `--tmpfs /path[:options]`: (destination, mount options such as "rw,size=64m").
    pub tmpfs: Vec<(String, String)>,
    /// Extra bind mounts decided by the engine (e.g. /etc/hosts, /etc/resolv.conf, the init binary).
    pub binds: Vec<BindMount>,
    /// Network namespace: `true` = a new, private one (loopback only); `false` = the host's.
    pub private_network: bool,
    /// Annotations to record in the spec (org.opencontainers / berth ids).
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// `-m`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`, bytes; -1 = unlimited swap.
    pub memory_swap: Option<i64>,
    /// `--cpus` in nano-CPUs (1.5 CPUs = 1_500_000_000), turned into quota/period 100ms.
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`
    pub cpu_shares: Option<u64>,
    /// `--pids-limit`; <= 0 means unlimited.
    pub pids_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum SeccompMode {
    /// Docker's default profile.
    #[default]
    Default,
    /// `seccomp=unconfined`
    Unconfined,
    /// `seccomp=FILE`: the JSON text of a Docker/OCI seccomp profile.
    Profile(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ulimit {
    /// Docker's name: "nofile", "nproc", "core", "memlock", ...
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}
