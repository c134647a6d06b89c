//! A container's OCI spec: the runtime's [`SpecInput`] from the container's settings and the
//! engine's [`Launch`] (the network files bound in, `--init`, `--security-opt`, ulimits,
//! limits, mounts), built by `berth_runtime::spec`, joined to the engine's network namespace.

use std::path::{Path, PathBuf};

use berth_model::grammar::{NamespaceKind, NamespaceMode, parse_namespace_mode};
use berth_runtime::spec::{
    BindMount, DeviceRule, Namespace, Namespaces, Resources, SeccompMode, Shm, SpecInput, Ulimit,
    UserDevice, UserMount, user_device_rules,
};
use oci_spec::runtime::Spec;

use crate::sandbox::{Launch, Mount, SandboxError};
use crate::store::ContainerRecord;
use crate::types::{CreateRequest, HostConfig};

/// The OCI spec of container `rec` for `launch`. `embedded`: run by the embedded
/// libcontainer, whose seccomp support differs from runc's.
/// `shm_dir`: where the container's own shareable /dev/shm is mounted (`--ipc shareable`).
pub(super) fn build(
    rec: &ContainerRecord,
    launch: Launch,
    embedded: bool,
    shm_dir: &Path,
) -> Result<Spec, SandboxError> {
    let netns = launch.netns.clone();
    let hosts_network = netns.as_deref().is_some_and(super::netns::is_hosts);
    let (namespaces, shm) = namespaces_of(&rec.config.host_config, &launch, shm_dir);
    let mut input = spec_input(
        &rec.config,
        &rec.name,
        crate::sandbox::cgroups::path_of(&rec.id),
        launch,
    )?;
    if hosts_network {
        input.private_network = false;
    }
    input.namespaces = namespaces;
    input.shm = shm;
    let mut spec = berth_runtime::spec::build_spec(&input)?;
    if let Some(path) = netns.as_ref().filter(|_| !hosts_network) {
        super::netns::join(&mut spec, path);
    }
    if embedded
        && let Some(linux) = spec.linux_mut()
        && let Some(seccomp) = linux.seccomp_mut()
    {
        berth_runtime::seccomp::adapt_for_libcontainer(seccomp);
    }
    Ok(spec)
}

/// The container's pid, ipc, uts and cgroup namespaces and its /dev/shm, from its modes
/// (checked at create) and what the engine resolved for `container:X` ones.
fn namespaces_of(hc: &HostConfig, launch: &Launch, shm_dir: &Path) -> (Namespaces, Shm) {
    let mode =
        |kind, value: &str| parse_namespace_mode(kind, value).unwrap_or(NamespaceMode::Default);
    let joined = |path: &Option<PathBuf>| match path {
        Some(path) => Namespace::Join(path.clone()),
        None => Namespace::Private,
    };
    let pid = match mode(NamespaceKind::Pid, &hc.pid_mode) {
        NamespaceMode::Host => Namespace::Host,
        NamespaceMode::Container(_) => joined(&launch.pid_ns),
        _ => Namespace::Private,
    };
    let (ipc, shm) = match mode(NamespaceKind::Ipc, &hc.ipc_mode) {
        NamespaceMode::Host => (Namespace::Host, Shm::Bind("/dev/shm".into())),
        NamespaceMode::None => (Namespace::Private, Shm::None),
        NamespaceMode::Shareable => (Namespace::Private, Shm::Bind(shm_dir.to_path_buf())),
        NamespaceMode::Container(_) => (
            joined(&launch.ipc_ns),
            launch.shm.clone().map_or(Shm::Private, Shm::Bind),
        ),
        _ => (Namespace::Private, Shm::Private),
    };
    let uts = match mode(NamespaceKind::Uts, &hc.uts_mode) {
        NamespaceMode::Host => Namespace::Host,
        _ => Namespace::Private,
    };
    let cgroup = match mode(NamespaceKind::Cgroup, &hc.cgroupns_mode) {
        NamespaceMode::Host => Some(Namespace::Host),
        NamespaceMode::Private => Some(Namespace::Private),
        _ => None,
    };
    (
        Namespaces {
            pid,
            ipc,
            uts,
            cgroup,
        },
        shm,
    )
}

/// What the runtime's spec builder needs, from the settings of container `name` and the
/// launch.
fn spec_input(
    config: &CreateRequest,
    name: &str,
    cgroup_path: String,
    launch: Launch,
) -> Result<SpecInput, SandboxError> {
    let hc = &config.host_config;
    let mut args = launch.args;
    // Its own files, or with `--network container:X` X's.
    let dir = launch.network_files;
    let mut binds = vec![
        bind(dir.join("resolv.conf"), "/etc/resolv.conf"),
        bind(dir.join("hostname"), "/etc/hostname"),
        bind(dir.join("hosts"), "/etc/hosts"),
    ];
    if hc.init == Some(true) {
        let init = init_binary().ok_or_else(|| {
            refused("--init: no init binary found (install Debian's tini: /usr/bin/tini-static)")
        })?;
        binds.push(BindMount {
            source: init,
            destination: "/sbin/docker-init".into(),
            readonly: true,
        });
        args.splice(0..0, ["/sbin/docker-init".to_string(), "--".to_string()]);
    }
    let security = security_options(hc)?;
    Ok(SpecInput {
        rootfs: launch.rootfs,
        readonly_rootfs: hc.readonly_rootfs,
        args,
        env: launch.env,
        cwd: launch.cwd,
        uid: launch.uid,
        gid: launch.gid,
        additional_gids: launch.additional_gids,
        hostname: launch.hostname,
        terminal: config.config.tty,
        cgroup_path,
        resources: resources_of(hc),
        privileged: hc.privileged,
        cap_add: hc.cap_add.clone().unwrap_or_default(),
        cap_drop: hc.cap_drop.clone().unwrap_or_default(),
        no_new_privileges: security.no_new_privileges,
        seccomp: security.seccomp,
        ulimits: ulimits_of(hc),
        tmpfs: hc
            .tmpfs
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        mounts: launch.mounts.into_iter().map(user_mount).collect(),
        binds,
        private_network: hc.network_mode != "host",
        annotations: vec![("org.berth.container.name".into(), name.to_string())],
        // Set by `build`, which knows where a shareable /dev/shm lives.
        namespaces: Namespaces::default(),
        shm: Shm::Private,
        shm_size: Some(hc.shm_size).filter(|b| *b > 0),
        sysctls: hc
            .sysctls
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        devices: user_devices(hc),
        oom_score_adj: (hc.oom_score_adj != 0)
            .then(|| i32::try_from(hc.oom_score_adj).unwrap_or(i32::MAX)),
    })
}

/// `--device`s as the runtime takes them.
fn user_devices(hc: &HostConfig) -> Vec<UserDevice> {
    hc.devices
        .iter()
        .flatten()
        .map(|d| UserDevice::new(&d.path_on_host, &d.path_in_container, &d.cgroup_permissions))
        .collect()
}

/// What `--security-opt` asks of the spec.
#[derive(Debug, PartialEq)]
struct Security {
    no_new_privileges: bool,
    seccomp: SeccompMode,
}

/// `--security-opt no-new-privileges[=BOOL]` and `seccomp=unconfined|JSON|FILE` (read here).
fn security_options(hc: &HostConfig) -> Result<Security, SandboxError> {
    let mut security = Security {
        no_new_privileges: false,
        seccomp: SeccompMode::Default,
    };
    for opt in hc.security_opt.iter().flatten() {
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), "true"));
        match key {
            "no-new-privileges" => security.no_new_privileges = value != "false",
            "seccomp" if value == "unconfined" => security.seccomp = SeccompMode::Unconfined,
            "seccomp" if value.trim_start().starts_with('{') => {
                security.seccomp = SeccompMode::Profile(value.to_string())
            }
            "seccomp" => {
                let text = std::fs::read_to_string(value).map_err(|e| {
                    refused(format!("opening seccomp profile ({value}) failed: {e}"))
                })?;
                security.seccomp = SeccompMode::Profile(text);
            }
            _ => {}
        }
    }
    Ok(security)
}

/// `--ulimit`s as the runtime takes them.
fn ulimits_of(hc: &HostConfig) -> Vec<Ulimit> {
    hc.ulimits
        .iter()
        .flatten()
        .map(|u| Ulimit {
            name: u.name.clone(),
            soft: u.soft as u64,
            hard: u.hard as u64,
        })
        .collect()
}

/// The runtime's view of a container's limits (unset ones are left alone).
pub(super) fn resources_of(hc: &HostConfig) -> Resources {
    Resources {
        memory: (hc.memory > 0).then_some(hc.memory),
        memory_swap: (hc.memory_swap != 0).then_some(hc.memory_swap),
        nano_cpus: (hc.nano_cpus > 0).then_some(hc.nano_cpus),
        cpu_shares: (hc.cpu_shares > 0).then_some(hc.cpu_shares as u64),
        cpu_quota: (hc.cpu_quota != 0).then_some(hc.cpu_quota),
        cpu_period: (hc.cpu_period > 0).then_some(hc.cpu_period as u64),
        pids_limit: hc.pids_limit.filter(|p| *p > 0),
        cpuset_cpus: Some(hc.cpuset_cpus.clone()).filter(|c| !c.is_empty()),
        cpuset_mems: Some(hc.cpuset_mems.clone()).filter(|m| !m.is_empty()),
        memory_swappiness: hc.memory_swappiness.and_then(|s| u64::try_from(s).ok()),
        device_rules: hc
            .device_cgroup_rules
            .iter()
            .flatten()
            .filter_map(|r| berth_model::grammar::parse_device_cgroup_rule(r).ok())
            .map(|r| DeviceRule {
                kind: r.kind,
                major: r.major,
                minor: r.minor,
                access: r.access,
            })
            // The `--device` nodes were read at create; one gone since then loses its rule.
            .chain(user_device_rules(&user_devices(hc)).unwrap_or_default())
            .collect(),
        memory_reservation: (hc.memory_reservation > 0).then_some(hc.memory_reservation),
        oom_kill_disable: hc.oom_kill_disable == Some(true),
    }
}

fn user_mount(mount: Mount) -> UserMount {
    match mount {
        Mount::Bind {
            source,
            destination,
            readonly,
            propagation,
            recursive,
        } => UserMount::Bind {
            source,
            destination,
            readonly,
            propagation,
            recursive,
        },
        Mount::Tmpfs {
            destination,
            options,
        } => UserMount::Tmpfs {
            destination,
            options,
        },
    }
}

/// Where `--init` finds its init binary: a static tini, as Docker's docker-init is.
fn init_binary() -> Option<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/local/bin/docker-init",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/docker-init",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn bind(source: PathBuf, destination: &str) -> BindMount {
    BindMount {
        source,
        destination: destination.into(),
        readonly: false,
    }
}

/// A bad value of the user's, in the words Docker uses for it.
fn refused(message: impl Into<String>) -> SandboxError {
    SandboxError::Refused(message.into().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Ulimit as DockerUlimit;

    fn input(hc: HostConfig) -> SpecInput {
        let config = CreateRequest {
            host_config: hc,
            ..Default::default()
        };
        spec_input(&config, "web", "/berth/c0ffee".into(), launch()).unwrap()
    }

    fn launch() -> Launch {
        Launch {
            rootfs: "/run/berth/containers/c0ffee/rootfs".into(),
            args: vec!["sh".into(), "-c".into(), "true".into()],
            cwd: "/".into(),
            hostname: "c0ffee".into(),
            network_files: "/var/lib/berth/containers/c0ffee".into(),
            mounts: vec![Mount::Tmpfs {
                destination: "/scratch".into(),
                options: "size=1m".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn network_files_are_bound_and_user_mounts_kept() {
        let input = input(HostConfig::default());
        let destinations: Vec<&str> = input.binds.iter().map(|b| b.destination.as_str()).collect();
        assert_eq!(
            destinations,
            ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
        );
        assert_eq!(
            input.binds[2].source,
            PathBuf::from("/var/lib/berth/containers/c0ffee/hosts")
        );
        assert_eq!(
            input.mounts,
            [UserMount::Tmpfs {
                destination: "/scratch".into(),
                options: "size=1m".into()
            }]
        );
        assert_eq!(input.cgroup_path, "/berth/c0ffee");
        assert!(input.private_network);
        assert_eq!(
            input.annotations,
            [("org.berth.container.name".to_string(), "web".to_string())]
        );
    }

    #[test]
    fn security_opts_choose_seccomp_and_no_new_privileges() {
        let opts = |list: &[&str]| HostConfig {
            security_opt: Some(list.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        let default = security_options(&HostConfig::default()).unwrap();
        assert_eq!(default.seccomp, SeccompMode::Default);
        assert!(!default.no_new_privileges);
        let unconfined = security_options(&opts(&["seccomp=unconfined", "no-new-privileges"]));
        assert_eq!(
            unconfined.unwrap(),
            Security {
                no_new_privileges: true,
                seccomp: SeccompMode::Unconfined
            }
        );
        let inline = security_options(&opts(&["seccomp:{\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]));
        assert_eq!(
            inline.unwrap().seccomp,
            SeccompMode::Profile("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}".into())
        );
        let off = security_options(&opts(&["no-new-privileges=false"])).unwrap();
        assert!(!off.no_new_privileges);
        let missing = security_options(&opts(&["seccomp=/no/such/profile.json"])).unwrap_err();
        assert!(matches!(missing, SandboxError::Refused(_)));
        assert!(
            missing
                .to_string()
                .starts_with("opening seccomp profile (/no/such/profile.json) failed: "),
            "{missing}"
        );
    }

    #[test]
    fn ulimits_and_limits_carry_over_unset_ones_left_out() {
        let hc = HostConfig {
            ulimits: Some(vec![DockerUlimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }]),
            memory: 64 << 20,
            cpu_shares: 512,
            pids_limit: Some(0),
            network_mode: "host".into(),
            ..Default::default()
        };
        let input = input(hc.clone());
        assert_eq!(
            input.ulimits,
            [Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }]
        );
        let resources = resources_of(&hc);
        assert_eq!(resources.memory, Some(64 << 20));
        assert_eq!(resources.cpu_shares, Some(512));
        assert_eq!(
            (
                resources.memory_swap,
                resources.nano_cpus,
                resources.pids_limit
            ),
            (None, None, None)
        );
        assert!(!input.private_network);
    }
}
