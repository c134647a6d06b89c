//! OCI runtime spec generation with Docker's defaults: [`build_spec`] turns a container's
//! settings ([`SpecInput`]) into the `config.json` an OCI runtime reads.
//!
//! One module per concern: [`mounts`] (default mounts, tmpfs, binds, user mounts, masked and
//! read-only paths), [`devices`] (device nodes and cgroup device rules), [`resources`] (cgroup
//! limits, also used by a live `update`), [`ulimits`] (rlimits), [`namespaces`] (namespaces and
//! network sysctls), [`sysctls`] (the user's `--sysctl`s, namespaced ones only). The capability arithmetic is [`crate::capabilities`] and the seccomp profiles
//! are [`crate::seccomp`], because the seccomp profile needs the capability names too.
//! Every name other crates import stays re-exported here (`berth_runtime::spec::X`).

mod devices;
mod mounts;
mod namespaces;
mod resources;
#[cfg(test)]
mod runc_tests;
mod sysctls;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod ulimits;

use std::collections::HashSet;
use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxBuilder, LinuxCapabilitiesBuilder, Process, RootBuilder, Spec, UserBuilder,
};

pub use crate::capabilities::{CapabilityError, default_capabilities, resolve_capabilities};
pub use devices::{UserDevice, user_device_rules};
pub use mounts::{BindMount, Shm, UserMount, shm_option};
pub use namespaces::{Namespace, Namespaces};
pub use resources::{DeviceRule, Resources, resources_of};
pub use sysctls::{SysctlNamespace, sysctl_namespace};
pub use ulimits::{Ulimit, rlimit_type};

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
    /// Whose pid, ipc, uts and cgroup namespaces the container is in (`--pid`, `--ipc` ...).
    pub namespaces: Namespaces,
    /// What /dev/shm is (`--ipc none`: nothing; shareable or joined: a host directory).
    pub shm: Shm,
    /// `--shm-size` in bytes for a private /dev/shm (`None`: Docker's 64 MiB).
    pub shm_size: Option<i64>,
    /// `--sysctl`s, in the order given.
    pub sysctls: Vec<(String, String)>,
    /// `--device`s: host device nodes made in the container.
    pub devices: Vec<UserDevice>,
    /// `--oom-score-adj` (`None`: inherited).
    pub oom_score_adj: Option<i32>,
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

/// Why a container's settings cannot be turned into an OCI spec. Every message names the flag
/// and the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the container has no command to run (empty args)")]
    EmptyArgs,
    /// An unknown `--cap-add`/`--cap-drop` name, or one this process cannot give.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
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
    SeccompProfile(#[from] crate::seccomp::ProfileError),
    #[error("--privileged: cannot list the host's devices under {path}: {source}")]
    HostDevices {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--sysctl {name}: {reason}")]
    Sysctl { name: String, reason: String },
    /// A `--device` whose host path is not a device node (or cannot be read).
    #[error("error gathering device information while adding custom device {path:?}: {reason}")]
    Device { path: PathBuf, reason: String },
    #[error("--oom-score-adj {0}: invalid value, valid range is -1000 to 1000")]
    OomScoreAdj(i32),
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// Builds the container's OCI runtime spec with Docker's defaults and the user's settings.
pub fn build_spec(input: &SpecInput) -> Result<Spec, SpecError> {
    if input.args.is_empty() {
        return Err(SpecError::EmptyArgs);
    }
    let caps = resolve_capabilities(&input.cap_add, &input.cap_drop, input.privileged)?;
    let cap_set = crate::capabilities::to_oci_capabilities(&caps)?;
    let rlimits = ulimits::build_rlimits(&input.ulimits)?;
    let mounts = mounts::build_mounts(input)?;
    let resources = resources::build_resources(input)?;

    let seccomp = if input.privileged {
        None
    } else {
        match &input.seccomp {
            SeccompMode::Unconfined => None,
            SeccompMode::Default => Some(crate::seccomp::docker_default(&caps)),
            SeccompMode::Profile(json) => Some(crate::seccomp::parse_profile(json, &caps)?),
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
    if let Some(adj) = input.oom_score_adj.filter(|a| !(-1000..=1000).contains(a)) {
        return Err(SpecError::OomScoreAdj(adj));
    }
    process.set_oom_score_adj(input.oom_score_adj);
    process.set_scheduler(None);
    process.set_io_priority(None);
    process.set_exec_cpu_affinity(None);

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces::namespaces(
            input.private_network,
            &input.namespaces,
        )?)
        .devices(devices::build_devices(input.privileged, &input.devices)?)
        .resources(resources)
        .build()?;
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    let sysctls =
        sysctls::build_sysctls(input, namespaces::network_sysctls(input.private_network))?;
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
    linux.set_rootfs_propagation(mounts::rootfs_propagation(&input.mounts));
    if input.privileged {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else {
        linux.set_masked_paths(Some(mounts::default_masked_paths()));
        let mut readonly = mounts::default_readonly_paths();
        readonly.extend(mounts::cgroup_readonly_paths(&mounts));
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
    // In the host's UTS namespace the runtime must not set the host's name.
    spec.set_hostname(
        if input.hostname.is_empty() || input.namespaces.uts == Namespace::Host {
            None
        } else {
            Some(input.hostname.clone())
        },
    );
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
