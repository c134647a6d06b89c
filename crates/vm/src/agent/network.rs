//! The guest's network: lo up, and eth0 (the one virtio-net NIC) with the container's MTU,
//! addresses and default routes. Done with the classic interface ioctls (SIOCSIFMTU,
//! SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT and their IPv6 forms): the agent is a
//! small synchronous program and this is one interface; the rtnetlink crates are async. The
//! MAC needs no call: QEMU gives the NIC the container's MAC (`-device ...,mac=`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::config::GuestNetwork;

const INTERFACE: &str = "eth0";

pub fn bring_up_loopback() -> Result<(), String> {
    let socket = socket(libc::AF_INET)?;
    set_up(&socket, "lo")
}

pub fn configure(network: &GuestNetwork) -> Result<(), String> {
    let inet = socket(libc::AF_INET)?;
    if network.mtu > 0 {
        let mut request = ifreq(INTERFACE);
        request.ifr_ifru.ifru_mtu = network.mtu as i32;
        ioctl(&inet, libc::SIOCSIFMTU, &mut request, "setting eth0's MTU")?;
    }
    for address in &network.addresses {
        let (ip, prefix) = parse_cidr(address)?;
        match ip {
            IpAddr::V4(ip) => {
                let mut request = ifreq(INTERFACE);
                request.ifr_ifru.ifru_addr = sockaddr_v4(ip);
                ioctl(
                    &inet,
                    libc::SIOCSIFADDR,
                    &mut request,
                    "setting eth0's address",
                )?;
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix.min(32))
                };
                request.ifr_ifru.ifru_netmask = sockaddr_v4(Ipv4Addr::from(mask));
                ioctl(
                    &inet,
                    libc::SIOCSIFNETMASK,
                    &mut request,
                    "setting eth0's netmask",
                )?;
            }
            IpAddr::V6(ip) => {
                let inet6 = socket(libc::AF_INET6)?;
                let mut request = In6Ifreq {
                    addr: in6(ip),
                    prefix_len: prefix,
                    ifindex: if_index(INTERFACE)?,
                };
                ioctl(
                    &inet6,
                    libc::SIOCSIFADDR,
                    &mut request,
                    "setting eth0's IPv6 address",
                )?;
            }
        }
    }
    set_up(&inet, INTERFACE)?;
    if let Some(gateway) = &network.gateway {
        let gateway: Ipv4Addr = gateway
            .parse()
            .map_err(|_| format!("the gateway {gateway:?} is not an IPv4 address"))?;
        // SAFETY: rtentry is plain old data; zero is its "unset" for every field.
        let mut route: libc::rtentry = unsafe { std::mem::zeroed() };
        route.rt_dst = sockaddr_v4(Ipv4Addr::UNSPECIFIED);
        route.rt_genmask = sockaddr_v4(Ipv4Addr::UNSPECIFIED);
        route.rt_gateway = sockaddr_v4(gateway);
        route.rt_flags = libc::RTF_UP | libc::RTF_GATEWAY;
        ioctl(
            &inet,
            libc::SIOCADDRT,
            &mut route,
            "adding the default route",
        )?;
    }
    if let Some(gateway) = &network.gateway6 {
        let gateway: Ipv6Addr = gateway
            .parse()
            .map_err(|_| format!("the gateway {gateway:?} is not an IPv6 address"))?;
        let inet6 = socket(libc::AF_INET6)?;
        let mut route = In6Rtmsg {
            dst: in6(Ipv6Addr::UNSPECIFIED),
            src: in6(Ipv6Addr::UNSPECIFIED),
            gateway: in6(gateway),
            kind: 0,
            dst_len: 0,
            src_len: 0,
            metric: 1,
            info: 0,
            flags: (libc::RTF_UP | libc::RTF_GATEWAY) as u32,
            ifindex: if_index(INTERFACE)?,
        };
        ioctl(
            &inet6,
            libc::SIOCADDRT,
            &mut route,
            "adding the IPv6 default route",
        )?;
    }
    Ok(())
}

/// `struct in6_ifreq` from <linux/ipv6.h>.
#[repr(C)]
struct In6Ifreq {
    addr: libc::in6_addr,
    prefix_len: u32,
    ifindex: i32,
}

/// `struct in6_rtmsg` from <linux/ipv6_route.h>.
#[repr(C)]
struct In6Rtmsg {
    dst: libc::in6_addr,
    src: libc::in6_addr,
    gateway: libc::in6_addr,
    kind: u32,
    dst_len: u16,
    src_len: u16,
    metric: u32,
    info: libc::c_ulong,
    flags: u32,
    ifindex: i32,
}

fn parse_cidr(cidr: &str) -> Result<(IpAddr, u32), String> {
    let bad = || format!("{cidr:?} is not an address with a prefix length");
    let (ip, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    Ok((
        ip.parse().map_err(|_| bad())?,
        prefix.parse().map_err(|_| bad())?,
    ))
}

fn socket(family: i32) -> Result<OwnedFd, String> {
    // SAFETY: socket(2); the result is checked.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!(
            "a socket for interface ioctls: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: a descriptor socket(2) just returned.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data, zero is valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes().take(15)) {
        *slot = byte as libc::c_char;
    }
    request
}

fn ioctl<T>(
    socket: &OwnedFd,
    request: libc::c_ulong,
    argument: &mut T,
    what: &str,
) -> Result<(), String> {
    // SAFETY: each request is passed the struct type the kernel expects for it.
    let result = unsafe { libc::ioctl(socket.as_raw_fd(), request, argument as *mut T) };
    if result < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn set_up(socket: &OwnedFd, name: &str) -> Result<(), String> {
    let mut request = ifreq(name);
    ioctl(
        socket,
        libc::SIOCGIFFLAGS,
        &mut request,
        &format!("reading {name}'s flags"),
    )?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe {
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    ioctl(
        socket,
        libc::SIOCSIFFLAGS,
        &mut request,
        &format!("bringing {name} up"),
    )
}

fn if_index(name: &str) -> Result<i32, String> {
    let c_name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: a valid C string.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(format!("no network interface {name} in the guest"));
    }
    Ok(index as i32)
}

fn sockaddr_v4(ip: Ipv4Addr) -> libc::sockaddr {
    let address = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr are both 16 bytes; the kernel reads it as sockaddr_in
    // by its family.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(address) }
}

fn in6(ip: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr {
        s6_addr: ip.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_netmasks_parse() {
        assert_eq!(
            parse_cidr("172.17.0.2/16").unwrap(),
            (IpAddr::V4(Ipv4Addr::new(172, 17, 0, 2)), 16)
        );
        assert_eq!(parse_cidr("fd00::2/64").unwrap().1, 64);
        assert!(parse_cidr("172.17.0.2").is_err());
        assert_eq!(std::mem::size_of::<libc::sockaddr>(), 16);
    }
}
