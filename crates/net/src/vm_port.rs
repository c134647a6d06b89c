//! A micro-VM takes its container's place on the network.
//!
//! A `--vm` container gets the namespace, veth (eth0), addresses, DNS and published ports of a
//! container, made as for any other. [`hand_over_to_vm`] then turns that namespace into the
//! VM's: a persistent tap for QEMU (which runs in the namespace) and eth0 on one bridge there,
//! eth0's addresses removed (the namespace must not answer for the guest) and its MAC replaced
//! by a random one, so that the guest, given eth0's original MAC and addresses, is what the
//! container's peers, the host's DNAT and the userland proxy reach at the container's address.
//! Loopback is untouched: the embedded DNS at 127.0.0.11 (served by the shim in the namespace)
//! stays reachable from the namespace, where the VM's relay forwards the guest's queries.
//!
//! The original configuration is recorded in the bridge's alias, so it lives and dies with the
//! namespace, and a second call (a restart, or a call after a crash half-way) finds it and
//! completes the hand-over instead of reading an eth0 that was already emptied.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};
use netlink_packet_route::link::LinkAttribute;
use nix::sched::{CloneFlags, setns};

use crate::netlink::{Netlink, index_of};
use crate::{Error, format_mac, parse_mac};

/// The bridge in the container's namespace joining eth0 and the VM's tap.
pub const BRIDGE: &str = "berth-vm";

/// The container's interface the VM takes over.
const INTERFACE: &str = "eth0";

/// How the bridge's alias starts when it records a [`VmNic`].
const RECORD_PREFIX: &str = "berth vm nic ";

/// The kernel's limit on an interface alias (IFALIASZ, with its NUL).
const ALIAS_MAX: usize = 255;

/// What the guest's NIC must be to stand where eth0 stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmNic {
    /// eth0's original MAC, "02:42:ac:11:00:02" (what `inspect` shows).
    pub mac: String,
    /// CIDR addresses, IPv4 and IPv6, without the kernel's own link-local one.
    pub addresses: Vec<String>,
    pub gateway: Option<String>,
    pub gateway6: Option<String>,
    pub mtu: u32,
}

impl VmNic {
    /// The compact form kept in the bridge's alias.
    fn record(&self) -> String {
        format!(
            "{RECORD_PREFIX}mac={} mtu={} gw={} gw6={} addr={}",
            self.mac,
            self.mtu,
            self.gateway.as_deref().unwrap_or("-"),
            self.gateway6.as_deref().unwrap_or("-"),
            self.addresses.join(",")
        )
    }

    fn from_record(alias: &str) -> Option<VmNic> {
        let fields = alias.trim_end().strip_prefix(RECORD_PREFIX)?;
        let mut nic = VmNic {
            mac: String::new(),
            addresses: Vec::new(),
            gateway: None,
            gateway6: None,
            mtu: 0,
        };
        let optional = |v: &str| (v != "-").then(|| v.to_string());
        for field in fields.split(' ') {
            let (key, value) = field.split_once('=')?;
            match key {
                "mac" => nic.mac = value.to_string(),
                "mtu" => nic.mtu = value.parse().ok()?,
                "gw" => nic.gateway = optional(value),
                "gw6" => nic.gateway6 = optional(value),
                "addr" => {
                    nic.addresses = value
                        .split(',')
                        .filter(|a| !a.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                _ => return None,
            }
        }
        (parse_mac(&nic.mac).is_some() && nic.mtu > 0).then_some(nic)
    }
}

/// Inside the namespace pinned at `netns`: makes the persistent tap `tap` (for QEMU) and the
/// bridge [`BRIDGE`] with eth0 and the tap on it, takes eth0's addresses away and gives it a
/// random MAC; returns what eth0 was, for the guest. `None`: the namespace has no eth0
/// (`--network none`), and nothing was made. Calling it again on a namespace already handed
/// over returns the same values (and completes a hand-over cut short).
pub fn hand_over_to_vm(netns: &Path, tap: &str) -> Result<Option<VmNic>, Error> {
    if tap.is_empty() || tap.len() >= libc::IFNAMSIZ || tap.contains(['/', ' ', ':']) {
        return Err(Error::Invalid(format!("bad tap name {tap:?}")));
    }
    let target =
        File::open(netns).map_err(|e| Error::io(format!("opening {}", netns.display()), e))?;
    let original = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the host network namespace", e))?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io(format!("entering {}", netns.display()), e.into()))?;
    let result = hand_over_inside(tap);
    if let Err(e) = setns(&original, CloneFlags::CLONE_NEWNET) {
        // Nothing this thread does from here would be in the right namespace.
        eprintln!("berth: cannot return to the host network namespace: {e}");
        std::process::abort();
    }
    result
}

/// In the container's namespace (the calling thread is in it).
fn hand_over_inside(tap: &str) -> Result<Option<VmNic>, Error> {
    let mut nl = Netlink::open()?;
    let nic = match recorded(&mut nl)? {
        Some(nic) => nic,
        None => {
            let Ok(eth0) = index_of(INTERFACE) else {
                return Ok(None);
            };
            let nic = read_interface(&mut nl, eth0)?;
            let record = nic.record();
            if record.len() > ALIAS_MAX {
                return Err(Error::Invalid(format!(
                    "{INTERFACE} has too many addresses for a VM's NIC: {}",
                    nic.addresses.join(", ")
                )));
            }
            // Recorded before eth0 changes: from here on a second call finds it.
            nl.create_bridge(BRIDGE, nic.mtu)?;
            nl.set_attributes(index_of(BRIDGE)?, vec![LinkAttribute::IfAlias(record)])
                .map_err(|e| Error::io(format!("recording eth0's setup on {BRIDGE}"), e))?;
            nic
        }
    };
    take_over(&mut nl, tap, &nic)?;
    Ok(Some(nic))
}

/// The hand-over already recorded in this namespace, if any.
fn recorded(nl: &mut Netlink) -> Result<Option<VmNic>, Error> {
    let Ok(bridge) = index_of(BRIDGE) else {
        return Ok(None);
    };
    let link = nl.link(bridge)?;
    Ok(link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfAlias(alias) => VmNic::from_record(alias),
        _ => None,
    }))
}

/// eth0 as the container has it: MAC, MTU, addresses, default gateways.
fn read_interface(nl: &mut Netlink, index: u32) -> Result<VmNic, Error> {
    let link = nl.link(index)?;
    let mut mac = None;
    let mut mtu = 1500;
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::Address(bytes) => mac = <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            LinkAttribute::Mtu(m) => mtu = *m,
            _ => {}
        }
    }
    let mac = mac.ok_or_else(|| Error::Invalid(format!("{INTERFACE} has no MAC address")))?;
    let addresses = nl
        .addresses(index)?
        .iter()
        .filter(|a| !is_kernel_link_local(a, &mac))
        .filter_map(|a| {
            let ip = address_of(a)?;
            Some(format!("{ip}/{}", a.header.prefix_len))
        })
        .collect();
    let (gateway, gateway6) = nl.default_gateways(index)?;
    Ok(VmNic {
        mac: format_mac(&mac),
        addresses,
        gateway: gateway.map(|g| g.to_string()),
        gateway6: gateway6.map(|g| g.to_string()),
        mtu,
    })
}

fn address_of(message: &AddressMessage) -> Option<IpAddr> {
    // IPv4 carries the interface's own address as IFA_LOCAL (IFA_ADDRESS is the peer's on
    // point-to-point links); IPv6 only IFA_ADDRESS.
    let local = message.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    local.or_else(|| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })
}

/// The fe80:: address the kernel gives every IPv6 interface: the guest's kernel makes its own
/// from the same MAC, so it is not handed over (a `--link-local-ip` one is).
fn is_kernel_link_local(message: &AddressMessage, mac: &[u8; 6]) -> bool {
    let by_kernel = message
        .attributes
        .iter()
        .any(|a| matches!(a, AddressAttribute::Protocol(AddressProtocol::LinkLocal)));
    by_kernel || address_of(message) == Some(IpAddr::V6(eui64_link_local(mac)))
}

/// fe80::/64 with the EUI-64 interface identifier of `mac` (kernels before 5.18 do not tag
/// their link-local addresses).
fn eui64_link_local(mac: &[u8; 6]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets[0] = 0xfe;
    octets[1] = 0x80;
    octets[8] = mac[0] ^ 0x02;
    octets[9] = mac[1];
    octets[10] = mac[2];
    octets[11] = 0xff;
    octets[12] = 0xfe;
    octets[13] = mac[3];
    octets[14] = mac[4];
    octets[15] = mac[5];
    Ipv6Addr::from(octets)
}

/// Brings the namespace to the handed-over state from wherever it is: each step is a no-op
/// when already done.
fn take_over(nl: &mut Netlink, tap: &str, nic: &VmNic) -> Result<(), Error> {
    nl.create_bridge(BRIDGE, nic.mtu)?;
    let bridge = index_of(BRIDGE)?;
    if index_of(tap).is_err() {
        create_persistent_tap(tap)?;
    }
    let tap_index = index_of(tap)?;
    nl.set_attributes(tap_index, vec![LinkAttribute::Mtu(nic.mtu)])
        .map_err(|e| Error::io(format!("setting {tap}'s MTU"), e))?;
    // The namespace's own stack stays off the bridge and its ports: no link-local address, no
    // neighbour discovery answered in the guest's place.
    for name in [BRIDGE, tap, INTERFACE] {
        disable_ipv6(name)?;
    }
    let eth0 = index_of(INTERFACE)?;
    for address in nl.addresses(eth0)? {
        nl.delete_address(address)?;
    }
    let original = parse_mac(&nic.mac);
    let current = nl.link(eth0)?.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    });
    if current.is_none() || current == original {
        nl.set_attributes(
            eth0,
            vec![LinkAttribute::Address(random_local_mac()?.to_vec())],
        )
        .map_err(|e| Error::io(format!("giving {INTERFACE} a new MAC"), e))?;
    }
    for (index, name) in [(eth0, INTERFACE), (tap_index, tap)] {
        nl.set_link(index, true, Some(bridge))
            .map_err(|e| Error::io(format!("attaching {name} to {BRIDGE}"), e))?;
    }
    nl.set_link(bridge, true, None)
        .map_err(|e| Error::io(format!("setting {BRIDGE} up"), e))
}

/// A tap that outlives its maker (TUNSETPERSIST), owned by root, for QEMU to open by name
/// later. Hand-written: two ioctls, where the tun crates bring async runtimes or keep the fd.
fn create_persistent_tap(name: &str) -> Result<(), Error> {
    // /dev/net/tun makes the device in the namespace of the thread that opens it.
    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| Error::io("opening /dev/net/tun", e))?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid (empty) request.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    request.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes one ifreq, which `request` is, alive for the call.
    if unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut request) } < 0 {
        return Err(Error::io(
            format!("creating tap {name}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: TUNSETPERSIST takes an integer argument by value.
    if unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETPERSIST, 1 as libc::c_ulong) } < 0 {
        return Err(Error::io(
            format!("making tap {name} persistent"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Turns IPv6 off on an interface of the current namespace (/proc/sys/net is the opening
/// thread's namespace's). A kernel without IPv6 has nothing to turn off.
fn disable_ipv6(name: &str) -> Result<(), Error> {
    let path = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
    match std::fs::write(&path, "1") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("writing {path}"), e)),
    }
}

/// A random, locally administered, unicast MAC.
fn random_local_mac() -> Result<[u8; 6], Error> {
    let mut mac = [0u8; 6];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut mac))
        .map_err(|e| Error::io("reading /dev/urandom", e))?;
    mac[0] = (mac[0] & 0xfc) | 0x02;
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back() {
        let nic = VmNic {
            mac: "02:42:ac:12:00:02".into(),
            addresses: vec!["172.18.0.2/16".into(), "fd00:1::2/64".into()],
            gateway: Some("172.18.0.1".into()),
            gateway6: None,
            mtu: 1450,
        };
        assert_eq!(VmNic::from_record(&nic.record()), Some(nic));
        let bare = VmNic {
            mac: "02:42:ac:12:00:03".into(),
            addresses: Vec::new(),
            gateway: None,
            gateway6: None,
            mtu: 1500,
        };
        assert_eq!(VmNic::from_record(&bare.record()), Some(bare));
    }

    #[test]
    fn other_aliases_are_no_record() {
        assert_eq!(VmNic::from_record("berth root=/var/lib/berth"), None);
        assert_eq!(VmNic::from_record("berth vm nic mac=zz mtu=1500"), None);
    }

    #[test]
    fn the_eui64_link_local_of_a_docker_mac() {
        let mac = parse_mac("02:42:ac:11:00:02").unwrap();
        assert_eq!(
            eui64_link_local(&mac),
            "fe80::42:acff:fe11:2".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn random_macs_are_local_unicast() {
        for _ in 0..20 {
            let mac = random_local_mac().unwrap();
            assert_eq!(mac[0] & 0x03, 0x02);
        }
    }
}
