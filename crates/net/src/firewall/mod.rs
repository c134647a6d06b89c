//! Published ports: the firewall backend that DNATs host ports to containers. A trait with one
//! file per implementation (nftables now; iptables could follow).
//!
//! Each state root owns one table that holds every published port of its running containers;
//! a change rewrites that whole table in one atomic transaction (no rule handles to track, and
//! a repair is the same call with the truth from the database).
//!
//! Why kernel DNAT and not a userland proxy (docker-proxy): the bytes never cross a process, so
//! a published port is as fast as the container's own address (measured here 0.85-1.0x of a
//! direct connection) and nothing has to stay running beside the container. 127.0.0.1 works
//! through `route_localnet` on the bridge plus a masquerade of 127.0.0.0/8 sources, as Docker
//! without its proxy and podman do. `nft` only runs for containers that publish ports. The
//! one exception is the IPv6 loopback address, which the kernel routes through `lo` only
//! (IPv6 has no `route_localnet`): bindings that cover ::1 get a userland proxy
//! ([`crate::proxy`]) instead of a rule.
//!
//! When another firewall's iptables FORWARD policy drops (dockerd sets it), the bridges' accept
//! rules also go into iptables' filter table ([`filter_forward`]), as Docker does for docker0.

pub mod filter_forward;
mod nftables;
pub mod services;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use self::nftables::Nftables;
use crate::Error;

/// One published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// "tcp" or "udp".
    pub protocol: String,
    /// `None`: every local address (IPv4, and IPv6 when the container has an IPv6 address).
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    /// The bridge the container is reached through.
    pub bridge: String,
    /// The container's IPv6 address on a dual-stack network: the port is published on IPv6 too.
    pub container_ip6: Option<Ipv6Addr>,
}

/// One network of the state root, for its forwarding and masquerade rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRule {
    pub bridge: String,
    pub subnet: ipnet::Ipv4Net,
    /// `--internal`: nothing leaves or enters the bridge.
    pub internal: bool,
    /// The IPv6 subnet of a dual-stack network.
    pub subnet6: Option<ipnet::Ipv6Net>,
    /// Outbound traffic is masqueraded (`com.docker.network.bridge.enable_ip_masquerade`).
    pub masquerade: bool,
}

pub trait Firewall {
    /// Makes the backend's rules exactly these: outbound masquerade and isolation for
    /// `networks`, DNAT for `mappings` (nothing at all: the table goes).
    fn sync(&self, networks: &[NetworkRule], mappings: &[PortMapping]) -> Result<(), Error>;
}

/// Lets the host route between its links (what containers need to reach beyond their bridge);
/// written only when it is off.
pub fn enable_forwarding() -> Result<(), Error> {
    write_sysctl_once("/proc/sys/net/ipv4/ip_forward")
}

/// [`enable_forwarding`] for IPv6 (dual-stack networks that reach beyond their bridge).
pub fn enable_forwarding6() -> Result<(), Error> {
    write_sysctl_once("/proc/sys/net/ipv6/conf/all/forwarding")
}

fn write_sysctl_once(path: &str) -> Result<(), Error> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(path, "1").map_err(|e| Error::io(format!("writing {path}"), e))
}

/// Lets the host's own connections to 127.0.0.1 be DNATed to a container behind `bridge`
/// (the kernel drops loopback-sourced packets on other links otherwise).
pub fn allow_localhost_dnat(bridge: &str) -> Result<(), Error> {
    let path = format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet");
    std::fs::write(&path, "1").map_err(|e| Error::io(format!("writing {path}"), e))
}

/// A free port on the host for `protocol` at `ip` (the kernel's pick from its ephemeral range).
pub fn free_port(protocol: &str, ip: Option<IpAddr>) -> Result<u16, Error> {
    let addr = (ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0);
    let port = if protocol == "udp" {
        std::net::UdpSocket::bind(addr).and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind(addr).and_then(|s| s.local_addr())
    };
    port.map(|a| a.port())
        .map_err(|e| Error::io("finding a free host port", e))
}

/// Fails with Docker's message when a host port is taken (by binding it for a moment).
pub fn check_port_free(protocol: &str, ip: Option<IpAddr>, port: u16) -> Result<(), Error> {
    let addr = (ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port);
    let bound = if protocol == "udp" {
        std::net::UdpSocket::bind(addr).map(drop)
    } else {
        std::net::TcpListener::bind(addr).map(drop)
    };
    bound.map_err(|_| {
        Error::Invalid(format!(
            "driver failed programming external connectivity: Bind for {}:{port} failed: port is already allocated",
            match ip {
                Some(IpAddr::V6(v6)) => format!("[{v6}]"),
                Some(v4) => v4.to_string(),
                None => "0.0.0.0".into(),
            }
        ))
    })
}
