//! A synchronous rtnetlink socket and the few requests berth needs: create a bridge, create a
//! veth pair whose host end lands in another namespace, set links up/enslaved, add addresses
//! and routes, delete a bridge. Each request is one message and one ACK.
//!
//! A socket stays bound to the network namespace it was opened in, whatever the thread does
//! afterwards: open one per namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;
use std::path::Path;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::Error;

pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's current network namespace.
    pub fn open() -> Result<Netlink, Error> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("opening a netlink socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| Error::io("binding a netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("connecting a netlink socket", e))?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// Sends one request and waits for its ACK; the kernel's error comes back as io::Error.
    fn request(&mut self, message: RouteNetlinkMessage, extra_flags: u16) -> std::io::Result<()> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(message));
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut reply = vec![0u8; 8192];
        loop {
            let n = self.socket.recv(&mut &mut reply[..], 0)?;
            let mut offset = 0;
            while offset < n {
                let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply[offset..n])
                    .map_err(|e| std::io::Error::other(format!("bad netlink reply: {e}")))?;
                let len = parsed.header.length as usize;
                if parsed.header.sequence_number == self.seq
                    && let NetlinkPayload::Error(err) = parsed.payload
                {
                    return if err.code.is_none() {
                        Ok(())
                    } else {
                        Err(err.to_io())
                    };
                }
                if len == 0 {
                    break;
                }
                offset += (len + 3) & !3;
            }
        }
    }

    /// Sends one dump request and collects every message of its answer (until NLMSG_DONE).
    fn dump(&mut self, message: RouteNetlinkMessage) -> std::io::Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(message));
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut answers = Vec::new();
        // A dump's datagrams can be as large as a page each (more with many addresses).
        let mut reply = vec![0u8; 65536];
        loop {
            let n = self.socket.recv(&mut &mut reply[..], 0)?;
            let mut offset = 0;
            while offset < n {
                let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply[offset..n])
                    .map_err(|e| std::io::Error::other(format!("bad netlink reply: {e}")))?;
                let len = parsed.header.length as usize;
                if parsed.header.sequence_number == self.seq {
                    match parsed.payload {
                        NetlinkPayload::Done(_) => return Ok(answers),
                        NetlinkPayload::Error(err) if err.code.is_some() => {
                            return Err(err.to_io());
                        }
                        NetlinkPayload::InnerMessage(inner) => answers.push(inner),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                offset += (len + 3) & !3;
            }
        }
    }

    /// The link `index`: its attributes (MAC, MTU, name, ...).
    pub fn link(&mut self, index: u32) -> Result<LinkMessage, Error> {
        let links = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .map_err(|e| Error::io("listing links", e))?;
        links
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) if link.header.index == index => Some(link),
                _ => None,
            })
            .ok_or_else(|| Error::Invalid(format!("no link with index {index}")))
    }

    /// The addresses of link `index`, both families.
    pub fn addresses(&mut self, index: u32) -> Result<Vec<AddressMessage>, Error> {
        let all = self
            .dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
            .map_err(|e| Error::io("listing addresses", e))?;
        Ok(all
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == index => Some(a),
                _ => None,
            })
            .collect())
    }

    /// The gateways of the main table's default routes out of link `index` (IPv4, IPv6).
    pub fn default_gateways(
        &mut self,
        index: u32,
    ) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>), Error> {
        let mut gateways = (None, None);
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut request = RouteMessage::default();
            request.header.address_family = family;
            let routes = self
                .dump(RouteNetlinkMessage::GetRoute(request))
                .map_err(|e| Error::io("listing routes", e))?;
            for route in routes {
                let RouteNetlinkMessage::NewRoute(route) = route else {
                    continue;
                };
                if route.header.destination_prefix_length != 0
                    || route.header.table != libc::RT_TABLE_MAIN
                    || !route
                        .attributes
                        .iter()
                        .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index))
                {
                    continue;
                }
                for attribute in &route.attributes {
                    match attribute {
                        RouteAttribute::Gateway(RouteAddress::Inet(v4)) => {
                            gateways.0.get_or_insert(*v4);
                        }
                        RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => {
                            gateways.1.get_or_insert(*v6);
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(gateways)
    }

    /// Removes one address (as listed by [`Netlink::addresses`]); gone already is fine.
    pub fn delete_address(&mut self, address: AddressMessage) -> Result<(), Error> {
        let what = format!("removing an address of link {}", address.header.index);
        match self.request(RouteNetlinkMessage::DelAddress(address), 0) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
            Err(e) => Err(Error::io(what, e)),
        }
    }

    /// Sets link attributes (MAC, MTU, alias, ...) of link `index`; flags untouched.
    pub fn set_attributes(
        &mut self,
        index: u32,
        attributes: Vec<LinkAttribute>,
    ) -> std::io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes = attributes;
        self.request(RouteNetlinkMessage::SetLink(link), 0)
    }

    /// Creates a bare bridge `name` (no address), with `mtu`; one that exists is kept.
    pub fn create_bridge(&mut self, name: &str, mtu: u32) -> Result<(), Error> {
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.into()));
        link.attributes.push(LinkAttribute::Mtu(mtu));
        link.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(Error::io(format!("creating bridge {name}"), e)),
        }
    }

    /// Creates a bridge (if missing) with `gateway` (address, prefix length) on it, and
    /// `ipv6`'s gateway on a dual-stack network, its MTU, and sets it up. `owner` (the state
    /// root) goes into the link's alias, so that a bridge whose root vanished (a killed test)
    /// can be found and reclaimed: see [`stale_bridges`].
    pub fn ensure_bridge(
        &mut self,
        name: &str,
        gateway: (Ipv4Addr, u8),
        ipv6: Option<(Ipv6Addr, u8)>,
        mtu: Option<u32>,
        owner: &Path,
    ) -> Result<(), Error> {
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.into()));
        link.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(Error::io(format!("creating bridge {name}"), e)),
        }
        let index = index_of(name)?;
        let mut alias = LinkMessage::default();
        alias.header.index = index;
        alias.attributes.push(LinkAttribute::IfAlias(format!(
            "{OWNER_PREFIX}{}",
            owner.display()
        )));
        if let Some(mtu) = mtu {
            alias.attributes.push(LinkAttribute::Mtu(mtu));
        }
        self.request(RouteNetlinkMessage::SetLink(alias), 0)
            .map_err(|e| Error::io(format!("labelling bridge {name}"), e))?;
        let exists_ok = |r: Result<(), Error>| {
            r.or_else(|e| {
                if matches!(&e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EEXIST))
                {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        };
        exists_ok(self.add_address(index, gateway.0.into(), gateway.1))?;
        if let Some((gateway6, prefix6)) = ipv6 {
            exists_ok(self.add_address(index, gateway6.into(), prefix6))?;
        }
        self.set_link(index, true, None)
            .map_err(|e| Error::io(format!("setting bridge {name} up"), e))
    }

    /// Sets a link up (or down), and enslaves it to `master` if given.
    pub fn set_link(&mut self, index: u32, up: bool, master: Option<u32>) -> std::io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.change_mask = LinkFlags::Up;
        if up {
            link.header.flags = LinkFlags::Up;
        }
        if let Some(master) = master {
            link.attributes.push(LinkAttribute::Controller(master));
        }
        self.request(RouteNetlinkMessage::SetLink(link), 0)
    }

    /// Creates a veth pair: `name` here (in this socket's namespace), with `mac`, and its peer
    /// `peer_name` in the namespace `peer_netns` (an open netns fd).
    /// `mtu` (both ends), if given.
    pub fn create_veth(
        &mut self,
        name: &str,
        mac: [u8; 6],
        peer_name: &str,
        peer_netns: RawFd,
        mtu: Option<u32>,
    ) -> Result<(), Error> {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(peer_name.into()));
        peer.attributes.push(LinkAttribute::NetNsFd(peer_netns));
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.into()));
        link.attributes.push(LinkAttribute::Address(mac.to_vec()));
        if let Some(mtu) = mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
            link.attributes.push(LinkAttribute::Mtu(mtu));
        }
        link.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| Error::io(format!("creating veth pair {name}/{peer_name}"), e))
    }

    /// Moves a link into another namespace (never deletes it).
    pub fn move_to_netns(&mut self, index: u32, netns: RawFd) -> std::io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::NetNsFd(netns));
        self.request(RouteNetlinkMessage::SetLink(link), 0)
    }

    /// Adds an address to link `index`. An IPv6 one skips duplicate address detection
    /// (usable at once, as Docker's are: the IPAM already made it unique).
    pub fn add_address(
        &mut self,
        index: u32,
        address: IpAddr,
        prefix_len: u8,
    ) -> Result<(), Error> {
        let mut msg = AddressMessage::default();
        msg.header.prefix_len = prefix_len;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(address));
        msg.attributes.push(AddressAttribute::Address(address));
        match address {
            IpAddr::V4(v4) => {
                msg.header.family = AddressFamily::Inet;
                let broadcast =
                    u32::from(v4) | (u32::MAX.checked_shr(prefix_len as u32).unwrap_or(0));
                msg.attributes
                    .push(AddressAttribute::Broadcast(Ipv4Addr::from(broadcast)));
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.header.flags = AddressHeaderFlags::Nodad;
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| Error::io(format!("adding address {address}/{prefix_len}"), e))
    }

    /// Adds the default route (of the gateway's family) via `gateway` out of link `index`.
    pub fn add_default_route(&mut self, index: u32, gateway: IpAddr) -> Result<(), Error> {
        let mut msg = RouteMessage::default();
        msg.header.table = libc::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        match gateway {
            IpAddr::V4(v4) => {
                msg.header.address_family = AddressFamily::Inet;
                msg.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::Inet(v4)));
            }
            IpAddr::V6(v6) => {
                msg.header.address_family = AddressFamily::Inet6;
                msg.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::Inet6(v6)));
            }
        }
        msg.attributes.push(RouteAttribute::Oif(index));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| Error::io(format!("adding the default route via {gateway}"), e))
    }

    /// Deletes a bridge. Only for bridges berth made, once no container is attached (their
    /// veths are gone with their namespaces); never used on a veth.
    pub fn delete_bridge(&mut self, name: &str) -> Result<(), Error> {
        let index = match index_of(name) {
            Ok(i) => i,
            Err(_) => return Ok(()),
        };
        let mut link = LinkMessage::default();
        link.header.index = index;
        match self.request(RouteNetlinkMessage::DelLink(link), 0) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(Error::io(format!("deleting bridge {name}"), e)),
        }
    }
}

/// How a bridge's alias names the state root that made it.
const OWNER_PREFIX: &str = "berth root=";

/// The state root named in a bridge's alias by [`Netlink::ensure_bridge`] (`None`: not a
/// bridge berth made, or not a bridge at all).
fn bridge_owner(name: &str) -> Option<std::path::PathBuf> {
    let dir = Path::new("/sys/class/net").join(name);
    if !dir.join("bridge").exists() {
        return None;
    }
    let alias = std::fs::read_to_string(dir.join("ifalias")).ok()?;
    alias
        .trim_end()
        .strip_prefix(OWNER_PREFIX)
        .map(std::path::PathBuf::from)
}

/// Every bridge of the host berth made, with the state root that made it.
fn berth_bridges() -> Vec<(String, std::path::PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            bridge_owner(&name).map(|root| (name, root))
        })
        .collect()
}

/// Bridges made by berth for a state root that no longer exists, with no port attached: safe
/// to delete (their networks' records went with the root).
/// Returns (bridge, state root) pairs.
pub fn stale_bridges() -> Vec<(String, std::path::PathBuf)> {
    berth_bridges()
        .into_iter()
        .filter(|(name, root)| !root.join("berth.db").exists() && !bridge_has_ports(name))
        .collect()
}

/// The bridges the state root `root` made (whatever its records say now).
pub fn bridges_of(root: &Path) -> Vec<String> {
    berth_bridges()
        .into_iter()
        .filter(|(_, owner)| owner == root)
        .map(|(name, _)| name)
        .collect()
}

/// Whether [`Netlink::ensure_bridge`] finished on this bridge: it sets the link up last, after
/// its alias and address, so a bridge that is up needs nothing more (one left down by a
/// killed process is completed by the next `ensure_bridge`).
pub fn bridge_ready(name: &str) -> bool {
    let flags = std::fs::read_to_string(format!("/sys/class/net/{name}/flags")).unwrap_or_default();
    u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16)
        .is_ok_and(|f| f & libc::IFF_UP as u32 != 0)
}

/// The index of a link in the calling thread's namespace.
pub fn index_of(name: &str) -> Result<u32, Error> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::Invalid(format!("bad interface name {name:?}")))?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error::io(
            format!("finding interface {name}"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(index)
}

/// Whether a bridge still has ports (a container's veth, or one whose namespace is dying).
pub fn bridge_has_ports(name: &str) -> bool {
    std::fs::read_dir(format!("/sys/class/net/{name}/brif")).is_ok_and(|mut d| d.next().is_some())
}

pub fn link_exists(name: &str) -> bool {
    std::path::Path::new(&format!("/sys/class/net/{name}")).exists()
}

/// Makes a bridge port isolated (`enable_icc=false`): isolated ports reach the bridge and
/// non-isolated ports only, never each other.
pub fn isolate_bridge_port(name: &str) -> Result<(), Error> {
    let path = format!("/sys/class/net/{name}/brport/isolated");
    std::fs::write(&path, "1").map_err(|e| Error::io(format!("writing {path}"), e))
}
