//! Network drivers: what makes a network and a container's interfaces in it, one file per
//! driver ([`bridge`]; [`host`], [`none`] and [`container`] are the trivial ones). The engine
//! keeps the records (networks, leases) and picks a driver by a network's driver name
//! ([`network_driver`]) or a container's network mode ([`mode_driver`]); a driver only ever
//! sees plain values ([`NetworkConfig`], [`Endpoint`]), never the database.
//!
//! Adding a driver: a file here implementing [`NetworkDriver`], a line in [`network_driver`]
//! (and/or [`mode_driver`]). The firewall is not a driver's business: the engine rewrites the
//! whole table from its records (see [`crate::firewall`]).
//!
//! No driver deletes a veth: a container's pair goes away with its namespace file
//! ([`crate::netns::release`]).

pub mod bridge;
pub mod container;
pub mod host;
pub mod none;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::{Endpoint, Error};

/// One network as its driver needs it (the engine's record, without the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The host interface the network is (a bridge's name).
    pub interface: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// `--internal`: no default route out.
    pub internal: bool,
    /// The engine's default network (Docker's `bridge`, berth's berth0).
    pub default: bool,
    /// The IPv6 gateway and prefix length of a dual-stack network.
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// The bridge's MTU (`com.docker.network.driver.mtu`); `None`: the kernel's.
    pub mtu: Option<u32>,
}

/// Which network namespace a container in a driver's mode runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// The host's own (`--network host`).
    Host,
    /// A fresh one with loopback only (`--network none`).
    Loopback,
    /// One the engine pins per container, with the driver's interfaces in it.
    Pinned,
    /// Another container's (`--network container:NAME`).
    Shared,
}

/// A network driver. The network half (create, delete, ...) is for drivers whose networks are
/// records the user creates; the endpoint half (setup, attach, detach) for drivers that put
/// interfaces in a container's pinned namespace. The defaults refuse or report nothing, which
/// is all a mode such as `host` needs.
pub trait NetworkDriver: Sync {
    /// Docker's name for the driver (`Driver` in network inspect, `type` in events).
    fn name(&self) -> &'static str;

    /// The namespace a container in this driver's mode gets.
    fn namespace(&self) -> Namespace;

    /// Whether a container in this mode has leases, a pinned namespace, published ports and
    /// peers (and so can be connected to more networks).
    fn has_endpoints(&self) -> bool {
        self.namespace() == Namespace::Pinned
    }

    /// Makes the network (or completes one a killed process left half made); `owner` (the
    /// state root) is recorded on it so that leftovers can be found. Idempotent.
    fn create(&self, net: &NetworkConfig, owner: &Path) -> Result<(), Error> {
        let _ = (net, owner);
        Err(self.refuse("create a network"))
    }

    /// Whether [`NetworkDriver::create`] finished on this network.
    fn ready(&self, net: &NetworkConfig) -> bool {
        let _ = net;
        true
    }

    /// Deletes the network's host interface by name (missing is fine). Only once no container
    /// is attached; never a veth.
    fn delete(&self, interface: &str) -> Result<(), Error> {
        let _ = interface;
        Ok(())
    }

    /// Whether containers' interfaces (or dying ones) are still attached to the interface.
    fn in_use(&self, interface: &str) -> bool {
        let _ = interface;
        false
    }

    /// The host interfaces this driver made for state root `owner`, whatever the records say.
    fn interfaces_of(&self, owner: &Path) -> Vec<String> {
        let _ = owner;
        Vec::new()
    }

    /// Interfaces made for state roots that no longer exist, unused: (interface, root).
    fn stale_interfaces(&self) -> Vec<(String, PathBuf)> {
        Vec::new()
    }

    /// Driver options as network inspect shows them (Docker lists only those given).
    fn options(&self, net: &NetworkConfig) -> Vec<(String, String)> {
        let _ = net;
        Vec::new()
    }

    /// Creates the container's namespace pinned at `netns` with these interfaces in it. On
    /// failure nothing is left behind.
    fn setup(&self, netns: &Path, endpoints: &[Endpoint]) -> Result<(), Error> {
        let _ = (netns, endpoints);
        Err(self.refuse("set up interfaces"))
    }

    /// Adds one interface to a pinned namespace (`network connect` on a running container).
    fn attach(&self, netns: &Path, endpoint: &Endpoint) -> Result<(), Error> {
        let _ = (netns, endpoint);
        Err(self.refuse("attach an interface"))
    }

    /// Takes one interface out of a pinned namespace, without deleting a veth.
    fn detach(&self, netns: &Path, interface: &str) -> Result<(), Error> {
        let _ = (netns, interface);
        Err(self.refuse("detach an interface"))
    }

    /// The error of an operation this driver has no part in.
    fn refuse(&self, what: &str) -> Error {
        Error::Invalid(format!("the {} network driver cannot {what}", self.name()))
    }
}

/// The driver of user-creatable networks named `name` ("" is the default driver); `None`:
/// no such driver (Docker: plugin not found).
pub fn network_driver(name: &str) -> Option<&'static dyn NetworkDriver> {
    match name {
        "" | bridge::NAME => Some(default_driver()),
        _ => None,
    }
}

/// The driver of networks created without one (Docker's `bridge`).
pub fn default_driver() -> &'static dyn NetworkDriver {
    &bridge::Bridge
}

/// The default driver's name.
pub const DEFAULT_DRIVER: &str = bridge::NAME;

/// The driver for a container's network mode: `host`, `none`, `container:NAME`, or else a
/// network's name (its driver is the network's; only [`bridge`] makes networks today).
pub fn mode_driver(mode: &str) -> &'static dyn NetworkDriver {
    match mode {
        host::NAME => &host::Host,
        none::MODE => &none::Null,
        _ if mode.starts_with(container::PREFIX) => &container::Container,
        _ => &bridge::Bridge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_pick_their_drivers() {
        assert_eq!(mode_driver("host").name(), "host");
        assert_eq!(mode_driver("none").name(), "null");
        assert_eq!(mode_driver("container:web").name(), "container");
        for mode in ["", "default", "bridge", "mynet"] {
            assert_eq!(mode_driver(mode).name(), "bridge", "{mode}");
        }
        assert_eq!(mode_driver("host").namespace(), Namespace::Host);
        assert_eq!(mode_driver("none").namespace(), Namespace::Loopback);
        assert_eq!(mode_driver("container:x").namespace(), Namespace::Shared);
        assert_eq!(mode_driver("mynet").namespace(), Namespace::Pinned);
        assert!(mode_driver("mynet").has_endpoints());
        assert!(!mode_driver("host").has_endpoints());
        assert!(!mode_driver("container:x").has_endpoints());
    }

    #[test]
    fn only_bridge_makes_networks() {
        assert_eq!(network_driver("").map(|d| d.name()), Some("bridge"));
        assert_eq!(network_driver("bridge").map(|d| d.name()), Some("bridge"));
        assert!(network_driver("host").is_none());
        assert!(network_driver("overlay").is_none());
    }

    #[test]
    fn trivial_drivers_refuse_to_make_interfaces() {
        let net = NetworkConfig {
            interface: "x".into(),
            subnet: "10.0.0.0/24".parse().unwrap(),
            gateway: "10.0.0.1".parse().unwrap(),
            internal: false,
            default: false,
            ipv6: None,
            mtu: None,
        };
        let err = mode_driver("host")
            .create(&net, Path::new("/nonexistent"))
            .unwrap_err();
        assert!(err.to_string().contains("host network driver"), "{err}");
        assert!(
            mode_driver("none")
                .detach(Path::new("/nonexistent"), "eth0")
                .is_err()
        );
        assert!(mode_driver("host").options(&net).is_empty());
    }
}
