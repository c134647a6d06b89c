//! Virtual service addresses, as kube-proxy's nftables mode programs them: a service IP and
//! port (and a node port on every local address) DNATed to one of its endpoints, picked at
//! random per connection; a service with no endpoint refuses at once (ICMP unreachable) rather
//! than letting connections hang.
//!
//! One `inet` table per state root, apart from the published ports' table (another owner, the
//! Kubernetes API, rewrites it on its own schedule), replaced whole in one transaction like
//! that one. Written in nft's own syntax (`nft -f -`): the per-endpoint chains and the
//! `numgen ... vmap` that picks one read as they are listed by `nft list table`.
//!
//! Service traffic is masqueraded (a mark set with the DNAT, matched at postrouting): a pod
//! reaching a service on its own bridge would otherwise get the endpoint's reply straight
//! from the endpoint's address, which it never asked, and 127.0.0.1 node-port clients need a
//! routable source.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::Error;

/// The mark service traffic carries to postrouting's masquerade (kube-proxy's bit).
const MASQUERADE_MARK: u32 = 0x4000;

/// One port of a service and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// Shown in the rules' comments: `NAMESPACE/NAME:PORT`.
    pub name: String,
    /// "tcp" or "udp".
    pub protocol: String,
    /// The service IP (`None`: only the node port).
    pub address: Option<Ipv4Addr>,
    pub port: u16,
    /// A port on every local address of the host that leads to the same endpoints.
    pub node_port: Option<u16>,
    /// The ready endpoints: address and port.
    pub endpoints: Vec<(Ipv4Addr, u16)>,
}

/// The services' table of the pods behind `bridge`.
pub fn table_name(bridge: &str) -> String {
    format!("{bridge}-services")
}

/// Makes the services' table of `bridge` hold exactly the rules of `services` (none: the
/// table goes). `bridge`: the interface the pods come in by (their service IPs are theirs
/// alone: another state root may use the same ones).
pub fn sync(bridge: &str, services: &[VirtualService]) -> Result<(), Error> {
    let table = table_name(bridge);
    let ruleset = render(&table, bridge, services);
    super::nftables::apply(&["-f", "-"], &ruleset)
        .map_err(|e| Error::Invalid(format!("applying nftables table {table}: {e}")))
}

/// Removes the services' table of a bridge that goes: nothing its rules lead to remains (the
/// rules outlive the API that wrote them, as the pods they serve do).
pub fn remove(bridge: &str) -> Result<(), Error> {
    sync(bridge, &[])
}

/// The whole transaction: the old table dropped, the new one written.
pub fn render(table: &str, bridge: &str, services: &[VirtualService]) -> String {
    // add + delete: removes the table whether or not it existed, in the same transaction.
    let mut out = format!("add table inet {table}\ndelete table inet {table}\n");
    if services.is_empty() {
        return out;
    }
    let mut prerouting = String::new();
    let mut output = String::new();
    let mut refuse = String::new();
    let mut chains = String::new();
    for (index, service) in services.iter().enumerate() {
        let proto = if service.protocol == "udp" {
            "udp"
        } else {
            "tcp"
        };
        let comment = format!("comment \"{}\"", service.name.replace('"', ""));
        let mut matches = Vec::new();
        if let Some(ip) = service.address {
            matches.push((
                Some(bridge),
                format!("ip daddr {ip} {proto} dport {}", service.port),
            ));
        }
        if let Some(node_port) = service.node_port {
            matches.push((
                None,
                format!("fib daddr type local {proto} dport {node_port}"),
            ));
        }
        if service.endpoints.is_empty() {
            // Nothing to DNAT to: refused where the packet would be forwarded or sent.
            for (_, m) in &matches {
                let _ = writeln!(refuse, "\t\t{m} reject {comment}");
            }
            continue;
        }
        let chain = format!("svc-{index}");
        for (iif, m) in &matches {
            let from_pods = iif.map(|b| format!("iifname \"{b}\" ")).unwrap_or_default();
            let _ = writeln!(prerouting, "\t\t{from_pods}{m} jump {chain} {comment}");
            let _ = writeln!(output, "\t\t{m} jump {chain} {comment}");
        }
        let _ = writeln!(chains, "\tchain {chain} {{");
        let picks: Vec<String> = (0..service.endpoints.len())
            .map(|n| format!("{n} : jump {chain}-ep-{n}"))
            .collect();
        let _ = writeln!(
            chains,
            "\t\tnumgen random mod {} vmap {{ {} }}\n\t}}",
            service.endpoints.len(),
            picks.join(", ")
        );
        for (n, (ip, port)) in service.endpoints.iter().enumerate() {
            let _ = writeln!(
                chains,
                "\tchain {chain}-ep-{n} {{\n\t\tmeta mark set meta mark or {MASQUERADE_MARK:#x} meta l4proto {proto} dnat ip to {ip}:{port}\n\t}}"
            );
        }
    }
    let _ = writeln!(out, "table inet {table} {{");
    let nat = |name: &str, hook: &str, prio: i32, body: &str| {
        format!(
            "\tchain {name} {{\n\t\ttype nat hook {hook} priority {prio}; policy accept;\n{body}\t}}\n"
        )
    };
    out.push_str(&nat("prerouting", "prerouting", -110, &prerouting));
    out.push_str(&nat("output", "output", -110, &output));
    out.push_str(&nat(
        "postrouting",
        "postrouting",
        110,
        &format!("\t\tmeta mark and {MASQUERADE_MARK:#x} == {MASQUERADE_MARK:#x} masquerade\n"),
    ));
    for hook in ["forward", "output"] {
        let _ = writeln!(
            out,
            "\tchain refuse-{hook} {{\n\t\ttype filter hook {hook} priority -10; policy accept;\n{refuse}\t}}"
        );
    }
    out.push_str(&chains);
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(endpoints: Vec<(Ipv4Addr, u16)>) -> VirtualService {
        VirtualService {
            name: "default/web:80".into(),
            protocol: "tcp".into(),
            address: Some(Ipv4Addr::new(10, 96, 0, 7)),
            port: 80,
            node_port: Some(30080),
            endpoints,
        }
    }

    #[test]
    fn a_service_picks_one_of_its_endpoints() {
        let text = render(
            "t",
            "br0",
            &[web(vec![
                (Ipv4Addr::new(10, 0, 0, 2), 8080),
                (Ipv4Addr::new(10, 0, 0, 3), 8080),
            ])],
        );
        assert!(
            text.contains("iifname \"br0\" ip daddr 10.96.0.7 tcp dport 80 jump svc-0"),
            "{text}"
        );
        assert!(text.contains("fib daddr type local tcp dport 30080 jump svc-0"));
        assert!(
            text.contains("numgen random mod 2 vmap { 0 : jump svc-0-ep-0, 1 : jump svc-0-ep-1 }")
        );
        assert!(text.contains("dnat ip to 10.0.0.3:8080"));
        assert!(!text.contains("reject"), "{text}");
    }

    #[test]
    fn a_service_without_endpoints_refuses_and_none_at_all_drops_the_table() {
        let text = render("t", "br0", &[web(Vec::new())]);
        assert!(
            text.contains("ip daddr 10.96.0.7 tcp dport 80 reject"),
            "{text}"
        );
        assert!(!text.contains("dnat"));
        assert_eq!(
            render("t", "br0", &[]),
            "add table inet t\ndelete table inet t\n"
        );
    }
}
