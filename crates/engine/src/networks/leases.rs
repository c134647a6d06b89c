//! Addresses: a container's lease in a network (one row per lease, taken in one transaction
//! that also refuses a network being removed), the address and MAC it gets, and the
//! interface a driver makes for it.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use berth_net::ipam;

use super::mode::Mode;
use super::{EndpointRecord, NetworkRecord};
use crate::store::ContainerRecord;
use crate::types::{EndpointIpamConfig, EndpointSettings};
use crate::{Engine, Error};

/// What a container asks for in one network (`--ip`, `--ip6`, `--mac-address`, aliases,
/// `--link-local-ip`), checked against the network.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeaseRequest {
    pub ip: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    /// This endpoint's MAC (EndpointSettings.MacAddress), before the container's own.
    pub mac: Option<String>,
    pub aliases: Vec<String>,
    /// The IPAMConfig as asked, kept with the lease for inspect.
    pub ipam_config: Option<EndpointIpamConfig>,
}

impl LeaseRequest {
    /// Reads and checks endpoint settings against `net`: addresses inside its pools (not on
    /// the default network), a valid MAC.
    pub(crate) fn from_settings(
        net: &NetworkRecord,
        settings: Option<&EndpointSettings>,
    ) -> Result<LeaseRequest, Error> {
        let Some(settings) = settings else {
            return Ok(LeaseRequest::default());
        };
        let config = settings.ipam_config.as_ref();
        let text4 = config.map(|c| c.ipv4_address.as_str()).unwrap_or_default();
        let text6 = config.map(|c| c.ipv6_address.as_str()).unwrap_or_default();
        if (!text4.is_empty() || !text6.is_empty()) && net.is_default() {
            if !text4.is_empty() {
                parse_address(text4)?;
            }
            return Err(Error::InvalidArgument(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if !text4.is_empty() && net.extra.auto_subnet {
            return Err(Error::InvalidArgument(
                "user specified IP address is supported only when connecting to networks with user configured subnets".into(),
            ));
        }
        let ip = (!text4.is_empty())
            .then(|| requested_address(net, text4))
            .transpose()?;
        let ip6 = (!text6.is_empty())
            .then(|| requested_address6(net, text6))
            .transpose()?;
        for local in config
            .and_then(|c| c.link_local_ips.as_ref())
            .into_iter()
            .flatten()
        {
            link_local_address(local)?;
        }
        let mac = settings
            .mac_address
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(|m| {
                berth_net::parse_mac(m)
                    .map(|_| m.to_ascii_lowercase())
                    .ok_or_else(|| Error::InvalidArgument(format!("invalid MAC address: {m}")))
            })
            .transpose()?;
        Ok(LeaseRequest {
            ip,
            ip6,
            mac,
            aliases: settings.aliases.clone().unwrap_or_default(),
            ipam_config: config
                .filter(|c| {
                    !c.ipv4_address.is_empty()
                        || !c.ipv6_address.is_empty()
                        || c.link_local_ips.as_ref().is_some_and(|l| !l.is_empty())
                })
                .cloned(),
        })
    }
}

impl Engine {
    /// Leases an address in `net` for a container (or returns its lease): the requested one,
    /// or the lowest free one (and an IPv6 one on a dual-stack network). One transaction.
    pub(crate) fn lease(
        &self,
        net: &NetworkRecord,
        rec: &ContainerRecord,
        request: &LeaseRequest,
    ) -> Result<EndpointRecord, Error> {
        let configured_mac = request
            .mac
            .as_deref()
            .unwrap_or(rec.config.config.mac_address.as_str());
        let mut choose = |used: &HashSet<Ipv4Addr>, used6: &HashSet<Ipv6Addr>| {
            let ip = choose_address(net, request.ip, used)?;
            let ip6 = choose_address6(net, request.ip6, used6)?;
            Ok((ip, ip6, endpoint_mac(configured_mac, ip)))
        };
        self.db
            .lease(
                &net.id,
                &rec.id,
                &request.aliases,
                request.ipam_config.as_ref(),
                &mut choose,
            )?
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
            let request = LeaseRequest::from_settings(net, settings)?;
            // The lease first: it fails on a network being removed, whose bridge must not
            // be made again.
            let ep = self.lease(net, rec, &request)?;
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

/// dockerd's refusal of an address no pool of the network holds.
fn outside_pools(ip: IpAddr) -> Error {
    Error::InvalidArgument(format!(
        "no configured subnet or ip-range contain the IP address {ip}"
    ))
}

/// A requested address, checked against the network's subnet.
pub(super) fn requested_address(net: &NetworkRecord, text: &str) -> Result<Ipv4Addr, Error> {
    let ip = parse_address(text)?;
    if !net.subnet.contains(&ip) {
        return Err(outside_pools(ip.into()));
    }
    Ok(ip)
}

/// A requested IPv6 address, checked against the network's IPv6 pool.
pub(super) fn requested_address6(net: &NetworkRecord, text: &str) -> Result<Ipv6Addr, Error> {
    let ip: Ipv6Addr = text
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid IPv6 address: {text}")))?;
    if !net
        .extra
        .ipv6
        .as_ref()
        .is_some_and(|p| p.subnet.contains(&ip))
    {
        return Err(outside_pools(ip.into()));
    }
    Ok(ip)
}

/// A `--link-local-ip` with the prefix length it gets (169.254.0.0/16, fe80::/64).
pub(super) fn link_local_address(text: &str) -> Result<(IpAddr, u8), Error> {
    let ip: IpAddr = text
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid link-local IP address: {text}")))?;
    let prefix = match ip {
        IpAddr::V4(v4) if v4.is_link_local() => 16,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 64,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "invalid link-local IP address: {text}"
            )));
        }
    };
    Ok((ip, prefix))
}

/// The network's reserved addresses (`--aux-address`) of one family.
fn aux_addresses<T: std::str::FromStr>(net: &NetworkRecord) -> impl Iterator<Item = T> + '_ {
    net.extra
        .aux_addresses
        .values()
        .filter_map(|a| a.parse().ok())
}

fn in_use(ip: impl std::fmt::Display, net: &NetworkRecord) -> Error {
    Error::Conflict(format!(
        "Address already in use: {ip} in network {}",
        net.name
    ))
}

/// The address a new lease gets: the requested one if nobody holds it (nor the gateway, nor
/// an auxiliary address), or the lowest free one of the network's range.
fn choose_address(
    net: &NetworkRecord,
    requested: Option<Ipv4Addr>,
    used: &HashSet<Ipv4Addr>,
) -> Result<Ipv4Addr, Error> {
    let mut taken = used.clone();
    taken.extend(aux_addresses::<Ipv4Addr>(net));
    match requested {
        Some(ip) if taken.contains(&ip) || ip == net.gateway => Err(in_use(ip, net)),
        Some(ip) => Ok(ip),
        None => ipam::next_free(&net.subnet, net.ip_range.as_ref(), net.gateway, &taken)
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "no available IPv4 addresses on network {}",
                    net.name
                ))
            }),
    }
}

/// [`choose_address`] in the network's IPv6 pool; `None` on an IPv4-only network.
fn choose_address6(
    net: &NetworkRecord,
    requested: Option<Ipv6Addr>,
    used: &HashSet<Ipv6Addr>,
) -> Result<Option<Ipv6Addr>, Error> {
    let Some(pool) = &net.extra.ipv6 else {
        return Ok(None);
    };
    let mut taken = used.clone();
    taken.extend(aux_addresses::<Ipv6Addr>(net));
    match requested {
        Some(ip) if taken.contains(&ip) || ip == pool.gateway => Err(in_use(ip, net)),
        Some(ip) => Ok(Some(ip)),
        None => ipam::next_free6(&pool.subnet, pool.ip_range.as_ref(), pool.gateway, &taken)
            .map(Some)
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "no available IPv6 addresses on network {}",
                    net.name
                ))
            }),
    }
}

/// A lease's MAC: the endpoint's or container's `--mac-address` (lower case), or Docker's
/// 02:42 + address.
fn endpoint_mac(configured: &str, ip: Ipv4Addr) -> String {
    match configured {
        "" => berth_net::format_mac(&berth_net::mac_for(ip)),
        given => given.to_ascii_lowercase(),
    }
}

/// The interface a driver makes for a lease: `eth{index}`; only the first network's (when
/// `first`), and only if it is not `--internal`, carries the default routes.
pub(super) fn interface(
    net: &NetworkRecord,
    ep: &EndpointRecord,
    index: usize,
    first: bool,
) -> berth_net::Endpoint {
    let routes = first && !net.internal;
    let pool6 = net.extra.ipv6.as_ref();
    berth_net::Endpoint {
        bridge: net.bridge.clone(),
        interface: format!("eth{index}"),
        address: ep.ip,
        prefix_len: net.subnet.prefix_len(),
        gateway: routes.then_some(net.gateway),
        mac: berth_net::parse_mac(&ep.mac).unwrap_or_else(|| berth_net::mac_for(ep.ip)),
        address6: ep
            .ip6
            .zip(pool6)
            .map(|(ip6, pool)| (ip6, pool.subnet.prefix_len())),
        gateway6: pool6.filter(|_| routes).map(|pool| pool.gateway),
        extra_addresses: ep
            .ipam_config
            .as_ref()
            .and_then(|c| c.link_local_ips.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|text| link_local_address(text).ok())
            .collect(),
        mtu: net.mtu(),
        isolated: !net.icc(),
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
            extra: Default::default(),
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
            matches!(requested_address(&n, "10.1.3.7"), Err(Error::InvalidArgument(m)) if m.contains("no configured subnet or ip-range contain the IP address 10.1.3.7"))
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
            ip6: None,
            ipam_config: None,
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
