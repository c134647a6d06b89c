//! The container's namespaces: private ones, the host's, or another process's (`--pid`,
//! `--ipc`, `--uts`, `--cgroupns`, the network as the engine decides), and the network
//! sysctls Docker sets in a private network namespace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType};

use super::SpecError;
use crate::cgroup_host;

/// Whose namespace of one kind the container is in.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Namespace {
    /// A new one of its own.
    #[default]
    Private,
    /// The host's (the runtime's caller's): no namespace of that kind in the spec.
    Host,
    /// An existing one, by path (`/proc/PID/ns/pid`): another container's.
    Join(PathBuf),
}

/// The container's pid, ipc, uts and cgroup namespaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Namespaces {
    pub pid: Namespace,
    pub ipc: Namespace,
    pub uts: Namespace,
    /// `None`: Docker's default for the host (private on cgroup v2, the host's on v1).
    pub cgroup: Option<Namespace>,
}

pub(super) fn namespaces(
    private_network: bool,
    modes: &Namespaces,
) -> Result<Vec<LinuxNamespace>, SpecError> {
    let default_cgroup = if cgroup_host::is_v2() {
        Namespace::Private
    } else {
        Namespace::Host
    };
    let network = if private_network {
        Namespace::Private
    } else {
        Namespace::Host
    };
    let wanted = [
        (LinuxNamespaceType::Mount, &Namespace::Private),
        (LinuxNamespaceType::Network, &network),
        (LinuxNamespaceType::Uts, &modes.uts),
        (LinuxNamespaceType::Pid, &modes.pid),
        (LinuxNamespaceType::Ipc, &modes.ipc),
        (
            LinuxNamespaceType::Cgroup,
            modes.cgroup.as_ref().unwrap_or(&default_cgroup),
        ),
    ];
    let mut out = Vec::new();
    for (typ, mode) in wanted {
        let mut ns = LinuxNamespaceBuilder::default().typ(typ);
        match mode {
            Namespace::Host => continue,
            Namespace::Private => {}
            Namespace::Join(path) => ns = ns.path(path.clone()),
        }
        out.push(ns.build()?);
    }
    Ok(out)
}

/// Docker (20.10+) lets unprivileged users in a private network namespace bind low ports and
/// ping; not done with the host's network.
pub(super) fn network_sysctls(private_network: bool) -> HashMap<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::build_spec;
    use crate::spec::test_support::*;

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
    fn host_and_joined_namespaces() {
        let mut i = input();
        i.namespaces = Namespaces {
            pid: Namespace::Join("/proc/42/ns/pid".into()),
            ipc: Namespace::Host,
            uts: Namespace::Host,
            cgroup: Some(Namespace::Private),
        };
        let spec = build_spec(&i).unwrap();
        let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        let pid = ns.iter().find(|n| n.typ() == LinuxNamespaceType::Pid);
        assert_eq!(
            pid.unwrap().path().as_deref(),
            Some(Path::new("/proc/42/ns/pid"))
        );
        let types = ns_types(&spec);
        assert!(!types.contains(&LinuxNamespaceType::Ipc));
        assert!(!types.contains(&LinuxNamespaceType::Uts));
        assert!(types.contains(&LinuxNamespaceType::Cgroup));
        assert!(spec.hostname().is_none(), "no hostname in the host's UTS");
    }
}
