//! Addresses: a container's lease in a network (one row per lease, taken in one transaction
//! that also refuses a network being removed), the address and MAC it gets, and the
//! interface a driver makes for it.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use berth_net::ipam;

use super::mode::Mode;
use super::{EndpointRecord, NetworkRecord};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

impl Engine {
    /// Leases an address in `net` for a container (or returns its lease): the requested one,
    /// or the lowest free one. One transaction.
    pub(crate) fn lease(
        &self,
        net: &NetworkRecord,
        rec: &ContainerRecord,
        requested: Option<Ipv4Addr>,
        aliases: &[String],
    ) -> Result<EndpointRecord, Error> {
        let mut choose = |used: &HashSet<Ipv4Addr>| {
            let ip = choose_address(net, requested, used)?;
            Ok((ip, endpoint_mac(&rec.config.config.mac_address, ip)))
        };
        self.db
            .lease(&net.id, &rec.id, aliases, &mut choose)?
            .ok_or_else(|| Error::NotFound(format!("network {} not found", net.name)))
    }

    /// Leases addresses in the container's networks and describes its interfaces: the
    /// networks it has leases in (`network connect`), in order, or else its NetworkMode's.
    pub(super) fn lease_all(
        &self,
        rec: &ContainerRecord,
    ) -> Result<Vec<berth_net::Endpoint>, Error> {
        let mut nets: Vec<NetworkRecord> = self
            .container_endpoints(&rec.id)?
            .iter()
            .filter_map(|ep| self.network_by_id(&ep.network_id))
            .collect();
        if nets.is_empty() {
            let mode = Mode::of(&rec.config.host_config.network_mode);
            let network = mode.network().ok_or_else(|| {
                Error::Internal(format!(
                    "network mode {:?} has no network",
                    rec.config.host_config.network_mode
                ))
            })?;
            nets.push(self.network(network)?);
        }
        let mut out = Vec::new();
        for (i, net) in nets.iter().enumerate() {
            let settings = rec.config.networking_config.endpoints_config.get(&net.name);
            let requested = settings
                .and_then(|s| s.ipam_config.as_ref())
                .map(|c| c.ipv4_address.as_str())
                .filter(|s| !s.is_empty())
                .map(parse_address)
                .transpose()?;
            let aliases = settings.and_then(|s| s.aliases.clone()).unwrap_or_default();
            // The lease first: it fails on a network being removed, whose bridge must not
            // be made again.
            let ep = self.lease(net, rec, requested, &aliases)?;
            self.ensure_network(net)?;
            out.push(interface(net, &ep, i, i == 0));
        }
        Ok(out)
    }
}

/// An IPv4 address as given by a user (`--ip`, `ipv4_address`).
pub(super) fn parse_address(text: &str) -> Result<Ipv4Addr, Error> {
    text.parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid IPv4 address: {text}")))
}

/// A requested address, checked against the network's subnet.
pub(super) fn requested_address(net: &NetworkRecord, text: &str) -> Result<Ipv4Addr, Error> {
    let ip = parse_address(text)?;
    if !net.subnet.contains(&ip) {
        return Err(Error::InvalidArgument(format!(
            "no configured subnet contains IP address {ip}"
        )));
    }
    Ok(ip)
}

/// The address a new lease gets: the requested one if nobody holds it (nor the gateway), or
/// the lowest free one of the network's range.
fn choose_address(
    net: &NetworkRecord,
    requested: Option<Ipv4Addr>,
    used: &HashSet<Ipv4Addr>,
) -> Result<Ipv4Addr, Error> {
    match requested {
        Some(ip) if used.contains(&ip) || ip == net.gateway => Err(Error::Conflict(format!(
            "Address already in use: {ip} in network {}",
            net.name
        ))),
        Some(ip) => Ok(ip),
        None => ipam::next_free(&net.subnet, net.ip_range.as_ref(), net.gateway, used).ok_or_else(
            || {
                Error::Conflict(format!(
                    "no available IPv4 addresses on network {}",
                    net.name
                ))
            },
        ),
    }
}

/// A lease's MAC: the container's `--mac-address` (lower case), or Docker's 02:42 + address.
fn endpoint_mac(configured: &str, ip: Ipv4Addr) -> String {
    match configured {
        "" => berth_net::format_mac(&berth_net::mac_for(ip)),
        given => given.to_ascii_lowercase(),
    }
}

/// The interface a driver makes for a lease: `eth{index}`; only the first network's (when
/// `first`), and only if it is not `--internal`, carries the default route.
pub(super) fn interface(
    net: &NetworkRecord,
    ep: &EndpointRecord,
    index: usize,
    first: bool,
) -> berth_net::Endpoint {
    berth_net::Endpoint {
        bridge: net.bridge.clone(),
        interface: format!("eth{index}"),
        address: ep.ip,
        prefix_len: net.subnet.prefix_len(),
        gateway: (first && !net.internal).then_some(net.gateway),
        mac: berth_net::parse_mac(&ep.mac).unwrap_or_else(|| berth_net::mac_for(ep.ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(range: Option<&str>, internal: bool) -> NetworkRecord {
        NetworkRecord {
            id: "n1".into(),
            name: "front".into(),
            driver: "bridge".into(),
            subnet: "10.1.2.0/24".parse().unwrap(),
            gateway: "10.1.2.1".parse().unwrap(),
            ip_range: range.map(|r| r.parse().unwrap()),
            internal,
            bridge: "br-front".into(),
            labels: Default::default(),
            created: String::new(),
        }
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn the_lowest_free_address_after_the_gateway() {
        let n = net(None, false);
        let mut used = HashSet::new();
        assert_eq!(choose_address(&n, None, &used).unwrap(), ip("10.1.2.2"));
        used.insert(ip("10.1.2.2"));
        used.insert(ip("10.1.2.4"));
        assert_eq!(choose_address(&n, None, &used).unwrap(), ip("10.1.2.3"));
    }

    #[test]
    fn the_range_bounds_automatic_addresses() {
        let n = net(Some("10.1.2.128/30"), false);
        let mut used = HashSet::new();
        // The range's own network and broadcast addresses are skipped too.
        assert_eq!(choose_address(&n, None, &used).unwrap(), ip("10.1.2.129"));
        used.insert(ip("10.1.2.129"));
        assert_eq!(choose_address(&n, None, &used).unwrap(), ip("10.1.2.130"));
        for last in 128..=131 {
            used.insert(Ipv4Addr::new(10, 1, 2, last));
        }
        let err = choose_address(&n, None, &used).unwrap_err();
        assert!(
            matches!(err, Error::Conflict(ref m) if m.contains("no available IPv4 addresses on network front")),
            "{err}"
        );
    }

    #[test]
    fn a_requested_address_must_be_free_and_not_the_gateway() {
        let n = net(None, false);
        let used: HashSet<_> = [ip("10.1.2.9")].into();
        assert_eq!(
            choose_address(&n, Some(ip("10.1.2.50")), &used).unwrap(),
            ip("10.1.2.50")
        );
        for taken in ["10.1.2.9", "10.1.2.1"] {
            let err = choose_address(&n, Some(ip(taken)), &used).unwrap_err();
            assert!(
                matches!(err, Error::Conflict(ref m) if m.contains("Address already in use")),
                "{taken}: {err}"
            );
        }
    }

    #[test]
    fn requested_addresses_are_checked_against_the_subnet() {
        let n = net(None, false);
        assert_eq!(requested_address(&n, "10.1.2.7").unwrap(), ip("10.1.2.7"));
        assert!(
            matches!(requested_address(&n, "10.1.3.7"), Err(Error::InvalidArgument(m)) if m.contains("no configured subnet"))
        );
        assert!(
            matches!(requested_address(&n, "10.1.2"), Err(Error::InvalidArgument(m)) if m.contains("invalid IPv4 address"))
        );
    }

    #[test]
    fn macs_follow_the_address_unless_given() {
        assert_eq!(endpoint_mac("", ip("10.1.2.3")), "02:42:0a:01:02:03");
        assert_eq!(
            endpoint_mac("AA:BB:CC:00:11:22", ip("10.1.2.3")),
            "aa:bb:cc:00:11:22"
        );
    }

    #[test]
    fn only_the_first_outward_network_routes_by_default() {
        let lease = EndpointRecord {
            network_id: "n1".into(),
            container_id: "c1".into(),
            ip: ip("10.1.2.3"),
            mac: "not a mac".into(),
            aliases: vec![],
        };
        let first = interface(&net(None, false), &lease, 0, true);
        assert_eq!(first.interface, "eth0");
        assert_eq!(first.bridge, "br-front");
        assert_eq!(first.prefix_len, 24);
        assert_eq!(first.gateway, Some(ip("10.1.2.1")));
        assert_eq!(first.mac, berth_net::mac_for(ip("10.1.2.3")));
        assert_eq!(interface(&net(None, true), &lease, 0, true).gateway, None);
        let second = interface(&net(None, false), &lease, 1, false);
        assert_eq!((second.interface.as_str(), second.gateway), ("eth1", None));
    }
}
