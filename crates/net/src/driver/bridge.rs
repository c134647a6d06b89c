//! The bridge driver (Docker's default): a Linux bridge per network holding the gateway
//! address, and per container a pinned namespace with one veth per network, its host end
//! enslaved to the bridge. Bridges carry their state root in their alias (see
//! [`crate::netlink::stale_bridges`]).

use std::path::{Path, PathBuf};

use super::{Namespace, NetworkConfig, NetworkDriver};
use crate::netlink::{self, Netlink};
use crate::{Endpoint, Error, netns};

/// Docker's name for the driver.
pub const NAME: &str = "bridge";

/// Docker's option naming the default network's bridge.
pub const OPTION_NAME: &str = "com.docker.network.bridge.name";
/// Docker's option marking the default network.
pub const OPTION_DEFAULT: &str = "com.docker.network.bridge.default_bridge";
/// Docker's option letting containers of the network reach each other (default true).
pub const OPTION_ENABLE_ICC: &str = "com.docker.network.bridge.enable_icc";
/// Docker's option masquerading the network's outbound traffic (default true).
pub const OPTION_ENABLE_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
/// Docker's option giving the host address of ports published without one.
pub const OPTION_HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";
/// Docker's option setting the MTU of the bridge and the containers' interfaces.
pub const OPTION_MTU: &str = "com.docker.network.driver.mtu";

/// A boolean option as Go's `strconv.ParseBool` reads it (what dockerd accepts).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub struct Bridge;

impl NetworkDriver for Bridge {
    fn name(&self) -> &'static str {
        NAME
    }

    fn namespace(&self) -> Namespace {
        Namespace::Pinned
    }

    fn create(&self, net: &NetworkConfig, owner: &Path) -> Result<(), Error> {
        if self.ready(net) {
            return Ok(());
        }
        Netlink::open()?.ensure_bridge(
            &net.interface,
            (net.gateway, net.subnet.prefix_len()),
            net.ipv6,
            net.mtu,
            owner,
        )
    }

    fn ready(&self, net: &NetworkConfig) -> bool {
        netlink::bridge_ready(&net.interface)
    }

    fn delete(&self, interface: &str) -> Result<(), Error> {
        Netlink::open()?.delete_bridge(interface)
    }

    fn in_use(&self, interface: &str) -> bool {
        netlink::bridge_has_ports(interface)
    }

    fn interfaces_of(&self, owner: &Path) -> Vec<String> {
        netlink::bridges_of(owner)
    }

    fn stale_interfaces(&self) -> Vec<(String, PathBuf)> {
        netlink::stale_bridges()
    }

    /// Docker lists driver options only as given (compose recreates a network whose options
    /// differ from its file's), so only the default network shows its settings, as dockerd
    /// shows docker0's.
    fn options(&self, net: &NetworkConfig) -> Vec<(String, String)> {
        if !net.default {
            return Vec::new();
        }
        vec![
            (OPTION_NAME.into(), net.interface.clone()),
            (OPTION_DEFAULT.into(), "true".into()),
            (OPTION_ENABLE_ICC.into(), "true".into()),
            (OPTION_ENABLE_MASQUERADE.into(), "true".into()),
            (OPTION_HOST_BINDING_IPV4.into(), "0.0.0.0".into()),
            (OPTION_MTU.into(), net.mtu.unwrap_or(1500).to_string()),
        ]
    }

    fn setup(&self, netns: &Path, endpoints: &[Endpoint]) -> Result<(), Error> {
        netns::create(netns, endpoints)
    }

    fn attach(&self, netns: &Path, endpoint: &Endpoint) -> Result<(), Error> {
        netns::attach(netns, endpoint)
    }

    fn detach(&self, netns: &Path, interface: &str) -> Result<(), Error> {
        netns::detach(netns, interface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(default: bool) -> NetworkConfig {
        NetworkConfig {
            interface: "berth0".into(),
            subnet: "172.17.0.0/16".parse().unwrap(),
            gateway: "172.17.0.1".parse().unwrap(),
            internal: false,
            default,
            ipv6: None,
            mtu: None,
        }
    }

    #[test]
    fn only_the_default_network_shows_its_bridge() {
        assert!(Bridge.options(&config(false)).is_empty());
        let options = Bridge.options(&config(true));
        assert_eq!(
            options,
            vec![
                (OPTION_NAME.to_string(), "berth0".to_string()),
                (OPTION_DEFAULT.to_string(), "true".to_string()),
                (OPTION_ENABLE_ICC.to_string(), "true".to_string()),
                (OPTION_ENABLE_MASQUERADE.to_string(), "true".to_string()),
                (OPTION_HOST_BINDING_IPV4.to_string(), "0.0.0.0".to_string()),
                (OPTION_MTU.to_string(), "1500".to_string()),
            ]
        );
    }

    #[test]
    fn a_missing_bridge_is_not_ready_nor_in_use() {
        let mut net = config(false);
        net.interface = "berth-nx-test".into();
        assert!(!Bridge.ready(&net));
        assert!(!Bridge.in_use(&net.interface));
    }
}
