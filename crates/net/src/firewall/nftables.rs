//! The nftables backend: one `inet` table per state root (both families: dual-stack networks
//! publish ports on IPv6 too), with NAT chains on the prerouting (traffic from elsewhere) and
//! output (the host's own connections) hooks, and a postrouting masquerade for loopback
//! sources so replies from the container come back through conntrack. Applied with the
//! `nftables` crate (JSON through `nft -j -f -`).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use nftables::batch::Batch;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix,
};
use nftables::schema::{Chain, NfListObject, Rule, Table};
use nftables::stmt::{Match, NAT, NATFamily, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{Firewall, NetworkRule, PortMapping};
use crate::Error;

pub struct Nftables {
    table: String,
}

impl Nftables {
    /// `table`: the state root's own table name (never another program's).
    pub fn new(table: impl Into<String>) -> Nftables {
        Nftables {
            table: table.into(),
        }
    }

    fn chain(
        &self,
        name: &'static str,
        kind: NfChainType,
        hook: NfHook,
        prio: i32,
    ) -> NfListObject<'static> {
        NfListObject::Chain(Chain {
            family: NfFamily::INet,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Borrowed(name),
            _type: Some(kind),
            hook: Some(hook),
            prio: Some(prio),
            policy: Some(NfChainPolicy::Accept),
            ..Default::default()
        })
    }

    fn rule(&self, chain: &'static str, expr: Vec<Statement<'static>>) -> NfListObject<'static> {
        NfListObject::Rule(Rule {
            family: NfFamily::INet,
            table: Cow::Owned(self.table.clone()),
            chain: Cow::Borrowed(chain),
            expr: Cow::Owned(expr),
            ..Default::default()
        })
    }

    fn table_obj(&self) -> NfListObject<'static> {
        self.table_of(NfFamily::INet)
    }

    /// The table in `family`: older berth versions kept an `ip` table of the same name.
    fn table_of(&self, family: NfFamily) -> NfListObject<'static> {
        NfListObject::Table(Table {
            family,
            name: Cow::Owned(self.table.clone()),
            ..Default::default()
        })
    }
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: Cow::Borrowed(protocol),
            field: Cow::Borrowed(field),
        },
    )))
}

/// Which family a rule is for, as `meta nfproto` matches it in an `inet` table.
fn nfproto(v6: bool) -> Statement<'static> {
    eq(
        Expression::Named(NamedExpression::Meta(Meta {
            key: MetaKey::Nfproto,
        })),
        Expression::String(Cow::Borrowed(if v6 { "ipv6" } else { "ipv4" })),
    )
}

/// The DNAT rule of a mapping in one family (`to`: the container's address in it).
fn dnat_rule(m: &PortMapping, to: IpAddr) -> Vec<Statement<'static>> {
    let v6 = to.is_ipv6();
    let mut flags = HashSet::new();
    flags.insert(FibFlag::Daddr);
    let mut expr = vec![
        nfproto(v6),
        eq(
            Expression::Named(NamedExpression::Fib(Fib {
                result: FibResult::Type,
                flags,
            })),
            Expression::String(Cow::Borrowed("local")),
        ),
    ];
    match m.host_ip {
        Some(ip) => expr.push(eq(
            payload(if v6 { "ip6" } else { "ip" }, "daddr"),
            Expression::String(Cow::Owned(ip.to_string())),
        )),
        // ::1 is the proxy's (see `crate::proxy`): the kernel cannot route it to a bridge.
        None if v6 => expr.push(Statement::Match(Match {
            left: payload("ip6", "daddr"),
            right: Expression::String(Cow::Borrowed("::1")),
            op: Operator::NEQ,
        })),
        None => {}
    }
    let proto: &'static str = if m.protocol == "udp" { "udp" } else { "tcp" };
    expr.push(eq(
        payload(proto, "dport"),
        Expression::Number(m.host_port as u32),
    ));
    expr.push(Statement::DNAT(Some(NAT {
        addr: Some(Expression::String(Cow::Owned(to.to_string()))),
        family: Some(if v6 { NATFamily::IP6 } else { NATFamily::IP }),
        port: Some(Expression::Number(m.container_port as u32)),
        flags: None,
    })));
    expr
}

/// The container addresses a mapping leads to: IPv4 unless bound to an IPv6 host address,
/// IPv6 when the container has one and the binding is not to an IPv4 host address; none for
/// a binding to ::1 (a userland proxy's: see `crate::proxy`).
fn dnat_targets(m: &PortMapping) -> Vec<IpAddr> {
    let mut out = Vec::new();
    if m.host_ip.is_some_and(|ip| ip.is_ipv6() && ip.is_loopback()) {
        return out;
    }
    if !matches!(m.host_ip, Some(IpAddr::V6(_))) {
        out.push(IpAddr::V4(m.container_ip));
    }
    if let Some(ip6) = m.container_ip6
        && !matches!(m.host_ip, Some(IpAddr::V4(_)))
    {
        out.push(IpAddr::V6(ip6));
    }
    out
}

fn ifname(key: MetaKey, op: Operator, name: &str) -> Statement<'static> {
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::Meta(Meta { key })),
        right: Expression::String(Cow::Owned(name.to_string())),
        op,
    })
}

fn prefix(net: &ipnet::IpNet) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(Expression::String(Cow::Owned(net.network().to_string()))),
        len: net.prefix_len() as u32,
    }))
}

/// `ip saddr NET` or `ip6 saddr NET`.
fn saddr_in(net: ipnet::IpNet) -> Statement<'static> {
    let family = if matches!(net, ipnet::IpNet::V6(_)) {
        "ip6"
    } else {
        "ip"
    };
    eq(payload(family, "saddr"), prefix(&net))
}

impl Firewall for Nftables {
    fn sync(&self, networks: &[NetworkRule], mappings: &[PortMapping]) -> Result<(), Error> {
        let mut batch = Batch::new();
        // add + delete: removes the table whether or not it existed, in the same transaction
        // (and the `ip` table older versions kept under the same name).
        batch.add(self.table_of(NfFamily::IP));
        batch.delete(self.table_of(NfFamily::IP));
        batch.add(self.table_obj());
        batch.delete(self.table_obj());
        if !mappings.is_empty() || !networks.is_empty() {
            batch.add(self.table_obj());
            batch.add(self.chain("prerouting", NfChainType::NAT, NfHook::Prerouting, -100));
            batch.add(self.chain("output", NfChainType::NAT, NfHook::Output, -100));
            batch.add(self.chain("postrouting", NfChainType::NAT, NfHook::Postrouting, 100));
            batch.add(self.chain("forward", NfChainType::Filter, NfHook::Forward, 0));
        }
        for n in networks {
            let br = n.bridge.as_str();
            if n.internal {
                // Nothing in or out but between the network's own containers.
                batch.add(self.rule(
                    "forward",
                    vec![
                        ifname(MetaKey::Iifname, Operator::EQ, br),
                        ifname(MetaKey::Oifname, Operator::NEQ, br),
                        Statement::Drop(None),
                    ],
                ));
                batch.add(self.rule(
                    "forward",
                    vec![
                        ifname(MetaKey::Oifname, Operator::EQ, br),
                        ifname(MetaKey::Iifname, Operator::NEQ, br),
                        Statement::Drop(None),
                    ],
                ));
                continue;
            }
            // Networks are isolated from each other (any berth or Docker bridge, any root).
            for other in ["br-*", "berth*"] {
                batch.add(self.rule(
                    "forward",
                    vec![
                        ifname(MetaKey::Iifname, Operator::EQ, br),
                        ifname(MetaKey::Oifname, Operator::NEQ, br),
                        ifname(MetaKey::Oifname, Operator::EQ, other),
                        Statement::Drop(None),
                    ],
                ));
            }
            if !n.masquerade {
                continue;
            }
            let subnets =
                std::iter::once(ipnet::IpNet::V4(n.subnet)).chain(n.subnet6.map(ipnet::IpNet::V6));
            for subnet in subnets {
                batch.add(self.rule(
                    "postrouting",
                    vec![
                        saddr_in(subnet),
                        ifname(MetaKey::Oifname, Operator::NEQ, br),
                        Statement::Masquerade(None),
                    ],
                ));
            }
        }
        for m in mappings {
            for to in dnat_targets(m) {
                batch.add(self.rule("prerouting", dnat_rule(m, to)));
                batch.add(self.rule("output", dnat_rule(m, to)));
            }
        }
        // The host's own 127.0.0.0/8 connections DNATed to a bridge (::1 is never DNATed:
        // the proxy's, see `dnat_targets`).
        let bridges: BTreeSet<&str> = mappings
            .iter()
            .filter(|m| dnat_targets(m).iter().any(|to| to.is_ipv4()))
            .map(|m| m.bridge.as_str())
            .collect();
        for bridge in bridges {
            let loopback: ipnet::IpNet = "127.0.0.0/8".parse().expect("valid prefix");
            batch.add(self.rule(
                "postrouting",
                vec![
                    saddr_in(loopback),
                    ifname(MetaKey::Oifname, Operator::EQ, bridge),
                    Statement::Masquerade(None),
                ],
            ));
        }
        let payload = serde_json::to_string(&batch.to_nftables())
            .map_err(|e| Error::Invalid(format!("encoding nftables table {}: {e}", self.table)))?;
        apply(&["-j", "-f", "-"], &payload)
            .map_err(|e| Error::Invalid(format!("applying nftables table {}: {e}", self.table)))?;
        super::filter_forward::sync(&super::filter_forward::chain_name(&self.table), networks)
    }
}

/// Runs `nft ARGS` (`-j -f -`, or `-f -` for a ruleset in nft's own syntax) on `payload`
/// written to its stdin. The child dies with the thread that started it: the
/// caller applies under its state root's lock, and a caller killed (-9) mid-apply must not
/// leave an `nft` behind that would land its now stale table after the next process, which
/// took the freed lock, applied the current one.
pub(super) fn apply(args: &[&str], payload: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    let parent = std::process::id() as libc::pid_t;
    let mut cmd = Command::new("nft");
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure only makes async-signal-safe calls (prctl,
    // getppid) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Gone already (before the prctl took effect): do not apply.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("running nft: {e}"))?;
    // Dropping stdin closes it; nft reads it all before it applies anything.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(payload.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("running nft: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "nft failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    match written {
        Some(Err(e)) => Err(format!("writing to nft: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host_ip: Option<&str>, ip6: Option<&str>) -> PortMapping {
        PortMapping {
            protocol: "tcp".into(),
            host_ip: host_ip.map(|ip| ip.parse().unwrap()),
            host_port: 8080,
            container_ip: "10.0.0.2".parse().unwrap(),
            container_port: 80,
            bridge: "br-x".into(),
            container_ip6: ip6.map(|ip| ip.parse().unwrap()),
        }
    }

    fn targets(host_ip: Option<&str>, ip6: Option<&str>) -> Vec<String> {
        dnat_targets(&mapping(host_ip, ip6))
            .iter()
            .map(|ip| ip.to_string())
            .collect()
    }

    #[test]
    fn each_binding_leads_to_the_family_it_names() {
        assert_eq!(targets(None, None), ["10.0.0.2"]);
        assert_eq!(targets(None, Some("fd00::2")), ["10.0.0.2", "fd00::2"]);
        assert_eq!(targets(Some("127.0.0.1"), Some("fd00::2")), ["10.0.0.2"]);
        assert_eq!(targets(Some("fd00::9"), Some("fd00::2")), ["fd00::2"]);
        // An IPv6 binding of an IPv4-only container leads nowhere by DNAT.
        assert!(targets(Some("fd00::9"), None).is_empty());
        // ::1 is the userland proxy's.
        assert!(targets(Some("::1"), Some("fd00::2")).is_empty());
    }

    #[test]
    fn ipv6_rules_leave_the_loopback_address_to_the_proxy() {
        let m = mapping(None, Some("fd00::2"));
        let v6 = serde_json::to_string(&dnat_rule(&m, "fd00::2".parse().unwrap())).unwrap();
        assert!(v6.contains("\"ipv6\""), "{v6}");
        assert!(v6.contains("\"::1\"") && v6.contains("\"!=\""), "{v6}");
        assert!(v6.contains("\"ip6\""), "{v6}");
        let v4 = serde_json::to_string(&dnat_rule(&m, "10.0.0.2".parse().unwrap())).unwrap();
        assert!(v4.contains("\"ipv4\"") && !v4.contains("::1"), "{v4}");
    }
}
