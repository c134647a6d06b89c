//! IPAM math: which subnet a new network gets (one that no host route overlaps), and the next
//! free address in it. Which addresses are taken is the caller's record (the engine's leases).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::Error;

/// Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20 blocks.
pub fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let wide =
        (17..=31).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("valid prefix"));
    let narrow = (0..16)
        .map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).expect("valid prefix"));
    wide.chain(narrow)
}

/// The IPv4 routes of the host (the calling thread's namespace), default route excluded.
pub fn host_routes() -> Vec<Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // /proc/net/route prints addresses in host (little-endian) byte order.
            let dest = Ipv4Addr::from(u32::from_be(dest.to_le()));
            let prefix = u32::from_be(mask.to_le()).count_ones() as u8;
            (prefix > 0)
                .then(|| Ipv4Net::new(dest, prefix).ok())
                .flatten()
        })
        .collect()
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first pool subnet overlapping neither a host route nor `taken`.
pub fn pick_subnet(taken: &[Ipv4Net]) -> Result<Ipv4Net, Error> {
    let routes = host_routes();
    default_pools()
        .find(|candidate| !routes.iter().chain(taken).any(|r| overlaps(candidate, r)))
        .ok_or_else(|| Error::Exhausted("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into()))
}

/// The gateway Docker picks: the subnet's first host address.
pub fn default_gateway(subnet: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()) + 1)
}

/// The lowest free address of `range` (default: the whole subnet), skipping the subnet's
/// network and broadcast addresses, the gateway and `used`.
pub fn next_free(
    subnet: &Ipv4Net,
    range: Option<&Ipv4Net>,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let pool = range.unwrap_or(subnet);
    pool.hosts().find(|a| {
        *a != gateway
            && *a != subnet.network()
            && *a != subnet.broadcast()
            && subnet.contains(a)
            && !used.contains(a)
    })
}

/// Checks a network's IPv4 settings the way Docker does; returns them parsed.
pub fn check_config(
    subnet: &str,
    gateway: &str,
    ip_range: &str,
) -> Result<(Ipv4Net, Ipv4Addr, Option<Ipv4Net>), Error> {
    match check_pool(subnet, gateway, ip_range, false)? {
        (IpNet::V4(subnet), IpAddr::V4(gateway), range) => Ok((
            subnet,
            gateway,
            range.and_then(|r| match r {
                IpNet::V4(r) => Some(r),
                IpNet::V6(_) => None,
            }),
        )),
        _ => unreachable!("check_pool keeps the family it was asked for"),
    }
}

/// Checks an IPv6 pool the way Docker does; returns it parsed (gateway default: the subnet's
/// first address after the network's).
pub fn check_config6(
    subnet: &str,
    gateway: &str,
    ip_range: &str,
) -> Result<(Ipv6Net, Ipv6Addr, Option<Ipv6Net>), Error> {
    match check_pool(subnet, gateway, ip_range, true)? {
        (IpNet::V6(subnet), IpAddr::V6(gateway), range) => Ok((
            subnet,
            gateway,
            range.and_then(|r| match r {
                IpNet::V6(r) => Some(r),
                IpNet::V4(_) => None,
            }),
        )),
        _ => unreachable!("check_pool keeps the family it was asked for"),
    }
}

/// One address pool of either family, checked as Docker checks it: a subnet with room for
/// containers, a gateway in it (by default the first address after the network's), a range in
/// it. An address of the other family is as invalid as a malformed one.
fn check_pool(
    subnet: &str,
    gateway: &str,
    ip_range: &str,
    v6: bool,
) -> Result<(IpNet, IpAddr, Option<IpNet>), Error> {
    let invalid_cidr = || Error::Invalid(format!("invalid subnet {subnet}: invalid CIDR address"));
    let parsed: IpNet = subnet.parse().map_err(|_| invalid_cidr())?;
    if parsed.addr().is_ipv6() != v6 {
        return Err(invalid_cidr());
    }
    if parsed.max_prefix_len() - parsed.prefix_len() < 2 {
        return Err(Error::Invalid(format!(
            "invalid subnet {parsed}: too small for containers"
        )));
    }
    let subnet = parsed.trunc();
    let gateway = if gateway.is_empty() {
        match subnet {
            IpNet::V4(net) => IpAddr::V4(default_gateway(&net)),
            IpNet::V6(net) => IpAddr::V6(default_gateway6(&net)),
        }
    } else {
        let g: IpAddr = gateway
            .parse()
            .map_err(|_| Error::Invalid(format!("invalid gateway address {gateway}")))?;
        if !subnet.contains(&g) {
            return Err(Error::Invalid(format!(
                "no matching subnet for gateway {g}"
            )));
        }
        g
    };
    let range = if ip_range.is_empty() {
        None
    } else {
        let r: IpNet = ip_range.parse().map_err(|_| {
            Error::Invalid(format!("invalid ip-range {ip_range}: invalid CIDR address"))
        })?;
        if !subnet.contains(&r) {
            return Err(Error::Invalid(format!(
                "no matching subnet for range {ip_range}"
            )));
        }
        Some(r.trunc())
    };
    Ok((subnet, gateway, range))
}

/// The IPv6 gateway Docker picks: the subnet's first address after the network's.
pub fn default_gateway6(subnet: &Ipv6Net) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(subnet.network()) + 1)
}

/// A unique local /64 for a dual-stack network created without an IPv6 subnet, from `seed`
/// (the network's random id): fdXX:XXXX:XXXX:XXXX::/64.
pub fn ula_subnet(seed: &[u8; 7]) -> Ipv6Net {
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..8].copy_from_slice(seed);
    Ipv6Net::new(Ipv6Addr::from(octets), 64).expect("valid prefix")
}

/// The lowest free IPv6 address of `range` (default: the subnet), skipping the subnet's
/// network address, the gateway and `used`.
pub fn next_free6(
    subnet: &Ipv6Net,
    range: Option<&Ipv6Net>,
    gateway: Ipv6Addr,
    used: &HashSet<Ipv6Addr>,
) -> Option<Ipv6Addr> {
    let pool = range.unwrap_or(subnet);
    // Bounded: a /64 has more addresses than any host has containers.
    pool.hosts().take(1 << 20).find(|a| {
        *a != gateway && *a != subnet.network() && subnet.contains(a) && !used.contains(a)
    })
}

/// Host-wide lock around subnet choice and bridge creation: berth processes with different
/// state roots share the host's routes, so two new networks must not take the same subnet.
/// Bridges are also only deleted under it, so that a removal never races a creation.
pub struct HostLock {
    _lock: crate::lock::FileLock,
}

impl HostLock {
    pub fn acquire() -> Result<HostLock, Error> {
        Ok(HostLock {
            _lock: crate::lock::FileLock::exclusive(std::path::Path::new("/run/berth-net.lock"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_free_skips_gateway_used_and_edges() {
        let subnet: Ipv4Net = "10.9.0.0/29".parse().unwrap();
        let gw = default_gateway(&subnet);
        assert_eq!(gw, Ipv4Addr::new(10, 9, 0, 1));
        let mut used = HashSet::new();
        assert_eq!(
            next_free(&subnet, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 2))
        );
        used.insert(Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(
            next_free(&subnet, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 3))
        );
        for i in 3..=6 {
            used.insert(Ipv4Addr::new(10, 9, 0, i));
        }
        assert_eq!(next_free(&subnet, None, gw, &used), None);
    }

    #[test]
    fn range_limits_allocation() {
        let (subnet, gw, range) = check_config("10.10.0.0/16", "", "10.10.5.0/24").unwrap();
        let a = next_free(&subnet, range.as_ref(), gw, &HashSet::new()).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 10, 5, 1));
    }

    #[test]
    fn bad_config_is_refused() {
        assert!(check_config("10.0.0.0/33", "", "").is_err());
        assert!(
            check_config("10.0.0.0/24", "10.0.1.1", "")
                .unwrap_err()
                .to_string()
                .contains("no matching subnet for gateway")
        );
        assert!(check_config("10.0.0.0/24", "", "10.1.0.0/25").is_err());
    }

    #[test]
    fn ipv6_pools_allocate_after_the_gateway() {
        let (subnet, gw, range) = check_config6("fd00:1::/64", "", "").unwrap();
        assert_eq!(gw, "fd00:1::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(range, None);
        let mut used = HashSet::new();
        let first = next_free6(&subnet, None, gw, &used).unwrap();
        assert_eq!(first, "fd00:1::2".parse::<Ipv6Addr>().unwrap());
        used.insert(first);
        assert_eq!(
            next_free6(&subnet, None, gw, &used).unwrap(),
            "fd00:1::3".parse::<Ipv6Addr>().unwrap()
        );
        assert!(check_config6("fd00:1::/64", "fd00:2::1", "").is_err());
        assert!(check_config6("10.0.0.0/8", "", "").is_err());
        let ula = ula_subnet(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ula.to_string(), "fd01:203:405:607::/64");
    }

    #[test]
    fn pools_skip_overlaps() {
        let taken: Vec<Ipv4Net> = vec![
            "172.17.0.0/16".parse().unwrap(),
            "172.18.5.0/24".parse().unwrap(),
        ];
        let picked = pick_subnet(&taken).unwrap();
        assert!(!taken.iter().any(|t| overlaps(t, &picked)));
    }
}
