//! Networks and containers' endpoints in them: the records, the persistent IPAM (one row per
//! lease; `UNIQUE(network_id, ip)` means an address is never handed out twice), the `network`
//! verbs, and each container's network namespace, set up by its shim before the container is
//! created and released after its processes are gone.
//!
//! What makes a network and a container's interfaces is a driver
//! ([`berth_net::driver::NetworkDriver`]: bridge, host, none, container:); the engine picks it
//! in two places only: a record's by its driver name ([`NetworkRecord::driver`]) and a
//! container's by its network mode ([`mode::Mode`]).
//!
//! The default network `bridge` exists implicitly (made on first use). It does not resolve
//! container names (only legacy links, in /etc/hosts); user-defined networks do, through the
//! embedded DNS server at 127.0.0.11 (see [`dns`]: each container's shim serves its own) and
//! through each container's /etc/hosts, rewritten in place when a peer joins or leaves.
//!
//! A network's row outlives its bridge, so that a killed process never leaves a bridge (and its
//! subnet) nobody knows of: `network create` inserts the row, then makes the bridge (a row
//! whose bridge is missing or half made gets it completed on next use); `network rm` marks the
//! row `removing` (in the transaction that checks it has no endpoint: no lease is taken on it
//! from then on), deletes the firewall rules and the bridge, and deletes the row last. A
//! removal killed halfway is finished by the next command's repair. Bridges that carry this
//! state root's name but have no row (left by older versions) are reclaimed by `network
//! prune`, `create` and `rm`. Bridges are created and deleted under the host-wide
//! [`berth_net::ipam::HostLock`].
//!
//! The parts: [`records`] (rows, lookups, create), [`removal`] (rm, prune, repair of
//! half-removed networks), [`leases`] (addresses), [`endpoints`] (a container's namespace,
//! connect, disconnect, teardown), [`hosts`] (hosts, hostname, resolv.conf), [`dns`] (the
//! embedded DNS server of a container on a user-defined network), [`links`] (Docker's container
//! links), [`inspect`] and [`list`] (Docker's documents), [`mode`] (a container's network mode
//! -> driver).

mod dns;
pub(crate) use dns::EmbeddedDns;
mod endpoints;
mod hosts;
mod inspect;
mod leases;
pub(crate) mod links;
mod list;
pub(crate) mod mode;
mod records;
mod removal;

use std::collections::BTreeMap;

use berth_net::driver::bridge::{
    OPTION_ENABLE_ICC, OPTION_ENABLE_MASQUERADE, OPTION_HOST_BINDING_IPV4, OPTION_MTU, parse_bool,
};
use berth_net::driver::{NetworkConfig, NetworkDriver};

use crate::Error;

/// Docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";

/// One network and a container's lease in one, as the state store keeps them.
pub use crate::store::{EndpointRecord, NetworkRecord};
pub use crate::store::{Ipv6Pool, NetworkExtra};

impl NetworkRecord {
    /// The network's driver, by its driver name (records only ever name a driver that makes
    /// networks; an unknown one is taken for the default).
    pub(crate) fn driver(&self) -> &'static dyn NetworkDriver {
        berth_net::driver::network_driver(&self.driver)
            .unwrap_or_else(berth_net::driver::default_driver)
    }

    /// What the driver needs to know of the network.
    pub(crate) fn config(&self) -> NetworkConfig {
        NetworkConfig {
            interface: self.bridge.clone(),
            subnet: self.subnet,
            gateway: self.gateway,
            internal: self.internal,
            default: self.is_default(),
            ipv6: self
                .extra
                .ipv6
                .as_ref()
                .map(|p| (p.gateway, p.subnet.prefix_len())),
            mtu: self.mtu(),
        }
    }

    /// `com.docker.network.driver.mtu` (0 or unset: the kernel's).
    pub(crate) fn mtu(&self) -> Option<u32> {
        self.extra
            .options
            .get(OPTION_MTU)
            .and_then(|v| v.parse().ok())
            .filter(|m| *m > 0)
    }

    /// A boolean driver option, `default` when unset.
    fn flag(&self, key: &str, default: bool) -> bool {
        self.extra
            .options
            .get(key)
            .and_then(|v| parse_bool(v))
            .unwrap_or(default)
    }

    /// Whether containers of the network reach each other (`enable_icc`).
    pub(crate) fn icc(&self) -> bool {
        self.flag(OPTION_ENABLE_ICC, true)
    }

    /// Whether outbound traffic is masqueraded (`enable_ip_masquerade`).
    pub(crate) fn masquerade(&self) -> bool {
        self.flag(OPTION_ENABLE_MASQUERADE, true)
    }

    /// The host address of ports published without one (`host_binding_ipv4`).
    pub(crate) fn host_binding_ipv4(&self) -> Option<std::net::IpAddr> {
        self.extra
            .options
            .get(OPTION_HOST_BINDING_IPV4)
            .and_then(|v| v.parse().ok())
            .filter(|ip: &std::net::IpAddr| !ip.is_unspecified())
    }

    /// Whether this is the default network (no name resolution, no aliases, no fixed IPs).
    pub(crate) fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }
}

/// `network create` settings, as Docker's `POST /networks/create` carries them.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    pub name: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    pub ip_range: String,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    /// Driver options (`-o`, `Options`).
    pub options: BTreeMap<String, String>,
    /// IPAM options (`--ipam-opt`, `IPAM.Options`).
    pub ipam_options: BTreeMap<String, String>,
    /// Reserved addresses (`--aux-address`, `AuxiliaryAddresses`), IPv4 or IPv6.
    pub aux_addresses: BTreeMap<String, String>,
    /// `--ipv6` / `EnableIPv6`.
    pub enable_ipv6: bool,
    /// The IPv6 pool's subnet, gateway and range ("": picked / none).
    pub subnet6: String,
    pub gateway6: String,
    pub ip_range6: String,
}

fn net_err(e: berth_net::Error) -> Error {
    Error::Net(e)
}

/// A container's hostname: the configured one, or its short id.
pub(crate) fn hostname_of(rec: &crate::store::ContainerRecord) -> String {
    match rec.config.config.hostname.as_str() {
        "" => rec.id[..12].to_string(),
        given => given.to_string(),
    }
}
