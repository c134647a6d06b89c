//! `vm_port::hand_over_to_vm` on a namespace made here with `ip netns`: a veth pair from the
//! host with eth0's addresses and routes as the engine makes them, handed over twice.

use std::path::PathBuf;
use std::process::Command;

use berth_net::vm_port::{BRIDGE, hand_over_to_vm};

/// A test that cannot run here says so; under CI that is a failure (as the berth crate's tests).
fn cannot_run(reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("this test cannot run: {reason} (CI is set, so that is a failure)");
    }
    eprintln!("skipping: {reason}");
}

fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        cannot_run("needs root (network namespaces)");
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        cannot_run("needs ip (iproute2)");
        return false;
    }
    true
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A named namespace, deleted (with the veth pair in it) however the test ends.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("berth-vmt-{tag}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        Netns { name }
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn a_container_namespace_is_handed_over_to_a_vm_once() {
    assert!(
        can_run(),
        "this test cannot run here (see the reason above)"
    );
    let ns = Netns::new("eth");
    let host_end = format!("vmt{}", std::process::id() % 1_000_000);
    ip(&[
        "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &ns.name,
    ]);
    ip(&["addr", "add", "10.213.7.1/24", "dev", &host_end]);
    ip(&["link", "set", &host_end, "up"]);
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&[
        "link",
        "set",
        "eth0",
        "address",
        "02:42:0a:d5:07:02",
        "mtu",
        "1400",
    ]);
    ns.ip(&["addr", "add", "10.213.7.2/24", "dev", "eth0"]);
    ns.ip(&["addr", "add", "fd42:7::2/64", "dev", "eth0", "nodad"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["route", "add", "default", "via", "10.213.7.1"]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "fd42:7::1",
        "dev",
        "eth0",
    ]);

    let nic = hand_over_to_vm(&ns.path(), "tap0")
        .expect("handing over")
        .expect("eth0 is there");
    assert_eq!(nic.mac, "02:42:0a:d5:07:02");
    assert_eq!(nic.mtu, 1400);
    assert_eq!(nic.gateway.as_deref(), Some("10.213.7.1"));
    assert_eq!(nic.gateway6.as_deref(), Some("fd42:7::1"));
    let mut addresses = nic.addresses.clone();
    addresses.sort();
    // The kernel's own fe80:: address is the guest kernel's to make, not handed over.
    assert_eq!(addresses, ["10.213.7.2/24", "fd42:7::2/64"]);

    let tap = ns.ip(&["-d", "link", "show", "tap0"]);
    assert!(tap.contains("tun type tap"), "tap0: {tap}");
    assert!(tap.contains(&format!("master {BRIDGE}")), "tap0: {tap}");
    assert!(tap.contains("mtu 1400"), "tap0: {tap}");
    let bridge = ns.ip(&["-d", "link", "show", BRIDGE]);
    assert!(bridge.contains("bridge"), "{BRIDGE}: {bridge}");
    let eth0 = ns.ip(&["-d", "link", "show", "eth0"]);
    assert!(eth0.contains(&format!("master {BRIDGE}")), "eth0: {eth0}");
    assert!(
        !eth0.contains("02:42:0a:d5:07:02"),
        "eth0 keeps the guest's MAC: {eth0}"
    );
    let addresses = ns.ip(&["addr", "show"]);
    assert!(
        !addresses.contains("10.213.7.2") && !addresses.contains("fd42:7::2"),
        "the namespace still answers for the guest: {addresses}"
    );
    assert!(
        addresses.contains("127.0.0.1"),
        "loopback (the embedded DNS's 127/8) stays: {addresses}"
    );

    // The guest's side of the tap: an ARP request for the gateway from the guest's MAC and
    // address is answered by the host through eth0 and the bridge.
    let reply = arp_through_tap(
        &ns,
        "tap0",
        [0x02, 0x42, 0x0a, 0xd5, 0x07, 0x02],
        [10, 213, 7, 2],
        [10, 213, 7, 1],
    );
    assert!(reply, "no ARP reply from the host through the tap");

    // A restart hands over the same namespace again: the same answer, nothing doubled.
    let again = hand_over_to_vm(&ns.path(), "tap0")
        .expect("handing over again")
        .expect("still handed over");
    assert_eq!(again, nic);
    let links = ns.ip(&["-o", "link", "show"]);
    assert_eq!(
        links.lines().filter(|l| l.contains("master")).count(),
        2,
        "{links}"
    );

    // Half-way states are completed: eth0 off the bridge, the tap gone.
    ns.ip(&["link", "set", "eth0", "nomaster"]);
    ns.ip(&["link", "del", "tap0"]);
    let repaired = hand_over_to_vm(&ns.path(), "tap0")
        .expect("completing")
        .expect("recorded");
    assert_eq!(repaired, nic);
    assert!(ns.ip(&["-d", "link", "show", "tap0"]).contains("master"));
    assert!(ns.ip(&["link", "show", "eth0"]).contains("master"));
}

/// Stands in for QEMU: opens the persistent tap in the namespace (giving it a carrier), sends
/// an ARP request for `target` as the guest (`mac`, `address`) and waits up to 3 s for the
/// answer addressed to the guest.
fn arp_through_tap(ns: &Netns, tap: &str, mac: [u8; 6], address: [u8; 4], target: [u8; 4]) -> bool {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let path = ns.path();
    let tap = tap.to_string();
    // In a thread of its own: setns changes only the calling thread's namespace.
    std::thread::spawn(move || {
        let netns = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut device = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .unwrap();
        // SAFETY: ifreq is plain old data; all zeroes is a valid request.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(tap.bytes()) {
            *slot = byte as libc::c_char;
        }
        request.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one ifreq, alive for the call.
        let attached = unsafe { libc::ioctl(device.as_raw_fd(), libc::TUNSETIFF, &mut request) };
        assert_eq!(
            attached,
            0,
            "attaching to the tap: {}",
            std::io::Error::last_os_error()
        );
        let mut frame = Vec::new();
        frame.extend_from_slice(&[0xff; 6]);
        frame.extend_from_slice(&mac);
        frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        frame.extend_from_slice(&mac);
        frame.extend_from_slice(&address);
        frame.extend_from_slice(&[0; 6]);
        frame.extend_from_slice(&target);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut buffer = [0u8; 2048];
        while std::time::Instant::now() < deadline {
            device.write_all(&frame).unwrap();
            let mut poll = libc::pollfd {
                fd: device.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, alive for the call.
            while unsafe { libc::poll(&mut poll, 1, 200) } > 0 {
                let n = device.read(&mut buffer).unwrap();
                let reply = &buffer[..n];
                // Ethernet to the guest, ARP, an answer (op 2) from `target`.
                if n >= 42
                    && reply[0..6] == mac
                    && reply[12..14] == [0x08, 0x06]
                    && reply[20..22] == [0, 2]
                    && reply[28..32] == target
                {
                    return true;
                }
            }
        }
        false
    })
    .join()
    .unwrap()
}

#[test]
fn a_namespace_without_eth0_has_nothing_to_hand_over() {
    assert!(
        can_run(),
        "this test cannot run here (see the reason above)"
    );
    let ns = Netns::new("none");
    ns.ip(&["link", "set", "lo", "up"]);
    assert_eq!(hand_over_to_vm(&ns.path(), "tap0").expect("no error"), None);
    let links = ns.ip(&["-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
}
