//! The container's namespaces (network and cgroup ones as Docker decides) and the network
//! sysctls Docker sets in a private network namespace.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType};

use super::SpecError;
use crate::cgroup_host;

pub(super) fn namespaces(private_network: bool) -> Result<Vec<LinuxNamespace>, SpecError> {
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
    if cgroup_host::is_v2() {
        types.push(LinuxNamespaceType::Cgroup);
    }
    types
        .into_iter()
        .map(|t| Ok(LinuxNamespaceBuilder::default().typ(t).build()?))
        .collect()
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
}
