//! `docker network inspect`: Docker's `Network` document (also each entry of `GET /networks`).

use std::collections::BTreeMap;

use serde::Serialize;

/// Docker's network document.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInspect {
    pub attachable: bool,
    /// berth's own: the Linux bridge of a bridge network (absent for `host` and `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub berth_bridge: Option<String>,
    pub config_from: NetworkConfigFrom,
    pub config_only: bool,
    /// The network's running members, by container id.
    pub containers: BTreeMap<String, NetworkMember>,
    pub created: String,
    pub driver: String,
    #[serde(rename = "EnableIPv4")]
    pub enable_ipv4: bool,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: NetworkIpam,
    pub id: String,
    pub ingress: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub name: String,
    /// Driver options, only as given.
    pub options: BTreeMap<String, String>,
    pub scope: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConfigFrom {
    pub network: String,
}

/// One container on the network.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkMember {
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// `ADDRESS/PREFIX`, or empty.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
    pub mac_address: String,
    pub name: String,
}

/// Docker's `IPAM`: the address pools; options `{}` for a network berth made, `null` for the
/// predefined ones, as Docker shows them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkIpam {
    pub config: Vec<IpamPool>,
    pub driver: String,
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IpamPool {
    pub gateway: String,
    #[serde(rename = "IPRange", skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    pub subnet: String,
    /// `--aux-address` names and addresses in this pool, when any were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}
