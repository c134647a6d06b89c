//! The service proxy (kube-proxy's part of a node): every Service's cluster IP and node ports
//! lead to its ready endpoints, through the nftables table [`berth_net::firewall::services`]
//! writes, one per state root beside the published ports' table.
//!
//! The table is the truth of the last pass and stays when `berth serve` stops, as
//! kube-proxy's rules do: pods outlive the server (they are ordinary containers), and so does
//! their way to each other. The first pass of the next server rewrites it whole, so nothing
//! stale survives a restart (a Service deleted meanwhile loses its rules then), and the table
//! goes with the pods' bridge (`network prune --include-default-bridge`).

use std::sync::Arc;
use std::time::Duration;

use berth_net::firewall::services::{self, VirtualService};
use serde_json::Value;

use super::{kind, meta_str, wait_for_change};
use crate::objects::{ListQuery, Objects};
use crate::status::ApiError;

/// How often the rules are compared with the objects when nothing announced a change.
const RESYNC: Duration = Duration::from_secs(1);

pub fn run(objects: Arc<Objects>) {
    let engine = match berth_engine::Engine::open() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("berth serve: the service proxy cannot open the engine: {e}");
            return;
        }
    };
    let mut changes = objects.store.subscribe();
    let mut applied: Option<Vec<VirtualService>> = None;
    loop {
        match pass(&engine, &objects, applied.as_deref()) {
            Ok(Some(now)) => applied = Some(now),
            Ok(None) => {}
            Err(e) => eprintln!("berth serve: service proxy: {e}"),
        }
        wait_for_change(&mut changes, RESYNC);
    }
}

/// Writes the rules when they differ from `applied`; the rules now in place when it did.
fn pass(
    engine: &berth_engine::Engine,
    objects: &Objects,
    applied: Option<&[VirtualService]>,
) -> Result<Option<Vec<VirtualService>>, String> {
    let desired = desired(objects).map_err(|e| e.message)?;
    if applied == Some(desired.as_slice()) {
        return Ok(None);
    }
    let network = engine
        .network(berth_engine::networks::DEFAULT_NETWORK)
        .map_err(|e| format!("reading the pods' network: {e}"))?;
    if desired.iter().any(|s| s.node_port.is_some()) {
        // 127.0.0.1:NODEPORT is DNATed onto the bridge (as published ports are).
        berth_net::firewall::allow_localhost_dnat(&network.bridge).map_err(|e| e.to_string())?;
    }
    services::sync(&network.bridge, &desired).map_err(|e| e.to_string())?;
    Ok(Some(desired))
}

/// Every port of every Service with a cluster IP or node port, and its ready endpoints.
fn desired(objects: &Objects) -> Result<Vec<VirtualService>, ApiError> {
    let (all, _, _) = objects.list(kind("", "services"), None, &ListQuery::default())?;
    let mut out = Vec::new();
    for service in all {
        if !service["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let ns = meta_str(&service, "namespace");
        let name = meta_str(&service, "name");
        let address = service["spec"]["clusterIP"]
            .as_str()
            .and_then(|ip| ip.parse().ok());
        let endpoints = objects.get(kind("", "endpoints"), ns, name).ok();
        let ports = service["spec"]["ports"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for port in &ports {
            let Some(number) = port["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            let node_port = port["nodePort"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok());
            if address.is_none() && node_port.is_none() {
                continue;
            }
            let protocol = port["protocol"].as_str().unwrap_or("TCP");
            out.push(VirtualService {
                name: format!("{ns}/{name}:{number}"),
                protocol: protocol.to_ascii_lowercase(),
                address,
                port: number,
                node_port,
                endpoints: endpoints
                    .as_ref()
                    .map(|e| ready_endpoints(e, port, ports.len()))
                    .unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// The ready addresses of `endpoints` with the endpoint port of `service_port` (matched by
/// name; a one-port service's by protocol), in a stable order.
fn ready_endpoints(
    endpoints: &Value,
    service_port: &Value,
    service_ports: usize,
) -> Vec<(std::net::Ipv4Addr, u16)> {
    let name = service_port["name"].as_str().unwrap_or_default();
    let protocol = service_port["protocol"].as_str().unwrap_or("TCP");
    let mut out = Vec::new();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let port = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                p["protocol"].as_str().unwrap_or("TCP") == protocol
                    && (p["name"].as_str().unwrap_or_default() == name || service_ports == 1)
            })
            .and_then(|p| p["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0);
        let Some(port) = port else { continue };
        for address in subset["addresses"].as_array().into_iter().flatten() {
            if let Some(ip) = address["ip"].as_str().and_then(|ip| ip.parse().ok()) {
                out.push((ip, port));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_ready_addresses_with_the_named_port_are_endpoints() {
        let endpoints = json!({"subsets": [{
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"}],
            "addresses": [{"ip": "10.0.0.3"}, {"ip": "10.0.0.2"}],
            "notReadyAddresses": [{"ip": "10.0.0.4"}],
        }]});
        let http = json!({"name": "http", "port": 80, "protocol": "TCP"});
        assert_eq!(
            ready_endpoints(&endpoints, &http, 2),
            [
                ("10.0.0.2".parse().unwrap(), 8080),
                ("10.0.0.3".parse().unwrap(), 8080)
            ]
        );
        let dns = json!({"name": "dns", "port": 53, "protocol": "UDP"});
        assert_eq!(ready_endpoints(&endpoints, &dns, 2).len(), 2);
        assert!(ready_endpoints(&json!({}), &http, 1).is_empty());
    }
}
