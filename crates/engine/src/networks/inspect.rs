//! Docker's documents about networks: network inspect (records and the predefined `host`
//! and `none`), and a container's NetworkSettings (inspect, `docker ps`).

use std::collections::BTreeMap;

use berth_model::inspect::{
    ContainerEndpoint, IpamPool, NetworkConfigFrom, NetworkInspect, NetworkIpam, NetworkMember,
    NetworkSettings, PortSummary, SummaryNetworkSettings, to_document,
};
use berth_model::types::PortBinding;

use super::mode::Mode;
use super::{EndpointRecord, NetworkRecord};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

/// The host's network and no network, with their drivers. Docker lists and inspects them, but
/// they are modes, not records: nothing to create, connect, disconnect or remove.
pub(super) const PREDEFINED_NETWORKS: [(&str, &str); 2] = [("host", "host"), ("none", "null")];

impl Engine {
    /// Docker's network inspect document.
    pub fn inspect_network(&self, name_or_id: &str) -> Result<serde_json::Value, Error> {
        self.repair();
        if let Some((name, driver)) = predefined_network(name_or_id) {
            return self.inspect_predefined_network(name, driver);
        }
        let rec = self.network(name_or_id)?;
        let mut members = Vec::new();
        for ep in self.network_endpoints(&rec.id)? {
            if let Some(c) = self.db.container(&ep.container_id)? {
                members.push((c.name, ep));
            }
        }
        Ok(to_document(&network_document(&rec, &members)))
    }

    /// `host` or `none` as Docker inspects them: the running containers in that mode, no IPAM.
    fn inspect_predefined_network(
        &self,
        name: &str,
        driver: &str,
    ) -> Result<serde_json::Value, Error> {
        let mut containers = BTreeMap::new();
        for c in self.db.containers_with_shim()? {
            if c.config.host_config.network_mode == name {
                containers.insert(
                    c.id.clone(),
                    NetworkMember {
                        name: c.name,
                        ..Default::default()
                    },
                );
            }
        }
        // Docker makes them when the daemon first starts, with its default bridge.
        let created = self.default_network()?.created;
        Ok(to_document(&NetworkInspect {
            name: name.to_string(),
            id: predefined_network_id(name),
            created,
            scope: "local".into(),
            driver: driver.to_string(),
            enable_ipv4: true,
            enable_ipv6: false,
            ipam: NetworkIpam {
                driver: "default".into(),
                options: None,
                config: Vec::new(),
            },
            internal: false,
            attachable: false,
            ingress: false,
            config_from: NetworkConfigFrom::default(),
            config_only: false,
            containers,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            berth_bridge: None,
        }))
    }

    /// The `Ports` list and `NetworkSettings` of a `GET /containers/json` row (what `docker ps`
    /// shows under PORTS and NETWORKS), from the same data as inspect's NetworkSettings.
    pub fn container_list_networking(
        &self,
        rec: &ContainerRecord,
    ) -> (Vec<PortSummary>, SummaryNetworkSettings) {
        let settings = self.network_settings(rec);
        (
            list_ports(&settings.ports),
            SummaryNetworkSettings {
                networks: settings.networks,
            },
        )
    }

    /// Docker's NetworkSettings for container inspect.
    pub(crate) fn network_settings(&self, rec: &ContainerRecord) -> NetworkSettings {
        let running = rec.state.has_shim();
        let mut settings = NetworkSettings::default();
        let mode = Mode::of(&rec.config.host_config.network_mode);
        if let Some(name) = mode.predefined() {
            settings
                .networks
                .insert(name.into(), ContainerEndpoint::default());
        }
        for (i, ep) in self
            .container_endpoints(&rec.id)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Ok(Some(net)) = self.db.live_network_by_id(&ep.network_id) else {
                continue;
            };
            let mut endpoint = ContainerEndpoint {
                network_id: net.id.clone(),
                ipam_config: rec
                    .config
                    .networking_config
                    .endpoints_config
                    .get(&net.name)
                    .and_then(|s| s.ipam_config.clone()),
                aliases: (!ep.aliases.is_empty()).then(|| ep.aliases.clone()),
                dns_names: Some(
                    (!net.is_default()).then(|| vec![rec.name.clone(), rec.id[..12].to_string()]),
                ),
                ..Default::default()
            }
            .with_empty_ipv6();
            if let Some(config) = &ep.ipam_config {
                endpoint.ipam_config = Some(config.clone());
            }
            endpoint.links = super::links::endpoint_links(rec, &net);
            if running {
                endpoint.ip_address = ep.ip.to_string();
                endpoint.gateway = net.gateway.to_string();
                endpoint.ip_prefix_len = net.subnet.prefix_len();
                endpoint.mac_address = ep.mac.clone();
                endpoint.endpoint_id = endpoint_id(ep);
                if let (Some(ip6), Some(pool)) = (ep.ip6, &net.extra.ipv6) {
                    endpoint.global_ipv6_address = Some(ip6.to_string());
                    endpoint.global_ipv6_prefix_len = Some(pool.subnet.prefix_len());
                    endpoint.ipv6_gateway = Some(pool.gateway.to_string());
                }
            }
            if i == 0 {
                settings.gateway = endpoint.gateway.clone();
                settings.ip_address = endpoint.ip_address.clone();
                settings.ip_prefix_len = endpoint.ip_prefix_len;
                settings.mac_address = endpoint.mac_address.clone();
            }
            settings.networks.insert(net.name.clone(), endpoint);
        }
        if let Some(name) = mode.network().filter(|_| settings.networks.is_empty()) {
            // Not started yet: no lease, but the network it will join with the settings it
            // asked for, as Docker shows it.
            if let Ok(net) = self.network(name) {
                let asked = rec.config.networking_config.endpoints_config.get(&net.name);
                let endpoint = ContainerEndpoint {
                    network_id: net.id,
                    ipam_config: asked.and_then(|s| s.ipam_config.clone()),
                    aliases: asked.and_then(|s| s.aliases.clone()),
                    mac_address: asked
                        .and_then(|s| s.mac_address.clone())
                        .unwrap_or_default(),
                    ..Default::default()
                };
                settings
                    .networks
                    .insert(net.name, endpoint.with_empty_ipv6());
            }
        }
        if running {
            for key in rec
                .config
                .config
                .exposed_ports
                .iter()
                .flatten()
                .map(|(k, _)| k)
            {
                settings.ports.insert(key.clone(), None);
            }
            for p in self.published_ports(&rec.id) {
                let bindings = settings
                    .ports
                    .entry(p.container_port.clone())
                    .or_default()
                    .get_or_insert_with(Vec::new);
                bindings.push(PortBinding {
                    host_ip: p.host_ip.clone(),
                    host_port: p.host_port.to_string(),
                });
            }
            if mode.has_endpoints() {
                settings.sandbox_key = self.netns_path(&rec.id).display().to_string();
            }
        }
        settings
    }
}

/// A stable id for an endpoint (Docker's is random; ours is derived from the lease).
pub(super) fn endpoint_id(ep: &EndpointRecord) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!(
        "{}/{}",
        ep.network_id, ep.container_id
    )))
}

/// A stable id for a predefined network (the same on every machine, as names are).
pub(super) fn predefined_network_id(name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!(
        "berth predefined network {name}"
    )))
}

/// `host` or `none` (by name, or by id or the short id `network ls` shows) with its driver.
pub(super) fn predefined_network(name_or_id: &str) -> Option<(&'static str, &'static str)> {
    PREDEFINED_NETWORKS.iter().copied().find(|&(name, _)| {
        name_or_id == name
            || (name_or_id.len() >= 12
                && name_or_id.chars().all(|c| c.is_ascii_hexdigit())
                && predefined_network_id(name).starts_with(name_or_id))
    })
}

/// Docker's network inspect document for a record and its members (container name, lease).
fn network_document(rec: &NetworkRecord, members: &[(String, EndpointRecord)]) -> NetworkInspect {
    let containers = members
        .iter()
        .map(|(name, ep)| {
            let member = NetworkMember {
                name: name.clone(),
                endpoint_id: endpoint_id(ep),
                mac_address: ep.mac.clone(),
                ipv4_address: format!("{}/{}", ep.ip, rec.subnet.prefix_len()),
                ipv6_address: match (ep.ip6, &rec.extra.ipv6) {
                    (Some(ip6), Some(pool)) => format!("{ip6}/{}", pool.subnet.prefix_len()),
                    _ => String::new(),
                },
            };
            (ep.container_id.clone(), member)
        })
        .collect();
    // Each pool lists the auxiliary addresses inside it.
    let aux_in = |contains: &dyn Fn(&std::net::IpAddr) -> bool| {
        let found: BTreeMap<String, String> = rec
            .extra
            .aux_addresses
            .iter()
            .filter(|(_, ip)| ip.parse().is_ok_and(|ip| contains(&ip)))
            .map(|(name, ip)| (name.clone(), ip.clone()))
            .collect();
        (!found.is_empty()).then_some(found)
    };
    let mut pools = vec![IpamPool {
        subnet: rec.subnet.to_string(),
        gateway: rec.gateway.to_string(),
        ip_range: rec.ip_range.map(|range| range.to_string()),
        auxiliary_addresses: aux_in(&|ip| match ip {
            std::net::IpAddr::V4(v4) => rec.subnet.contains(v4),
            std::net::IpAddr::V6(_) => false,
        }),
    }];
    if let Some(pool6) = &rec.extra.ipv6 {
        pools.push(IpamPool {
            subnet: pool6.subnet.to_string(),
            gateway: pool6.gateway.to_string(),
            ip_range: pool6.ip_range.map(|range| range.to_string()),
            auxiliary_addresses: aux_in(&|ip| match ip {
                std::net::IpAddr::V6(v6) => pool6.subnet.contains(v6),
                std::net::IpAddr::V4(_) => false,
            }),
        });
    }
    // Docker lists driver options only as given (the default network's are the driver's).
    let mut options: BTreeMap<String, String> =
        rec.driver().options(&rec.config()).into_iter().collect();
    options.extend(rec.extra.options.clone());
    NetworkInspect {
        name: rec.name.clone(),
        id: rec.id.clone(),
        created: rec.created.clone(),
        scope: "local".into(),
        driver: rec.driver.clone(),
        enable_ipv4: true,
        enable_ipv6: rec.extra.ipv6.is_some(),
        ipam: NetworkIpam {
            driver: "default".into(),
            options: Some(rec.extra.ipam_options.clone()),
            config: pools,
        },
        internal: rec.internal,
        attachable: false,
        ingress: false,
        config_from: NetworkConfigFrom::default(),
        config_only: false,
        containers,
        options,
        labels: rec.labels.clone(),
        berth_bridge: Some(rec.bridge.clone()),
    }
}

/// `docker ps`'s `Ports` list from NetworkSettings' `Ports` map: one row per binding, and one
/// without a public port for a port that is only exposed.
fn list_ports(map: &BTreeMap<String, Option<Vec<PortBinding>>>) -> Vec<PortSummary> {
    let mut ports = Vec::new();
    for (key, bindings) in map {
        let (number, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let private_port: u16 = number.parse().unwrap_or(0);
        match bindings {
            Some(list) if !list.is_empty() => {
                for b in list {
                    let ip = if b.host_ip.is_empty() {
                        "0.0.0.0"
                    } else {
                        b.host_ip.as_str()
                    };
                    ports.push(PortSummary {
                        ip: Some(ip.to_string()),
                        private_port,
                        public_port: Some(b.host_port.parse().unwrap_or(0)),
                        protocol: proto.to_string(),
                    });
                }
            }
            _ => ports.push(PortSummary {
                ip: None,
                private_port,
                public_port: None,
                protocol: proto.to_string(),
            }),
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::networks::DEFAULT_NETWORK;

    fn record(name: &str, range: Option<&str>) -> NetworkRecord {
        NetworkRecord {
            id: "ab".repeat(32),
            name: name.into(),
            driver: "bridge".into(),
            subnet: "10.9.0.0/24".parse().unwrap(),
            gateway: "10.9.0.1".parse().unwrap(),
            ip_range: range.map(|r| r.parse().unwrap()),
            internal: true,
            bridge: "br-abababababab".into(),
            labels: [("team".to_string(), "a".to_string())].into(),
            created: "2026-01-01T00:00:00Z".into(),
            extra: Default::default(),
        }
    }

    fn lease(container: &str, ip: &str) -> EndpointRecord {
        EndpointRecord {
            network_id: "ab".repeat(32),
            container_id: container.into(),
            ip: ip.parse().unwrap(),
            mac: "02:42:0a:09:00:02".into(),
            aliases: vec![],
            ip6: None,
            ipam_config: None,
        }
    }

    #[test]
    fn network_document_has_docker_shape() {
        let rec = record("front", Some("10.9.0.128/25"));
        let doc = to_document(&network_document(
            &rec,
            &[("web".into(), lease("c1", "10.9.0.2"))],
        ));
        assert_eq!(doc["Name"], "front");
        assert_eq!(doc["Driver"], "bridge");
        assert_eq!(doc["Internal"], true);
        assert_eq!(doc["Scope"], "local");
        assert_eq!(doc["Labels"]["team"], "a");
        let config = &doc["IPAM"]["Config"][0];
        assert_eq!(config["Subnet"], "10.9.0.0/24");
        assert_eq!(config["Gateway"], "10.9.0.1");
        assert_eq!(config["IPRange"], "10.9.0.128/25");
        let member = &doc["Containers"]["c1"];
        assert_eq!(member["Name"], "web");
        assert_eq!(member["IPv4Address"], "10.9.0.2/24");
        assert_eq!(member["MacAddress"], "02:42:0a:09:00:02");
        assert_eq!(member["EndpointID"].as_str().unwrap().len(), 64);
        // A user network lists no driver options (compose compares them with its file's).
        assert_eq!(doc["Options"], json!({}));
        assert_eq!(doc["BerthBridge"], "br-abababababab");
    }

    #[test]
    fn default_network_document_names_its_bridge() {
        let mut rec = record(DEFAULT_NETWORK, None);
        rec.bridge = "berth0".into();
        let doc = to_document(&network_document(&rec, &[]));
        assert_eq!(doc["Options"]["com.docker.network.bridge.name"], "berth0");
        assert_eq!(
            doc["Options"]["com.docker.network.bridge.default_bridge"],
            "true"
        );
        assert!(doc["IPAM"]["Config"][0].get("IPRange").is_none());
        assert_eq!(doc["Containers"], json!({}));
    }

    #[test]
    fn endpoint_ids_are_stable_per_lease() {
        let a = endpoint_id(&lease("c1", "10.9.0.2"));
        assert_eq!(a, endpoint_id(&lease("c1", "10.9.0.3")));
        assert_ne!(a, endpoint_id(&lease("c2", "10.9.0.2")));
    }

    #[test]
    fn predefined_networks_by_name_and_id_prefix() {
        assert_eq!(predefined_network("host"), Some(("host", "host")));
        assert_eq!(predefined_network("none"), Some(("none", "null")));
        assert_eq!(predefined_network(DEFAULT_NETWORK), None);
        let id = predefined_network_id("none");
        assert_eq!(predefined_network(&id[..12]), Some(("none", "null")));
        // Shorter than `network ls` shows: not taken for an id.
        assert_eq!(predefined_network(&id[..6]), None);
    }

    #[test]
    fn ports_list_one_row_per_binding() {
        let binding = |ip: &str, port: &str| PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        };
        let map = BTreeMap::from([
            (
                "80/tcp".to_string(),
                Some(vec![binding("", "8080"), binding("127.0.0.1", "8081")]),
            ),
            ("53/udp".to_string(), None),
        ]);
        let rows = list_ports(&map);
        assert_eq!(rows.len(), 3);
        let json = serde_json::to_value(&rows).unwrap();
        let rows = json.as_array().unwrap();
        assert!(rows.contains(
            &json!({"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"})
        ));
        assert!(rows.contains(
            &json!({"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8081, "Type": "tcp"})
        ));
        assert!(rows.contains(&json!({"PrivatePort": 53, "Type": "udp"})));
    }
}
