//! berth-net: container networking on one host.
//!
//! Owns: Linux bridges and veth pairs, addresses and routes (netlink, synchronous: the shim is
//! single-threaded), network namespaces as bind-mounted files, IPAM math (subnet choice, the
//! next free address, IPv4 and IPv6), the /etc/hosts and /etc/resolv.conf contents Docker
//! writes, the network drivers over them ([`driver::NetworkDriver`]: bridge, host, none,
//! container:), the userland proxy for port bindings the kernel cannot DNAT ([`proxy`]), and
//! the embedded DNS server of containers on user-defined networks ([`dns`]).
//!
//! Must not: know about images, container records or the state database (the engine decides
//! which addresses are leased and passes them in), nor delete a veth: a container's pair goes
//! away with its network namespace (deleting a veth while its peer's netns dies oopses some
//! kernels), so teardown is [`netns::release`].

pub mod dns;
pub mod driver;
pub mod files;
pub mod firewall;
pub mod ipam;
pub mod lock;
pub mod netlink;
pub mod netns;
pub mod proxy;
pub mod vm_port;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Errors of the networking layer; each says what failed and on what.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Exhausted(String),
}

impl Error {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// What a container's interface in one network looks like.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The bridge the host end joins.
    pub bridge: String,
    /// Name inside the container (eth0, eth1, ...).
    pub interface: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// The default route's gateway; `None` for an `--internal` network or a secondary network.
    pub gateway: Option<Ipv4Addr>,
    pub mac: [u8; 6],
    /// The IPv6 address and prefix length on a dual-stack network.
    pub address6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 default route's gateway (same rule as `gateway`).
    pub gateway6: Option<Ipv6Addr>,
    /// Extra addresses (`--link-local-ip`), with their prefix lengths.
    pub extra_addresses: Vec<(IpAddr, u8)>,
    /// The interface's MTU (the network's `com.docker.network.driver.mtu`); `None`: the kernel's.
    pub mtu: Option<u32>,
    /// The host end is an isolated bridge port (`com.docker.network.bridge.enable_icc=false`):
    /// it reaches the bridge (gateway, outside) but no other isolated port.
    pub isolated: bool,
}

/// Docker's MAC for an address: 02:42 followed by the IPv4 address.
pub fn mac_for(address: Ipv4Addr) -> [u8; 6] {
    let o = address.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = text
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}
