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
    if !can_run() {
        return;
    }
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

#[test]
fn a_namespace_without_eth0_has_nothing_to_hand_over() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("none");
    ns.ip(&["link", "set", "lo", "up"]);
    assert_eq!(hand_over_to_vm(&ns.path(), "tap0").expect("no error"), None);
    let links = ns.ip(&["-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
}
