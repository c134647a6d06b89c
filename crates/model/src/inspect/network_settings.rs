//! A container's `NetworkSettings` (container inspect) and the networking columns of a
//! `GET /containers/json` row (`docker ps`'s PORTS and NETWORKS).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::types::{EndpointIpamConfig, PortBinding};

/// Docker's `NetworkSettings`. The top-level address fields repeat the first network's.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    pub bridge: String,
    pub gateway: String,
    pub hairpin_mode: bool,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    #[serde(rename = "LinkLocalIPv6Address")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    pub link_local_ipv6_prefix_len: u8,
    pub mac_address: String,
    pub networks: BTreeMap<String, ContainerEndpoint>,
    /// By `PORT/PROTO`: `null` for a port only exposed, else its host bindings.
    pub ports: BTreeMap<String, Option<Vec<PortBinding>>>,
    #[serde(rename = "SandboxID")]
    pub sandbox_id: String,
    pub sandbox_key: String,
}

/// One network a container is on (or will join), as `NetworkSettings.Networks` shows it.
/// The IPv6 fields and `DNSNames` are left out where Docker leaves them out: a predefined
/// mode (`host`, `none`) has no IPv6 fields, a container not started yet no `DNSNames`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerEndpoint {
    pub aliases: Option<Vec<String>>,
    /// Absent (outer `None`), `null` on the default bridge, else the container's name and short id.
    #[serde(rename = "DNSNames", skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Option<Vec<String>>>,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address", skip_serializing_if = "Option::is_none")]
    pub global_ipv6_address: Option<String>,
    #[serde(
        rename = "GlobalIPv6PrefixLen",
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_prefix_len: Option<u8>,
    /// The address the user asked for on this network, if any.
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway", skip_serializing_if = "Option::is_none")]
    pub ipv6_gateway: Option<String>,
    /// Legacy links: berth has none, Docker shows `null`.
    pub links: Option<Vec<String>>,
    pub mac_address: String,
    #[serde(rename = "NetworkID")]
    pub network_id: String,
}

impl ContainerEndpoint {
    /// The IPv6 fields as Docker shows them on an IPv4-only network.
    pub fn with_empty_ipv6(mut self) -> Self {
        self.global_ipv6_address = Some(String::new());
        self.global_ipv6_prefix_len = Some(0);
        self.ipv6_gateway = Some(String::new());
        self
    }
}

/// The `NetworkSettings` of a `GET /containers/json` row: only the networks.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryNetworkSettings {
    pub networks: BTreeMap<String, ContainerEndpoint>,
}

/// One row of a `GET /containers/json` entry's `Ports`: a host binding, or (without `IP` and
/// `PublicPort`) a port that is only exposed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortSummary {
    #[serde(rename = "IP", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(rename = "PrivatePort")]
    pub private_port: u16,
    #[serde(rename = "PublicPort", skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    #[serde(rename = "Type")]
    pub protocol: String,
}
