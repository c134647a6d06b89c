//! OCI runtime spec generation with Docker's defaults (capabilities, devices, masked and
//! read-only paths, mounts, seccomp, cgroup resources, rlimits).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_spec::runtime::{
    Arch, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDevice,
    LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, LinuxSeccomp, LinuxSeccompAction,
    LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator,
    LinuxSyscall, LinuxSyscallBuilder, Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, Process, RootBuilder, Spec, UserBuilder,
};
use serde::Deserialize;

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
    /// The user's mounts (volumes, binds, tmpfs), in mounting order, after `tmpfs` and before
    /// `binds`; destinations already resolved inside the rootfs by the caller.
    pub mounts: Vec<UserMount>,
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
    /// `--cpu-quota`, microseconds per period (not with `nano_cpus`).
    pub cpu_quota: Option<i64>,
    /// `--cpu-period`, microseconds (not with `nano_cpus`).
    pub cpu_period: Option<u64>,
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

/// A mount the user asked for (`-v`, `--mount`): the runtime only sees host paths.
#[derive(Debug, Clone, PartialEq)]
pub enum UserMount {
    Bind {
        source: PathBuf,
        destination: String,
        readonly: bool,
        /// "rprivate" (default), "private", "shared", "rshared", "slave", "rslave".
        propagation: String,
        /// rbind (default) or a plain bind (`bind-nonrecursive`).
        recursive: bool,
    },
    Tmpfs {
        destination: String,
        /// tmpfs options such as "size=65536k,mode=1770".
        options: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a container's settings cannot be turned into an OCI spec. Every message names the flag
/// and the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the container has no command to run (empty args)")]
    EmptyArgs,
    #[error("unknown capability {0:?} (expected a name such as NET_ADMIN, CAP_NET_ADMIN or ALL)")]
    UnknownCapability(String),
    #[error("--cap-add {cap}: {reason}")]
    CapabilityNotGrantable { cap: String, reason: String },
    #[error(
        "--ulimit {0}: unknown ulimit name (expected one of as, core, cpu, data, fsize, locks, \
         memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)"
    )]
    UnknownUlimit(String),
    #[error("ulimit {name}: soft limit {soft} is greater than hard limit {hard}")]
    UlimitSoftAboveHard {
        name: String,
        soft: String,
        hard: String,
    },
    #[error(
        "ulimit {name}: hard limit {hard} exceeds the host's hard limit {host} \
         (raising a hard limit needs CAP_SYS_RESOURCE, which this process does not have)"
    )]
    UlimitAboveHost {
        name: String,
        hard: String,
        host: String,
    },
    #[error("--ulimit {name}: {name} is given more than once")]
    DuplicateUlimit { name: String },
    /// A bad `-m`, `--memory-swap`, `--cpus`, `--cpu-shares` or `--pids-limit` value.
    #[error("{flag}: {reason}")]
    InvalidResource { flag: &'static str, reason: String },
    #[error("--tmpfs {destination}: {reason}")]
    InvalidTmpfs { destination: String, reason: String },
    #[error("bind mount {source_path} -> {destination}: {reason}")]
    InvalidBind {
        source_path: String,
        destination: String,
        reason: String,
    },
    #[error("invalid seccomp profile: {0}")]
    SeccompProfile(String),
    #[error("--privileged: cannot list the host's devices under {path}: {source}")]
    HostDevices {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

// ---------------------------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------------------------

/// Capability names indexed by their number (linux/capability.h), 0 ..= 40.
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set (moby `oci/caps.DefaultCapabilities`), in Docker's order.
pub fn default_capabilities() -> Vec<String> {
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn cap_number(name: &str) -> Option<usize> {
    CAP_NAMES.iter().position(|c| *c == name)
}

/// The highest capability number the running kernel knows.
fn kernel_last_cap() -> usize {
    static LAST: OnceLock<usize> = OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(CAP_NAMES.len() - 1)
    })
}

/// The calling process's capability bounding set (a bit per capability number). A container can
/// never hold a capability outside it: libcontainer would fail at start with EPERM.
fn own_bounding_set() -> u64 {
    static BND: OnceLock<u64> = OnceLock::new();
    *BND.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status.lines().find_map(|l| {
                    l.strip_prefix("CapBnd:")
                        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                })
            })
            .unwrap_or(u64::MAX)
    })
}

/// Why `cap` cannot be given to a container from this process, if it cannot.
fn not_grantable_reason(cap: &str) -> Option<String> {
    let n = cap_number(cap)?;
    if n > kernel_last_cap() {
        return Some(format!(
            "the running kernel does not support {cap} (its last capability is number {})",
            kernel_last_cap()
        ));
    }
    if own_bounding_set() & (1u64 << n) == 0 {
        return Some(format!(
            "this process does not hold {cap} in its bounding set, so it cannot give it to a container"
        ));
    }
    None
}

/// Every capability the kernel knows and this process can hand on, in number order: what
/// `--privileged` and `--cap-add ALL` mean. (On a normal root host that is all of them; on hosts
/// whose root lacks some capability, such as CAP_SYS_RESOURCE, those are left out rather than
/// failing the container's start.)
fn grantable_capabilities() -> Vec<String> {
    CAP_NAMES
        .iter()
        .filter(|c| not_grantable_reason(c).is_none())
        .map(|c| c.to_string())
        .collect()
}

/// `net_admin`, `NET_ADMIN`, `cap_net_admin` -> `CAP_NET_ADMIN`; `all` -> `ALL`.
fn normalize_capability(name: &str) -> Result<String, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if cap_number(&full).is_none() {
        return Err(SpecError::UnknownCapability(name.to_string()));
    }
    Ok(full)
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Docker's capability arithmetic (moby `caps.TweakCapabilities`):
/// privileged -> everything (add/drop ignored, as Docker does); `--cap-add ALL` -> everything but
/// the drops; `--cap-drop ALL` -> only the adds; otherwise defaults minus drops plus adds.
/// Names are accepted with or without `CAP_`, in any case. Returns "CAP_*" names.
pub fn resolve_capabilities(
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(grantable_capabilities());
    }
    let add = add
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>, _>>()?;
    let check_add = |cap: &String| -> Result<(), SpecError> {
        match not_grantable_reason(cap) {
            Some(reason) => Err(SpecError::CapabilityNotGrantable {
                cap: cap.clone(),
                reason,
            }),
            None => Ok(()),
        }
    };

    let mut caps = Vec::new();
    if add.iter().any(|c| c == "ALL") {
        for c in grantable_capabilities() {
            if !drop.contains(&c) {
                push_unique(&mut caps, c);
            }
        }
    } else if drop.iter().any(|c| c == "ALL") {
        for c in add {
            check_add(&c)?;
            push_unique(&mut caps, c);
        }
    } else {
        for c in default_capabilities() {
            // A default the host cannot grant is quietly left out, as with --privileged.
            if !drop.contains(&c) && not_grantable_reason(&c).is_none() {
                push_unique(&mut caps, c);
            }
        }
        for c in add {
            check_add(&c)?;
            push_unique(&mut caps, c);
        }
    }
    Ok(caps)
}

fn to_oci_capabilities(caps: &[String]) -> Result<HashSet<Capability>, SpecError> {
    caps.iter()
        .map(|c| {
            serde_json::from_value::<Capability>(serde_json::Value::String(c.clone()))
                .map_err(|_| SpecError::UnknownCapability(c.clone()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rlimits
// ---------------------------------------------------------------------------------------------

/// The OCI rlimit type for a Docker ulimit name ("nofile" -> RLIMIT_NOFILE, ...); None when
/// Docker does not know the name.
pub fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

/// The calling process's current (soft, hard) limits for `typ`. The enum's discriminants are the
/// kernel's RLIMIT_* numbers (libcontainer relies on the same).
fn host_rlimit(typ: PosixRlimitType) -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(typ as u32 as _, &mut lim) };
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    let limits = (lim.rlim_cur as u64, lim.rlim_max as u64);
    (rc == 0).then_some(limits)
}

#[allow(clippy::unnecessary_cast)]
const RLIM_INFINITY: u64 = libc::RLIM_INFINITY as u64;

fn fmt_limit(v: u64) -> String {
    if v == u64::MAX || v == RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

fn build_rlimits(ulimits: &[Ulimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out: Vec<PosixRlimit> = Vec::new();
    let mut seen = HashSet::new();
    for u in ulimits {
        let typ = rlimit_type(&u.name).ok_or_else(|| SpecError::UnknownUlimit(u.name.clone()))?;
        if !seen.insert(u.name.clone()) {
            return Err(SpecError::DuplicateUlimit {
                name: u.name.clone(),
            });
        }
        if u.soft > u.hard {
            return Err(SpecError::UlimitSoftAboveHard {
                name: u.name.clone(),
                soft: fmt_limit(u.soft),
                hard: fmt_limit(u.hard),
            });
        }
        if let Some((_, host_hard)) = host_rlimit(typ) {
            let unlimited = host_hard == RLIM_INFINITY;
            if !unlimited && u.hard > host_hard {
                return Err(SpecError::UlimitAboveHost {
                    name: u.name.clone(),
                    hard: fmt_limit(u.hard),
                    host: fmt_limit(host_hard),
                });
            }
        }
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft)
                .hard(u.hard)
                .build()?,
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Mounts
// ---------------------------------------------------------------------------------------------

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// Docker's default mounts (moby `oci.DefaultLinuxSpec`, with the daemon's 64 MiB /dev/shm).
fn default_mounts(privileged: bool) -> Result<Vec<Mount>, SpecError> {
    let sys_ro = if privileged { "rw" } else { "ro" };
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_ro],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[sys_ro, "nosuid", "noexec", "nodev", "relatime"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        )?,
    ])
}

/// Flags that cancel each other: the later one wins (moby `mount.MergeTmpfsOptions`).
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["exec", "noexec"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["sync", "async"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    &["mand", "nomand"],
    &[
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ],
];

/// Merges mount options left to right: a later `key=value` replaces an earlier one with the
/// same key, a later flag replaces an earlier one of its group (`exec` cancels `noexec`).
fn merge_mount_options(options: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for opt in options.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if let Some((key, _)) = opt.split_once('=') {
            out.retain(|o| o.split_once('=').map(|(k, _)| k) != Some(key));
        } else {
            let group = FLAG_GROUPS.iter().find(|g| g.contains(&opt));
            out.retain(|o| o != opt && !group.is_some_and(|g| g.contains(&o.as_str())));
        }
        out.push(opt.to_string());
    }
    out
}

fn tmpfs_mount(destination: &str, options: &str) -> Result<Mount, SpecError> {
    if !destination.starts_with('/') {
        return Err(SpecError::InvalidTmpfs {
            destination: destination.to_string(),
            reason: "the destination must be an absolute path".into(),
        });
    }
    if destination == "/" {
        return Err(SpecError::InvalidTmpfs {
            destination: destination.to_string(),
            reason: "cannot mount a tmpfs over the container's root".into(),
        });
    }
    let mut all = vec!["rw", "nosuid", "nodev", "noexec"];
    all.extend(options.split(','));
    let merged = merge_mount_options(&all);
    Ok(MountBuilder::default()
        .destination(destination)
        .typ("tmpfs")
        .source("tmpfs")
        .options(merged)
        .build()?)
}

fn bind_mount(b: &BindMount) -> Result<Mount, SpecError> {
    let err = |reason: &str| SpecError::InvalidBind {
        source_path: b.source.display().to_string(),
        destination: b.destination.clone(),
        reason: reason.to_string(),
    };
    if !b.source.is_absolute() {
        return Err(err("the source must be an absolute path"));
    }
    if !b.destination.starts_with('/') {
        return Err(err("the destination must be an absolute path"));
    }
    if b.destination == "/" {
        return Err(err("cannot bind over the container's root"));
    }
    let mut options = vec!["rbind".to_string()];
    if b.readonly {
        options.push("ro".into());
    }
    options.push("rprivate".into());
    Ok(MountBuilder::default()
        .destination(b.destination.as_str())
        .typ("bind")
        .source(b.source.clone())
        .options(options)
        .build()?)
}

/// The root's propagation a user bind needs (as moby): a shared bind needs a shared root, a
/// slave bind a slave (or shared) one; otherwise the runtime's default (private).
fn rootfs_propagation(mounts: &[UserMount]) -> Option<String> {
    let propagations = mounts.iter().filter_map(|m| match m {
        UserMount::Bind { propagation, .. } => Some(propagation.trim_start_matches('r')),
        UserMount::Tmpfs { .. } => None,
    });
    let mut wanted = None;
    for p in propagations {
        match p {
            "shared" => return Some("shared".into()),
            "slave" => wanted = Some("rslave".to_string()),
            _ => {}
        }
    }
    wanted
}

fn user_mount(m: &UserMount) -> Result<Mount, SpecError> {
    match m {
        UserMount::Tmpfs {
            destination,
            options,
        } => tmpfs_mount(destination, options),
        UserMount::Bind {
            source,
            destination,
            readonly,
            propagation,
            recursive,
        } => {
            let plain = BindMount {
                source: source.clone(),
                destination: destination.clone(),
                readonly: *readonly,
            };
            let mut mount = bind_mount(&plain)?;
            let mut options = vec![if *recursive { "rbind" } else { "bind" }.to_string()];
            if *readonly {
                options.push("ro".into());
            }
            options.push(if propagation.is_empty() {
                "rprivate".into()
            } else {
                propagation.clone()
            });
            mount.set_options(Some(options));
            Ok(mount)
        }
    }
}

fn normalized_dest(d: &str) -> String {
    let t = d.trim_end_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else {
        t.to_string()
    }
}

/// Default mounts, then `--tmpfs`, then binds. A user mount replaces a default mount at the same
/// destination, and a user `/dev` replaces every default under /dev (as Docker does).
fn build_mounts(input: &SpecInput) -> Result<Vec<Mount>, SpecError> {
    let mut user = Vec::new();
    for (dest, opts) in &input.tmpfs {
        user.push(tmpfs_mount(dest, opts)?);
    }
    for m in &input.mounts {
        user.push(user_mount(m)?);
    }
    for b in &input.binds {
        user.push(bind_mount(b)?);
    }
    let user_dests: HashSet<String> = user
        .iter()
        .map(|m| normalized_dest(&m.destination().to_string_lossy()))
        .collect();
    let user_dev = user_dests.contains("/dev");
    let mut mounts: Vec<Mount> = default_mounts(input.privileged)?
        .into_iter()
        .filter(|m| {
            let d = normalized_dest(&m.destination().to_string_lossy());
            let replaced = user_dests.contains(&d) || (user_dev && d.starts_with("/dev/"));
            !replaced
        })
        .collect();
    mounts.extend(user);
    Ok(mounts)
}

// ---------------------------------------------------------------------------------------------
// Masked / read-only paths, namespaces, sysctls
// ---------------------------------------------------------------------------------------------

/// moby's default masked paths, plus each CPU's thermal_throttle directory that exists on this
/// host (GHSA-6fw5-f8r9-fgfm).
fn default_masked_paths() -> Vec<String> {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            let mut paths: Vec<String> = [
                "/proc/asound",
                "/proc/acpi",
                "/proc/interrupts",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/proc/scsi",
                "/sys/firmware",
                "/sys/devices/virtual/powercap",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let mut throttles = Vec::new();
            if let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") {
                for entry in dir.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let is_cpu = name
                        .strip_prefix("cpu")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                    if is_cpu && entry.path().join("thermal_throttle").exists() {
                        let n: u32 = name[3..].parse().unwrap_or(0);
                        throttles.push((
                            n,
                            format!("/sys/devices/system/cpu/{name}/thermal_throttle"),
                        ));
                    }
                }
            }
            throttles.sort();
            paths.extend(throttles.into_iter().map(|(_, p)| p));
            paths
        })
        .clone()
}

fn default_readonly_paths() -> Vec<String> {
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The paths that make the default cgroup mount read-only, as Docker's "ro" option does: the
/// mount itself, and on a v1 host every hierarchy under it. libcontainer 0.7 ignores the
/// mount's options for cgroup v1 (it mounts a tmpfs and binds each of the container's
/// hierarchies in read-write) and falls back to a read-write bind when cgroup2 cannot be
/// mounted; runtimes bind a read-only path onto itself and remount it read-only, after every
/// mount. A mount of the caller's that replaces the default one, or lies over a path, keeps
/// what the caller asked for.
fn cgroup_readonly_paths(mounts: &[Mount]) -> Vec<String> {
    const CGROUP: &str = "/sys/fs/cgroup";
    let callers: Vec<&Path> = mounts
        .iter()
        .filter(|m| m.typ().as_deref() != Some("cgroup"))
        .map(|m| m.destination().as_path())
        .filter(|d| d.starts_with(CGROUP))
        .collect();
    let mut paths = vec![CGROUP.to_string()];
    if !host_is_cgroup_v2() {
        // The mount's own copy first: each hierarchy is then made read-only in the copy.
        paths.extend(
            crate::cgroups::v1_hierarchy_names()
                .into_iter()
                .map(|name| format!("{CGROUP}/{name}")),
        );
    }
    paths.retain(|p| !callers.iter().any(|c| Path::new(p).starts_with(c)));
    paths
}

/// cgroup v2 ("unified") host: the root has cgroup.controllers. Hybrid v1 hosts do not.
fn host_is_cgroup_v2() -> bool {
    static V2: OnceLock<bool> = OnceLock::new();
    *V2.get_or_init(|| Path::new("/sys/fs/cgroup/cgroup.controllers").exists())
}

fn namespaces(private_network: bool) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut types = vec![LinuxNamespaceType::Mount];
    if private_network {
        types.push(LinuxNamespaceType::Network);
    }
    types.extend([
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
    ]);
    // Docker's default cgroupns mode is "private" on cgroup v2 and "host" on v1.
    if host_is_cgroup_v2() {
        types.push(LinuxNamespaceType::Cgroup);
    }
    types
        .into_iter()
        .map(|t| Ok(LinuxNamespaceBuilder::default().typ(t).build()?))
        .collect()
}

/// Docker (20.10+) lets unprivileged users in a private network namespace bind low ports and
/// ping; not done with the host's network.
fn network_sysctls(private_network: bool) -> HashMap<String, String> {
    let mut s = HashMap::new();
    if private_network {
        if Path::new("/proc/sys/net/ipv4/ip_unprivileged_port_start").exists() {
            s.insert(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string(),
            );
        }
        if Path::new("/proc/sys/net/ipv4/ping_group_range").exists() {
            s.insert(
                "net.ipv4.ping_group_range".to_string(),
                "0 2147483647".to_string(),
            );
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

fn dev_rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// The device cgroup rules of a non-privileged container: moby's `DefaultLinuxSpec` list (deny
/// all; allow zero, null, urandom, random, tty, console; deny fuse), followed by the rules every
/// OCI runtime appends on its own (runc's and youki's built-in allow list: mknod of any device,
/// full, /dev/pts/*, ptmx, and tun/tap, which runc re-added in 1.2.4 and youki always adds).
/// Writing them out keeps embedded and external runtimes identical.
fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    use LinuxDeviceType::{A, B, C};
    Ok(vec![
        dev_rule(false, A, None, None, "rwm")?,
        dev_rule(true, C, Some(1), Some(5), "rwm")?,
        dev_rule(true, C, Some(1), Some(3), "rwm")?,
        dev_rule(true, C, Some(1), Some(9), "rwm")?,
        dev_rule(true, C, Some(1), Some(8), "rwm")?,
        dev_rule(true, C, Some(5), Some(0), "rwm")?,
        dev_rule(true, C, Some(5), Some(1), "rwm")?,
        dev_rule(false, C, Some(10), Some(229), "rwm")?,
        dev_rule(true, C, None, None, "m")?,
        dev_rule(true, B, None, None, "m")?,
        dev_rule(true, C, Some(1), Some(7), "rwm")?,
        dev_rule(true, C, Some(136), None, "rwm")?,
        dev_rule(true, C, Some(5), Some(2), "rwm")?,
        dev_rule(true, C, Some(10), Some(200), "rwm")?,
    ])
}

/// Device nodes every container gets: null, zero, full, random, urandom, tty (root-owned, 0666).
fn default_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .iter()
    .map(|(path, major, minor)| {
        Ok(LinuxDeviceBuilder::default()
            .path(*path)
            .typ(LinuxDeviceType::C)
            .major(*major)
            .minor(*minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()?)
    })
    .collect()
}

/// Every device node under `dir` (what `--privileged` exposes), as containerd's `HostDevices`
/// finds them: directories that are mounts of their own or runtime scratch (pts, shm, fd,
/// mqueue, .lxc, .lxd-mounts, .udev) and /dev/console are skipped, symlinks and fifos too.
fn host_devices(dir: &Path, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SpecError::HostDevices {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Lstat: a symlink is not a device.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            if matches!(
                name.as_str(),
                "pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev"
            ) {
                continue;
            }
            // A subdirectory we cannot read is skipped rather than failing the container.
            let _ = host_devices(&path, out);
            continue;
        }
        if dir == Path::new("/dev") && name == "console" {
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let rdev = meta.rdev();
        out.push(
            LinuxDeviceBuilder::default()
                .path(path)
                .typ(typ)
                .major(libc::major(rdev) as i64)
                .minor(libc::minor(rdev) as i64)
                .file_mode(meta.mode() & 0o7777)
                .uid(meta.uid())
                .gid(meta.gid())
                .build()?,
        );
    }
    Ok(())
}

fn build_devices(privileged: bool) -> Result<Vec<LinuxDevice>, SpecError> {
    let mut devices = default_devices()?;
    if privileged {
        let mut host = Vec::new();
        host_devices(Path::new("/dev"), &mut host)?;
        let mut paths: HashSet<PathBuf> = devices.iter().map(|d| d.path().clone()).collect();
        for d in host {
            if paths.insert(d.path().clone()) {
                devices.push(d);
            }
        }
    }
    Ok(devices)
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

/// Smallest `-m` Docker accepts.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period Docker uses for `--cpus`.
const CPU_PERIOD: u64 = 100_000;

fn online_cpus() -> i64 {
    // Docker counts the CPUs in its affinity mask (Go's runtime.NumCPU).
    // SAFETY: sched_getaffinity fills the set we pass; CPU_COUNT reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set) as i64;
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1)
}

/// Whether swap limits can be applied: cgroup v1 needs swap accounting (memory.memsw.*);
/// Docker drops the swap limit with a warning otherwise.
fn swap_limit_supported() -> bool {
    host_is_cgroup_v2() || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

fn build_resources(input: &SpecInput) -> Result<LinuxResources, SpecError> {
    resources_of(&input.resources, input.privileged)
}

/// The cgroup settings of `r`, with the device rules of a container (`privileged`: all).
pub fn resources_of(r: &Resources, privileged: bool) -> Result<LinuxResources, SpecError> {
    let mut b = LinuxResourcesBuilder::default();

    let devices = if privileged {
        vec![dev_rule(true, LinuxDeviceType::A, None, None, "rwm")?]
    } else {
        default_device_rules()?
    };
    b = b.devices(devices);

    let memory = r.memory.filter(|m| *m != 0);
    let swap = r.memory_swap.filter(|s| *s != 0);
    if let Some(m) = memory.filter(|m| *m < MIN_MEMORY) {
        return Err(SpecError::InvalidResource {
            flag: "--memory",
            reason: format!("minimum memory limit allowed is 6MB, got {m} bytes"),
        });
    }
    if let Some(s) = swap {
        if s < -1 {
            return Err(SpecError::InvalidResource {
                flag: "--memory-swap",
                reason: format!("{s} is not a valid swap limit (use -1 for unlimited swap)"),
            });
        }
        match memory {
            None => {
                return Err(SpecError::InvalidResource {
                    flag: "--memory-swap",
                    reason: "you should always set the memory limit (-m) when using --memory-swap"
                        .into(),
                });
            }
            Some(m) if s != -1 && s < m => {
                return Err(SpecError::InvalidResource {
                    flag: "--memory-swap",
                    reason: format!(
                        "the memory+swap limit ({s} bytes) must be larger than or equal to the \
                         memory limit ({m} bytes)"
                    ),
                });
            }
            _ => {}
        }
    }
    if let Some(m) = memory {
        let mut mb = LinuxMemoryBuilder::default().limit(m);
        if swap_limit_supported() {
            // Docker: with -m and no --memory-swap, memory+swap is twice the memory.
            mb = mb.swap(swap.unwrap_or(m.saturating_mul(2)));
        }
        b = b.memory(mb.build()?);
    }

    let mut cpu = LinuxCpuBuilder::default();
    let mut have_cpu = false;
    if let Some(n) = r.nano_cpus.filter(|n| *n != 0) {
        let cpus = online_cpus();
        if n < 10_000_000 || n > cpus * 1_000_000_000 {
            return Err(SpecError::InvalidResource {
                flag: "--cpus",
                reason: format!(
                    "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs \
                     available (got {:.2})",
                    n as f64 / 1e9
                ),
            });
        }
        if r.cpu_quota.is_some_and(|q| q != 0) || r.cpu_period.is_some_and(|p| p != 0) {
            return Err(SpecError::InvalidResource {
                flag: "--cpus",
                reason:
                    "conflicting options: --cpus and --cpu-period/--cpu-quota cannot both be set"
                        .into(),
            });
        }
        let quota = (n as i128 * CPU_PERIOD as i128 / 1_000_000_000) as i64;
        cpu = cpu.period(CPU_PERIOD).quota(quota);
        have_cpu = true;
    }
    if let Some(period) = r.cpu_period.filter(|p| *p != 0) {
        if !(1_000..=1_000_000).contains(&period) {
            return Err(SpecError::InvalidResource {
                flag: "--cpu-period",
                reason: format!(
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000), got {period}"
                ),
            });
        }
        cpu = cpu.period(period);
        have_cpu = true;
    }
    if let Some(quota) = r.cpu_quota.filter(|q| *q != 0) {
        if quota != -1 && quota < 1_000 {
            return Err(SpecError::InvalidResource {
                flag: "--cpu-quota",
                reason: format!("CPU cfs quota can not be less than 1ms (i.e. 1000), got {quota}"),
            });
        }
        cpu = cpu.quota(quota);
        have_cpu = true;
    }
    if let Some(shares) = r.cpu_shares.filter(|s| *s != 0) {
        cpu = cpu.shares(shares);
        have_cpu = true;
    }
    if have_cpu {
        b = b.cpu(cpu.build()?);
    }

    if let Some(limit) = r.pids_limit.filter(|l| *l > 0) {
        b = b.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    Ok(b.build()?)
}

// ---------------------------------------------------------------------------------------------
// Seccomp
// ---------------------------------------------------------------------------------------------

/// Docker's default profile for the final capability set (lives in [`crate::seccomp`]).
fn default_seccomp(caps: &[String]) -> LinuxSeccomp {
    crate::seccomp::docker_default(caps)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileJson {
    default_action: Option<String>,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMapJson>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<SyscallJson>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapJson {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallJson {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: Option<String>,
    errno_ret: Option<u32>,
    args: Option<Vec<ArgJson>>,
    includes: Option<FilterJson>,
    excludes: Option<FilterJson>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FilterJson {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArgJson {
    index: u32,
    value: u64,
    value_two: Option<u64>,
    op: String,
}

/// Parses one of the crate's SCREAMING_SNAKE_CASE enums, or says what `what` was expected.
fn parse_enum<T: serde::de::DeserializeOwned>(
    value: &str,
    field: &str,
    expected: &str,
) -> Result<T, SpecError> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).map_err(|_| {
        SpecError::SeccompProfile(format!(
            "{field}: unknown value {value:?} (expected {expected})"
        ))
    })
}

/// This machine's architecture in Go's naming (`includes.arches` in Docker profiles) and in
/// libseccomp's (`archMap`).
fn native_arch() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", Some("SCMP_ARCH_X86_64")),
        "x86" => ("386", Some("SCMP_ARCH_X86")),
        "aarch64" => ("arm64", Some("SCMP_ARCH_AARCH64")),
        "arm" => ("arm", Some("SCMP_ARCH_ARM")),
        "riscv64" => ("riscv64", Some("SCMP_ARCH_RISCV64")),
        "s390x" => ("s390x", Some("SCMP_ARCH_S390X")),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", Some("SCMP_ARCH_PPC64LE")),
        "powerpc64" => ("ppc64", Some("SCMP_ARCH_PPC64")),
        "loongarch64" => ("loong64", Some("SCMP_ARCH_LOONGARCH64")),
        "mips64" if cfg!(target_endian = "little") => ("mips64le", Some("SCMP_ARCH_MIPSEL64")),
        "mips64" => ("mips64", Some("SCMP_ARCH_MIPS64")),
        other => (other, None),
    }
}

/// "5.8" -> (5, 8); also reads "6.18.44-foo".
fn parse_kernel_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().unwrap_or("0").parse().unwrap_or(0);
    Some((major, minor))
}

fn host_kernel_version() -> (u32, u32) {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| parse_kernel_version(&r))
        .unwrap_or((0, 0))
}

fn normalize_cap_loose(c: &str) -> String {
    let u = c.trim().to_ascii_uppercase();
    if u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

/// Parses a Docker-format seccomp profile (also accepts the OCI `linux.seccomp` shape) into an
/// OCI `LinuxSeccomp`, resolving `includes`/`excludes` against `caps` (the container's final
/// capabilities), this machine's architecture and kernel version, as moby's `setupSeccomp` does.
fn parse_seccomp_profile(json: &str, caps: &[String]) -> Result<LinuxSeccomp, SpecError> {
    let p: ProfileJson = serde_json::from_str(json).map_err(|e| {
        SpecError::SeccompProfile(format!("not a valid profile JSON document: {e}"))
    })?;
    let default_action = p
        .default_action
        .as_deref()
        .ok_or_else(|| SpecError::SeccompProfile("\"defaultAction\" is missing".to_string()))?;
    let default_action: LinuxSeccompAction = parse_enum(
        default_action,
        "defaultAction",
        "an action such as SCMP_ACT_ERRNO",
    )?;

    let (go_arch, scmp_arch) = native_arch();
    let arch_names: Vec<String> = match (&p.architectures, &p.arch_map) {
        (Some(a), Some(m)) if !a.is_empty() && !m.is_empty() => {
            return Err(SpecError::SeccompProfile(
                "both \"architectures\" and \"archMap\" are set; use one of them".to_string(),
            ));
        }
        (Some(a), _) if !a.is_empty() => a.clone(),
        (_, Some(map)) => {
            let mut names = Vec::new();
            for entry in map {
                if Some(entry.architecture.as_str()) == scmp_arch {
                    names.push(entry.architecture.clone());
                    names.extend(entry.sub_architectures.clone().unwrap_or_default());
                }
            }
            names
        }
        _ => Vec::new(),
    };
    let mut architectures: Vec<Arch> = Vec::new();
    for (i, a) in arch_names.iter().enumerate() {
        let arch = parse_enum(a, &format!("architectures[{i}]"), "an SCMP_ARCH_* name")?;
        if !architectures.contains(&arch) {
            architectures.push(arch);
        }
    }

    let caps: HashSet<String> = caps.iter().map(|c| normalize_cap_loose(c)).collect();
    let kernel = host_kernel_version();
    let min_kernel = |v: &Option<String>, field: String| -> Result<Option<(u32, u32)>, SpecError> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_kernel_version(s).map(Some).ok_or_else(|| {
                SpecError::SeccompProfile(format!(
                    "{field}: {s:?} is not a kernel version (expected e.g. \"5.8\")"
                ))
            }),
        }
    };

    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for (i, sc) in p.syscalls.unwrap_or_default().into_iter().enumerate() {
        let at = format!("syscalls[{i}]");
        let names = match (
            sc.name.filter(|n| !n.is_empty()),
            sc.names.filter(|n| !n.is_empty()),
        ) {
            (Some(_), Some(_)) => {
                return Err(SpecError::SeccompProfile(format!(
                    "{at}: both \"name\" and \"names\" are set; use one of them"
                )));
            }
            (Some(n), None) => vec![n],
            (None, Some(n)) => n,
            (None, None) => {
                return Err(SpecError::SeccompProfile(format!(
                    "{at}: no syscall \"names\" given"
                )));
            }
        };
        let action = sc
            .action
            .as_deref()
            .ok_or_else(|| SpecError::SeccompProfile(format!("{at}: \"action\" is missing")))?;
        let action: LinuxSeccompAction = parse_enum(
            action,
            &format!("{at}.action"),
            "an action such as SCMP_ACT_ALLOW",
        )?;

        let ex = sc.excludes.unwrap_or_default();
        let inc = sc.includes.unwrap_or_default();
        let ex_kernel = min_kernel(&ex.min_kernel, format!("{at}.excludes.minKernel"))?;
        let inc_kernel = min_kernel(&inc.min_kernel, format!("{at}.includes.minKernel"))?;
        let has = |c: &String| caps.contains(&normalize_cap_loose(c));
        let skip = ex
            .arches
            .as_ref()
            .is_some_and(|a| a.iter().any(|a| a == go_arch))
            || ex.caps.as_ref().is_some_and(|c| c.iter().any(has))
            || ex_kernel.is_some_and(|k| kernel >= k)
            || inc
                .arches
                .as_ref()
                .is_some_and(|a| !a.is_empty() && !a.iter().any(|a| a == go_arch))
            || inc.caps.as_ref().is_some_and(|c| !c.iter().all(has))
            || inc_kernel.is_some_and(|k| kernel < k);
        if skip {
            continue;
        }

        let mut args = Vec::new();
        for (j, a) in sc.args.unwrap_or_default().into_iter().enumerate() {
            if a.index > 5 {
                return Err(SpecError::SeccompProfile(format!(
                    "{at}.args[{j}].index: {} is out of range (a syscall has arguments 0 to 5)",
                    a.index
                )));
            }
            let op: LinuxSeccompOperator = parse_enum(
                &a.op,
                &format!("{at}.args[{j}].op"),
                "an operator such as SCMP_CMP_EQ or SCMP_CMP_MASKED_EQ",
            )?;
            let mut ab = LinuxSeccompArgBuilder::default()
                .index(a.index as usize)
                .value(a.value)
                .op(op);
            if let Some(v2) = a.value_two {
                ab = ab.value_two(v2);
            }
            args.push(ab.build()?);
        }
        let mut sb = LinuxSyscallBuilder::default().names(names).action(action);
        if let Some(e) = sc.errno_ret {
            sb = sb.errno_ret(e);
        }
        if !args.is_empty() {
            sb = sb.args(args);
        }
        syscalls.push(sb.build()?);
    }

    let mut b = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .syscalls(syscalls);
    if let Some(e) = p.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    if !architectures.is_empty() {
        b = b.architectures(architectures);
    }
    if let Some(flags) = p.flags.filter(|f| !f.is_empty()) {
        let flags = flags
            .iter()
            .enumerate()
            .map(|(i, f)| {
                parse_enum::<LinuxSeccompFilterFlag>(
                    f,
                    &format!("flags[{i}]"),
                    "a flag such as SECCOMP_FILTER_FLAG_LOG",
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.flags(flags);
    }
    if let Some(l) = p.listener_path.filter(|l| !l.is_empty()) {
        b = b.listener_path(l);
    }
    if let Some(m) = p.listener_metadata.filter(|m| !m.is_empty()) {
        b = b.listener_metadata(m);
    }
    Ok(b.build()?)
}

// ---------------------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------------------

/// Builds the container's OCI runtime spec with Docker's defaults and the user's settings.
pub fn build_spec(input: &SpecInput) -> Result<Spec, SpecError> {
    if input.args.is_empty() {
        return Err(SpecError::EmptyArgs);
    }
    let caps = resolve_capabilities(&input.cap_add, &input.cap_drop, input.privileged)?;
    let cap_set = to_oci_capabilities(&caps)?;
    let rlimits = build_rlimits(&input.ulimits)?;
    let mounts = build_mounts(input)?;
    let resources = build_resources(input)?;

    let seccomp = if input.privileged {
        None
    } else {
        match &input.seccomp {
            SeccompMode::Unconfined => None,
            SeccompMode::Default => Some(default_seccomp(&caps)),
            SeccompMode::Profile(json) => Some(parse_seccomp_profile(json, &caps)?),
        }
    };

    // Start from oci-spec's defaults only for the field layout: every field it fills with its
    // own (youki-flavoured) defaults is overwritten below.
    let mut process = Process::default();
    process.set_terminal(Some(input.terminal));
    process.set_console_size(None);
    process.set_user(
        UserBuilder::default()
            .uid(input.uid)
            .gid(input.gid)
            .additional_gids(input.additional_gids.clone())
            .build()?,
    );
    process.set_args(Some(input.args.clone()));
    process.set_env(Some(input.env.clone()));
    process.set_cwd(PathBuf::from(if input.cwd.is_empty() {
        "/"
    } else {
        input.cwd.as_str()
    }));
    process.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(cap_set.clone())
            .effective(cap_set.clone())
            .permitted(cap_set)
            .inheritable(HashSet::new())
            .ambient(HashSet::new())
            .build()?,
    ));
    process.set_rlimits(if rlimits.is_empty() {
        None
    } else {
        Some(rlimits)
    });
    // Only ever Some(true): libcontainer 0.7 treats Some(false) like true when ordering the
    // seccomp load (it loads the filter after dropping CAP_SYS_ADMIN, without no_new_privs, and
    // the load fails with EACCES). Absent means "false" to every runtime.
    process.set_no_new_privileges(input.no_new_privileges.then_some(true));
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);
    process.set_oom_score_adj(None);
    process.set_scheduler(None);
    process.set_io_priority(None);
    process.set_exec_cpu_affinity(None);

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(input.private_network)?)
        .devices(build_devices(input.privileged)?)
        .resources(resources)
        .build()?;
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    let sysctls = network_sysctls(input.private_network);
    linux.set_sysctl(if sysctls.is_empty() {
        None
    } else {
        Some(sysctls)
    });
    linux.set_cgroups_path(if input.cgroup_path.is_empty() {
        None
    } else {
        Some(PathBuf::from(&input.cgroup_path))
    });
    linux.set_seccomp(seccomp);
    linux.set_rootfs_propagation(rootfs_propagation(&input.mounts));
    if input.privileged {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else {
        linux.set_masked_paths(Some(default_masked_paths()));
        let mut readonly = default_readonly_paths();
        readonly.extend(cgroup_readonly_paths(&mounts));
        linux.set_readonly_paths(Some(readonly));
    }
    linux.set_mount_label(None);
    linux.set_intel_rdt(None);
    linux.set_personality(None);
    linux.set_time_offsets(None);
    linux.set_net_devices(None);
    linux.set_memory_policy(None);

    let root = RootBuilder::default()
        .path(input.rootfs.clone())
        .readonly(input.readonly_rootfs)
        .build()?;

    let mut spec = Spec::default();
    spec.set_version(oci_spec::runtime::VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_hostname(if input.hostname.is_empty() {
        None
    } else {
        Some(input.hostname.clone())
    });
    spec.set_domainname(None);
    spec.set_hooks(None);
    spec.set_annotations(if input.annotations.is_empty() {
        None
    } else {
        Some(input.annotations.iter().cloned().collect())
    });
    spec.set_linux(Some(linux));
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SpecInput {
        SpecInput {
            rootfs: PathBuf::from("/var/lib/berth/overlay/abc/merged"),
            args: vec!["/bin/sh".into(), "-c".into(), "true".into()],
            env: vec!["PATH=/usr/bin:/bin".into()],
            cwd: "/".into(),
            hostname: "abc".into(),
            cgroup_path: "/berth/abc".into(),
            private_network: true,
            ..Default::default()
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn caps_of(spec: &Spec) -> (HashSet<Capability>, &oci_spec::runtime::LinuxCapabilities) {
        let c = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        (c.bounding().clone().unwrap(), c)
    }

    fn ns_types(spec: &Spec) -> Vec<LinuxNamespaceType> {
        spec.linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect()
    }

    fn mount_dests(spec: &Spec) -> Vec<String> {
        spec.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect()
    }

    fn find_mount<'a>(spec: &'a Spec, dest: &str) -> &'a Mount {
        spec.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination() == Path::new(dest))
            .unwrap_or_else(|| panic!("no mount at {dest}"))
    }

    fn grantable(cap: &str) -> bool {
        not_grantable_reason(cap).is_none()
    }

    #[test]
    fn default_spec_has_dockers_14_caps() {
        let spec = build_spec(&input()).unwrap();
        let (bounding, c) = caps_of(&spec);
        let expected: HashSet<Capability> = to_oci_capabilities(
            &default_capabilities()
                .into_iter()
                .filter(|c| grantable(c))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(default_capabilities().len(), 14);
        assert_eq!(bounding, expected);
        assert_eq!(c.effective().clone().unwrap(), expected);
        assert_eq!(c.permitted().clone().unwrap(), expected);
        assert!(c.inheritable().as_ref().unwrap().is_empty());
        assert!(c.ambient().as_ref().unwrap().is_empty());
        assert!(bounding.contains(&Capability::NetBindService));
        assert!(!bounding.contains(&Capability::SysAdmin));
    }

    #[test]
    fn default_spec_masks_and_namespaces() {
        let spec = build_spec(&input()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let masked = linux.masked_paths().as_ref().unwrap();
        for p in [
            "/proc/asound",
            "/proc/acpi",
            "/proc/interrupts",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/proc/scsi",
            "/sys/firmware",
            "/sys/devices/virtual/powercap",
        ] {
            assert!(masked.iter().any(|m| m == p), "{p} not masked");
        }
        // Docker's read-only paths, then the cgroup mount and (v1) each hierarchy in it.
        let readonly = linux.readonly_paths().as_ref().unwrap();
        let defaults = default_readonly_paths();
        assert_eq!(readonly[..defaults.len()], defaults[..]);
        assert_eq!(readonly[defaults.len()], "/sys/fs/cgroup");
        if !host_is_cgroup_v2() {
            for name in crate::cgroups::v1_hierarchy_names() {
                let path = format!("/sys/fs/cgroup/{name}");
                assert!(readonly.contains(&path), "{path} not read-only");
            }
        }
        let ns = ns_types(&spec);
        for t in [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
        ] {
            assert!(ns.contains(&t), "{t:?} missing");
        }
        assert!(!ns.contains(&LinuxNamespaceType::User));
        assert_eq!(
            ns.contains(&LinuxNamespaceType::Cgroup),
            host_is_cgroup_v2()
        );
        assert_eq!(
            linux.cgroups_path().as_deref(),
            Some(Path::new("/berth/abc"))
        );
        assert_eq!(spec.hostname().as_deref(), Some("abc"));
        let root = spec.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/var/lib/berth/overlay/abc/merged"));
        assert_eq!(root.readonly(), Some(false));
    }

    #[test]
    fn default_process_has_no_inherited_oci_spec_defaults() {
        let mut i = input();
        i.uid = 1000;
        i.gid = 1001;
        i.additional_gids = vec![10, 20];
        i.terminal = true;
        i.cwd = "/work".into();
        let spec = build_spec(&i).unwrap();
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &i.args);
        assert_eq!(p.env().as_ref().unwrap(), &i.env);
        assert_eq!(p.cwd(), Path::new("/work"));
        assert_eq!(p.user().uid(), 1000);
        assert_eq!(p.user().gid(), 1001);
        assert_eq!(p.user().additional_gids().as_ref().unwrap(), &vec![10, 20]);
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.no_new_privileges(), None, "absent, not Some(false)");
        assert!(
            p.rlimits().is_none(),
            "no rlimits by default: the container inherits"
        );
        assert!(p.oom_score_adj().is_none());
        assert!(spec.annotations().is_none());
    }

    #[test]
    fn default_mounts_match_docker() {
        let spec = build_spec(&input()).unwrap();
        assert_eq!(
            mount_dests(&spec),
            s(&[
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ])
        );
        let sys = find_mount(&spec, "/sys");
        assert!(sys.options().as_ref().unwrap().contains(&"ro".to_string()));
        let cg = find_mount(&spec, "/sys/fs/cgroup");
        assert_eq!(cg.typ().as_deref(), Some("cgroup"));
        assert!(cg.options().as_ref().unwrap().contains(&"ro".to_string()));
        let shm = find_mount(&spec, "/dev/shm");
        assert_eq!(
            shm.options().as_ref().unwrap(),
            &s(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])
        );
        let pts = find_mount(&spec, "/dev/pts");
        assert!(
            pts.options()
                .as_ref()
                .unwrap()
                .contains(&"newinstance".to_string())
        );
    }

    #[test]
    fn default_devices_and_rules() {
        let spec = build_spec(&input()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let devs = linux.devices().as_ref().unwrap();
        let paths: Vec<_> = devs
            .iter()
            .map(|d| d.path().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            s(&[
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ])
        );
        assert!(
            devs.iter()
                .all(|d| d.file_mode() == Some(0o666) && d.uid() == Some(0))
        );
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        let text: Vec<String> = rules
            .iter()
            .map(|r| format!("{} {}", if r.allow() { "allow" } else { "deny" }, r))
            .collect();
        assert_eq!(text[0], "deny a *:* rwm");
        for want in [
            "allow c 1:3 rwm",
            "allow c 1:5 rwm",
            "allow c 1:7 rwm",
            "allow c 1:8 rwm",
            "allow c 1:9 rwm",
            "allow c 5:0 rwm",
            "allow c 5:1 rwm",
            "allow c 5:2 rwm",
            "allow c 136:* rwm",
            "allow c *:* m",
            "allow b *:* m",
            "deny c 10:229 rwm",
        ] {
            assert!(
                text.iter().any(|t| t == want),
                "missing rule {want}: {text:?}"
            );
        }
    }

    #[test]
    fn cap_add_and_drop() {
        // Any case, with or without CAP_.
        let caps =
            resolve_capabilities(&s(&["net_admin", "CAP_SYS_PTRACE"]), &s(&["mknod"]), false)
                .unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
        assert!(!caps.contains(&"CAP_MKNOD".to_string()));
        assert!(caps.contains(&"CAP_CHOWN".to_string()));
        // Adding a default twice does not duplicate it.
        let caps = resolve_capabilities(&s(&["CHOWN"]), &[], false).unwrap();
        assert_eq!(caps.iter().filter(|c| *c == "CAP_CHOWN").count(), 1);
    }

    #[test]
    fn cap_add_all_and_drop_all() {
        let all = resolve_capabilities(&s(&["ALL"]), &s(&["sys_admin"]), false).unwrap();
        assert_eq!(
            all,
            grantable_capabilities()
                .into_iter()
                .filter(|c| c != "CAP_SYS_ADMIN")
                .collect::<Vec<_>>()
        );
        assert!(all.len() > 30);
        let none = resolve_capabilities(&[], &s(&["all"]), false).unwrap();
        assert!(none.is_empty());
        let one = resolve_capabilities(&s(&["NET_BIND_SERVICE"]), &s(&["ALL"]), false).unwrap();
        assert_eq!(one, s(&["CAP_NET_BIND_SERVICE"]));
        // Through build_spec: --cap-drop ALL gives empty sets.
        let mut i = input();
        i.cap_drop = s(&["ALL"]);
        let spec = build_spec(&i).unwrap();
        assert!(caps_of(&spec).0.is_empty());
    }

    #[test]
    fn unknown_capability_is_an_error() {
        let err = resolve_capabilities(&s(&["NET_FOO"]), &[], false).unwrap_err();
        assert!(
            matches!(err, SpecError::UnknownCapability(ref c) if c == "NET_FOO"),
            "{err}"
        );
        assert!(err.to_string().contains("NET_FOO"));
        let err = resolve_capabilities(&[], &s(&["bogus"]), false).unwrap_err();
        assert!(err.to_string().contains("bogus"));
        let mut i = input();
        i.cap_add = s(&["CAP_NOPE"]);
        assert!(matches!(
            build_spec(&i),
            Err(SpecError::UnknownCapability(_))
        ));
    }

    #[test]
    fn cap_add_of_a_capability_this_process_lacks_is_a_clear_error() {
        match CAP_NAMES.iter().find(|c| !grantable(c)) {
            Some(missing) => {
                let err = resolve_capabilities(&[missing.to_string()], &[], false).unwrap_err();
                assert!(matches!(err, SpecError::CapabilityNotGrantable { .. }));
                assert!(err.to_string().contains(missing), "{err}");
            }
            None => eprintln!("this process holds every capability; nothing to check"),
        }
    }

    #[test]
    fn a_mount_of_the_callers_over_the_cgroup_mount_is_left_as_asked() {
        let readonly_with = |destination: &str| {
            let mut i = input();
            i.binds.push(BindMount {
                source: "/sys/fs/cgroup".into(),
                destination: destination.into(),
                readonly: false,
            });
            let spec = build_spec(&i).unwrap();
            spec.linux()
                .as_ref()
                .unwrap()
                .readonly_paths()
                .clone()
                .unwrap()
        };
        // `-v /sys/fs/cgroup:/sys/fs/cgroup:rw` (systemd in a container) replaces Docker's
        // read-only cgroup mount.
        assert_eq!(readonly_with("/sys/fs/cgroup"), default_readonly_paths());
        // One over a single hierarchy leaves that one as asked and the rest read-only.
        let readonly = readonly_with("/sys/fs/cgroup/systemd");
        assert!(readonly.iter().any(|p| p == "/sys/fs/cgroup"));
        assert!(
            !readonly
                .iter()
                .any(|p| p.starts_with("/sys/fs/cgroup/systemd"))
        );
    }

    #[test]
    fn privileged_gets_all_caps_devices_and_no_confinement() {
        let mut i = input();
        i.privileged = true;
        i.cap_drop = s(&["ALL"]); // ignored, as Docker does
        let spec = build_spec(&i).unwrap();
        let (bounding, _) = caps_of(&spec);
        let all = grantable_capabilities();
        assert_eq!(bounding, to_oci_capabilities(&all).unwrap());
        assert!(bounding.contains(&Capability::SysAdmin));
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.masked_paths().is_none());
        assert!(linux.readonly_paths().is_none());
        assert!(linux.seccomp().is_none());
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow());
        assert_eq!(rules[0].to_string(), "a *:* rwm");
        let devs = linux.devices().as_ref().unwrap();
        assert!(devs.iter().any(|d| d.path() == Path::new("/dev/null")));
        let mut paths: Vec<_> = devs.iter().map(|d| d.path().clone()).collect();
        let n = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), n, "duplicate device paths");
        assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts")));
        let sys = find_mount(&spec, "/sys");
        assert!(sys.options().as_ref().unwrap().contains(&"rw".to_string()));
        let cg = find_mount(&spec, "/sys/fs/cgroup");
        assert!(!cg.options().as_ref().unwrap().contains(&"ro".to_string()));
    }

    #[test]
    fn ulimit_names_and_mapping() {
        assert_eq!(rlimit_type("nofile"), Some(PosixRlimitType::RlimitNofile));
        assert_eq!(rlimit_type("nproc"), Some(PosixRlimitType::RlimitNproc));
        assert_eq!(rlimit_type("as"), Some(PosixRlimitType::RlimitAs));
        assert_eq!(rlimit_type("rttime"), Some(PosixRlimitType::RlimitRttime));
        assert_eq!(rlimit_type("files"), None);
        // Discriminants are the kernel's numbers.
        assert_eq!(
            PosixRlimitType::RlimitNofile as u32,
            libc::RLIMIT_NOFILE as i64 as u32
        );
        assert_eq!(
            PosixRlimitType::RlimitAs as u32,
            libc::RLIMIT_AS as i64 as u32
        );
        assert_eq!(
            PosixRlimitType::RlimitRttime as u32,
            libc::RLIMIT_RTTIME as i64 as u32
        );

        let (_, host_hard) = host_rlimit(PosixRlimitType::RlimitNofile).unwrap();
        let hard = if host_hard == RLIM_INFINITY {
            4096
        } else {
            host_hard.min(4096)
        };
        let mut i = input();
        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: hard / 2,
            hard,
        }];
        let spec = build_spec(&i).unwrap();
        let rl = spec.process().as_ref().unwrap().rlimits().clone().unwrap();
        assert_eq!(rl.len(), 1);
        assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((rl[0].soft(), rl[0].hard()), (hard / 2, hard));
    }

    #[test]
    fn ulimit_errors() {
        let mut i = input();
        i.ulimits = vec![Ulimit {
            name: "nofiles".into(),
            soft: 1,
            hard: 1,
        }];
        let err = build_spec(&i).unwrap_err();
        assert!(matches!(err, SpecError::UnknownUlimit(ref n) if n == "nofiles"));
        assert!(err.to_string().contains("nofiles"));

        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 200,
            hard: 100,
        }];
        let err = build_spec(&i).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ulimit nofile: soft limit 200 is greater than hard limit 100"
        );

        let (_, host_hard) = host_rlimit(PosixRlimitType::RlimitNofile).unwrap();
        if host_hard != RLIM_INFINITY {
            let want = host_hard + 1_000_000;
            i.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: want,
            }];
            let err = build_spec(&i).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "ulimit nofile: hard limit {want} exceeds the host's hard limit {host_hard}"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn cpus_and_memory_mapping() {
        let mut i = input();
        i.resources = Resources {
            memory: Some(64 * 1024 * 1024),
            memory_swap: None,
            nano_cpus: Some(500_000_000),
            cpu_shares: Some(512),
            pids_limit: Some(100),
            ..Default::default()
        };
        let spec = build_spec(&i).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        let mem = r.memory().unwrap();
        assert_eq!(mem.limit(), Some(64 * 1024 * 1024));
        if swap_limit_supported() {
            assert_eq!(mem.swap(), Some(128 * 1024 * 1024));
        }
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(50_000));
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(r.pids().unwrap().limit(), 100);

        // Explicit swap, unlimited swap, no pids limit.
        i.resources.memory_swap = Some(-1);
        i.resources.pids_limit = Some(0);
        i.resources.nano_cpus = Some(1_000_000_000);
        let spec = build_spec(&i).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        if swap_limit_supported() {
            assert_eq!(r.memory().unwrap().swap(), Some(-1));
        }
        assert!(r.pids().is_none());
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(100_000));

        // Nothing set: no memory / cpu / pids sections at all.
        let spec = build_spec(&input()).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
    }

    #[test]
    fn bad_resources_are_errors() {
        let mut i = input();
        i.resources.memory = Some(1024);
        assert!(build_spec(&i).unwrap_err().to_string().contains("6MB"));
        i.resources.memory = Some(64 << 20);
        i.resources.memory_swap = Some(32 << 20);
        assert!(
            build_spec(&i)
                .unwrap_err()
                .to_string()
                .starts_with("--memory-swap")
        );
        i.resources.memory = None;
        i.resources.memory_swap = Some(128 << 20);
        assert!(build_spec(&i).unwrap_err().to_string().contains("-m"));
        i.resources.memory_swap = None;
        i.resources.nano_cpus = Some(1_000_000);
        let err = build_spec(&i).unwrap_err().to_string();
        assert!(
            err.starts_with("--cpus: range of CPUs is from 0.01"),
            "{err}"
        );
        i.resources.nano_cpus = Some((online_cpus() + 1) * 1_000_000_000);
        assert!(
            build_spec(&i)
                .unwrap_err()
                .to_string()
                .starts_with("--cpus")
        );
    }

    #[test]
    fn user_mounts_come_between_tmpfs_and_engine_binds() {
        let mut i = input();
        i.tmpfs = vec![("/run".into(), "".into())];
        i.mounts = vec![
            UserMount::Bind {
                source: "/var/lib/berth/volumes/v/_data".into(),
                destination: "/data".into(),
                readonly: true,
                propagation: "rshared".into(),
                recursive: true,
            },
            UserMount::Bind {
                source: "/srv".into(),
                destination: "/srv".into(),
                readonly: false,
                propagation: String::new(),
                recursive: false,
            },
            UserMount::Tmpfs {
                destination: "/scratch".into(),
                options: "size=1024k,mode=1770".into(),
            },
        ];
        i.binds = vec![BindMount {
            source: "/etc/hosts-x".into(),
            destination: "/etc/hosts".into(),
            readonly: false,
        }];
        let spec = build_spec(&i).unwrap();
        assert_eq!(
            &mount_dests(&spec)[7..],
            &s(&["/run", "/data", "/srv", "/scratch", "/etc/hosts"])
        );
        assert_eq!(
            find_mount(&spec, "/data").options().as_ref().unwrap(),
            &s(&["rbind", "ro", "rshared"])
        );
        assert_eq!(
            find_mount(&spec, "/srv").options().as_ref().unwrap(),
            &s(&["bind", "rprivate"])
        );
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .rootfs_propagation()
                .as_deref(),
            Some("shared")
        );
        let scratch = find_mount(&spec, "/scratch").options().clone().unwrap();
        assert!(
            scratch.contains(&"size=1024k".to_string())
                && scratch.contains(&"mode=1770".to_string()),
            "{scratch:?}"
        );
    }

    #[test]
    fn tmpfs_and_binds_in_order() {
        let mut i = input();
        i.tmpfs = vec![
            ("/run".into(), "".into()),
            ("/tmp".into(), "size=64m,exec".into()),
        ];
        i.binds = vec![
            BindMount {
                source: "/etc/hosts-x".into(),
                destination: "/etc/hosts".into(),
                readonly: false,
            },
            BindMount {
                source: "/srv/data".into(),
                destination: "/data".into(),
                readonly: true,
            },
        ];
        let spec = build_spec(&i).unwrap();
        let dests = mount_dests(&spec);
        assert_eq!(&dests[7..], &s(&["/run", "/tmp", "/etc/hosts", "/data"]));
        assert_eq!(
            find_mount(&spec, "/run").options().as_ref().unwrap(),
            &s(&["rw", "nosuid", "nodev", "noexec"])
        );
        let tmp = find_mount(&spec, "/tmp");
        assert_eq!(tmp.typ().as_deref(), Some("tmpfs"));
        assert_eq!(
            tmp.options().as_ref().unwrap(),
            &s(&["rw", "nosuid", "nodev", "size=64m", "exec"])
        );
        let hosts = find_mount(&spec, "/etc/hosts");
        assert_eq!(hosts.typ().as_deref(), Some("bind"));
        assert_eq!(hosts.source().as_deref(), Some(Path::new("/etc/hosts-x")));
        assert_eq!(
            hosts.options().as_ref().unwrap(),
            &s(&["rbind", "rprivate"])
        );
        assert_eq!(
            find_mount(&spec, "/data").options().as_ref().unwrap(),
            &s(&["rbind", "ro", "rprivate"])
        );
    }

    #[test]
    fn user_mounts_replace_defaults_and_bad_ones_fail() {
        let mut i = input();
        i.tmpfs = vec![("/dev/shm".into(), "size=1g".into())];
        let spec = build_spec(&i).unwrap();
        let dests = mount_dests(&spec);
        assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
        assert!(
            find_mount(&spec, "/dev/shm")
                .options()
                .as_ref()
                .unwrap()
                .contains(&"size=1g".to_string())
        );

        i.tmpfs = vec![("relative".into(), "".into())];
        assert!(matches!(
            build_spec(&i),
            Err(SpecError::InvalidTmpfs { .. })
        ));
        i.tmpfs.clear();
        i.binds = vec![BindMount {
            source: "rel".into(),
            destination: "/x".into(),
            readonly: false,
        }];
        assert!(matches!(build_spec(&i), Err(SpecError::InvalidBind { .. })));
    }

    #[test]
    fn merge_options_later_wins() {
        assert_eq!(
            merge_mount_options(&[
                "rw", "nosuid", "nodev", "noexec", "ro", "size=1m", "size=2m", "suid"
            ]),
            s(&["nodev", "noexec", "ro", "size=2m", "suid"])
        );
    }

    #[test]
    fn host_network_omits_network_namespace() {
        let mut i = input();
        i.private_network = false;
        let spec = build_spec(&i).unwrap();
        let ns = ns_types(&spec);
        assert!(!ns.contains(&LinuxNamespaceType::Network));
        assert!(ns.contains(&LinuxNamespaceType::Pid));
        assert!(spec.linux().as_ref().unwrap().sysctl().is_none());
    }

    #[test]
    fn annotations_and_readonly_root() {
        let mut i = input();
        i.readonly_rootfs = true;
        i.no_new_privileges = true;
        i.annotations = vec![("org.berth.id".into(), "abc".into())];
        let spec = build_spec(&i).unwrap();
        assert_eq!(
            spec.annotations()
                .as_ref()
                .unwrap()
                .get("org.berth.id")
                .map(|s| s.as_str()),
            Some("abc")
        );
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
        assert_eq!(
            spec.process().as_ref().unwrap().no_new_privileges(),
            Some(true)
        );
    }

    #[test]
    fn empty_args_is_an_error() {
        let mut i = input();
        i.args.clear();
        assert!(matches!(build_spec(&i), Err(SpecError::EmptyArgs)));
    }

    #[test]
    fn seccomp_modes() {
        let spec = build_spec(&input()).unwrap();
        let sc = spec
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .clone()
            .expect("default profile");
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert!(!sc.syscalls().as_ref().unwrap().is_empty());

        let mut i = input();
        i.seccomp = SeccompMode::Unconfined;
        assert!(
            build_spec(&i)
                .unwrap()
                .linux()
                .as_ref()
                .unwrap()
                .seccomp()
                .is_none()
        );
    }

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
             "includes": {}, "excludes": {}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
            {"names": ["chown"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_CHOWN"]}},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
            {"name": "mount", "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["arch_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["nonexistent"]}},
            {"names": ["new_kernel_only"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}}
        ]
    }"#;

    fn names(sc: &LinuxSeccomp) -> Vec<String> {
        sc.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|s| s.names().clone())
            .collect()
    }

    #[test]
    fn docker_profile_is_parsed_with_cap_conditions() {
        let caps = s(&["CAP_CHOWN"]);
        let sc = parse_seccomp_profile(PROFILE, &caps).unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(sc.default_errno_ret(), Some(1));
        let n = names(&sc);
        assert_eq!(n, s(&["read", "write", "personality", "mount"]));
        let mount = sc
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|s| s.names()[0] == "mount")
            .unwrap();
        assert_eq!(mount.errno_ret(), Some(38));
        assert_eq!(mount.action(), LinuxSeccompAction::ScmpActErrno);
        let pers = sc
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|s| s.names()[0] == "personality")
            .unwrap();
        let arg = pers.args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.value(), arg.op()),
            (0, 8, LinuxSeccompOperator::ScmpCmpEq)
        );
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(
                sc.architectures().as_ref().unwrap(),
                &vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
            );
        }

        // With CAP_SYS_PTRACE and without CAP_CHOWN: ptrace in, chown in.
        let sc = parse_seccomp_profile(PROFILE, &s(&["sys_ptrace"])).unwrap();
        let n = names(&sc);
        assert!(
            n.contains(&"ptrace".to_string()) && n.contains(&"chown".to_string()),
            "{n:?}"
        );

        // Through build_spec, against the final capability set.
        let mut i = input();
        i.cap_add = s(&["SYS_PTRACE"]);
        i.seccomp = SeccompMode::Profile(PROFILE.to_string());
        let spec = build_spec(&i).unwrap();
        let n = names(spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap());
        assert!(n.contains(&"ptrace".to_string()));
        assert!(!n.contains(&"chown".to_string()));
    }

    #[test]
    fn bad_seccomp_profiles_say_what_is_wrong() {
        let err = |json: &str| parse_seccomp_profile(json, &[]).unwrap_err().to_string();
        assert!(err("{not json").contains("not a valid profile JSON"));
        assert!(err("{}").contains("defaultAction"));
        assert!(err(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).contains("\"SCMP_ACT_NOPE\""));
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "ALLOW"}]}"#,
        );
        assert!(
            e.contains("syscalls[0].action") && e.contains("ALLOW"),
            "{e}"
        );
        let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"]}]}"#);
        assert!(e.contains("syscalls[0]") && e.contains("action"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "EQUALS"}]}]}"#,
        );
        assert!(e.contains("syscalls[0].args[0].op"), "{e}");
        let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_PDP11"]}"#);
        assert!(e.contains("architectures[0]"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
        );
        assert!(e.contains("archMap"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": 5, "action": "SCMP_ACT_ALLOW"}]}"#,
        );
        assert!(e.contains("invalid type"), "{e}");

        let mut i = input();
        i.seccomp = SeccompMode::Profile("[]".into());
        assert!(matches!(build_spec(&i), Err(SpecError::SeccompProfile(_))));
    }

    #[test]
    fn spec_round_trips_through_json() {
        let mut i = input();
        i.ulimits = vec![Ulimit {
            name: "nproc".into(),
            soft: 100,
            hard: 200,
        }];
        i.tmpfs = vec![("/tmp".into(), "size=1m".into())];
        i.binds = vec![BindMount {
            source: "/etc/hosts".into(),
            destination: "/etc/hosts".into(),
            readonly: true,
        }];
        i.annotations = vec![("a".into(), "b".into())];
        i.resources.memory = Some(100 << 20);
        i.resources.nano_cpus = Some(250_000_000);
        for privileged in [false, true] {
            i.privileged = privileged;
            let spec = build_spec(&i).unwrap();
            let json = serde_json::to_string_pretty(&spec).unwrap();
            let back: Spec = serde_json::from_str(&json).unwrap();
            assert_eq!(back, spec);
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["ociVersion"], oci_spec::runtime::VERSION);
            assert!(v["process"].get("oomScoreAdj").is_none());
            // Also through a file, as the runtime loads it.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            spec.save(&path).unwrap();
            assert_eq!(Spec::load(&path).unwrap(), spec);
        }
    }
}

/// Runs generated specs under a real OCI runtime (`runc`), as root. Skipped (passes) when not
/// root or runc/busybox are missing.
#[cfg(test)]
mod runc_tests {
    use super::*;
    use std::process::Command;

    fn which(name: &str) -> Option<PathBuf> {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    }

    /// Builds a busybox bundle, runs `script` with the spec that `tweak` adjusts, returns stdout.
    fn run(name: &str, script: &str, tweak: impl FnOnce(&mut SpecInput)) -> Option<String> {
        let (Some(runc), Some(busybox)) = (which("runc"), which("busybox")) else {
            eprintln!("runc or busybox missing; skipped");
            return None;
        };
        if !nix::unistd::geteuid().is_root() {
            eprintln!("not root; skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle");
        let rootfs = bundle.join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::copy(&busybox, rootfs.join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
        let id = format!("berth-spec-{name}-{}", std::process::id());
        let mut input = SpecInput {
            rootfs: rootfs.clone(),
            args: vec!["/bin/sh".into(), "-c".into(), script.into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            hostname: "spectest".into(),
            cgroup_path: format!("/berth-spec-test/{id}"),
            private_network: true,
            ..Default::default()
        };
        tweak(&mut input);
        let spec = build_spec(&input).unwrap();
        spec.save(bundle.join("config.json")).unwrap();
        let state = dir.path().join("runc-state");
        let out = Command::new(&runc)
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .output()
            .unwrap();
        let _ = Command::new(&runc)
            .arg("--root")
            .arg(&state)
            .args(["delete", "-f", &id])
            .output();
        // Remove the (then empty) parent cgroup in every hierarchy; fails harmlessly while a
        // concurrent test still uses it.
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                let _ = std::fs::remove_dir(c.path().join("berth-spec-test"));
            }
        }
        let _ = std::fs::remove_dir("/sys/fs/cgroup/berth-spec-test");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(out.status.success(), "runc failed: {stderr}");
        Some(stdout)
    }

    #[test]
    fn runc_runs_the_default_spec() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
        let script = "grep -E '^Cap(Eff|Bnd)' /proc/self/status; \
                      grep 'open files' /proc/self/limits; \
                      hostname; cat /etc/hosts; \
                      ls /dev | tr '\\n' ' '; echo; \
                      touch /tmp/x && echo tmp-ok; \
                      touch /etc/hosts 2>/dev/null || echo hosts-ro; \
                      touch /sys/x 2>/dev/null || echo sys-ro; \
                      grep -c . /proc/kcore 2>/dev/null; echo kcore-$?";
        let Some(stdout) = run("default", script, |i| {
            i.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: 1000,
                hard: 2000,
            }];
            i.tmpfs = vec![("/tmp".into(), "size=1m".into())];
            i.binds = vec![BindMount {
                source: hosts.clone(),
                destination: "/etc/hosts".into(),
                readonly: true,
            }];
            i.resources = Resources {
                memory: Some(64 << 20),
                pids_limit: Some(50),
                nano_cpus: Some(500_000_000),
                ..Default::default()
            };
        }) else {
            return;
        };
        // Docker's 14 default capabilities are the mask 0xa80425fb.
        assert!(stdout.contains("CapEff:\t00000000a80425fb"), "{stdout}");
        assert!(stdout.contains("CapBnd:\t00000000a80425fb"), "{stdout}");
        assert!(stdout.lines().any(|l| {
            l.starts_with("Max open files") && l.contains("1000") && l.contains("2000")
        }));
        assert!(stdout.contains("spectest"));
        assert!(stdout.contains("127.0.0.1 localhost"));
        for d in [
            "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue",
        ] {
            assert!(stdout.contains(d), "/dev/{d} missing: {stdout}");
        }
        assert!(stdout.contains("tmp-ok"));
        assert!(stdout.contains("hosts-ro"));
        assert!(stdout.contains("sys-ro"));
        assert!(
            !stdout.contains("kcore-0"),
            "/proc/kcore is readable: {stdout}"
        );
    }

    #[test]
    fn runc_runs_a_privileged_spec() {
        let script = "grep -E '^CapEff' /proc/self/status; ls /dev | grep -c .; \
                      touch /sys/kernel/x 2>&1 | grep -q 'Read-only' && echo sys-ro || echo sys-rw";
        let Some(stdout) = run("privileged", script, |i| i.privileged = true) else {
            return;
        };
        let want: u64 = grantable_capabilities()
            .iter()
            .map(|c| 1u64 << cap_number(c).unwrap())
            .sum();
        assert!(
            stdout.contains(&format!("CapEff:\t{want:016x}")),
            "{stdout}"
        );
        assert!(stdout.contains("sys-rw"), "{stdout}");
    }
}
