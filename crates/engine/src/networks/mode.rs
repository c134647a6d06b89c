//! A container's network mode (`HostConfig.NetworkMode`), parsed in one place: the driver that
//! serves it and the network or container it names. Nothing else in the engine compares a
//! mode with `host`, `none` or `container:`.

use berth_net::driver::{self, Namespace, NetworkDriver};

use super::DEFAULT_NETWORK;

/// A parsed network mode.
#[derive(Clone, Copy)]
pub(crate) struct Mode<'a> {
    raw: &'a str,
    driver: &'static dyn NetworkDriver,
}

impl<'a> Mode<'a> {
    pub(crate) fn of(mode: &'a str) -> Mode<'a> {
        Mode {
            raw: mode,
            driver: driver::mode_driver(mode),
        }
    }

    pub(crate) fn driver(&self) -> &'static dyn NetworkDriver {
        self.driver
    }

    /// Whether the container has endpoints of its own: leases, a pinned namespace, ports,
    /// peers; and so may be connected to more networks.
    pub(crate) fn has_endpoints(&self) -> bool {
        self.driver.has_endpoints()
    }

    /// The network the container joins first ("" and "default" are the default network);
    /// `None` for modes that are not networks.
    pub(crate) fn network(&self) -> Option<&'a str> {
        if !self.has_endpoints() {
            return None;
        }
        Some(match self.raw {
            "" | "default" => DEFAULT_NETWORK,
            other => other,
        })
    }

    /// The container whose namespace is shared (`container:NAME`).
    pub(crate) fn container(&self) -> Option<&'a str> {
        (self.driver.namespace() == Namespace::Shared)
            .then(|| self.raw.strip_prefix(driver::container::PREFIX))
            .flatten()
    }

    /// Whether the namespace (and so hosts, hostname, resolv.conf) is another container's.
    pub(crate) fn is_shared(&self) -> bool {
        self.driver.namespace() == Namespace::Shared
    }

    /// Whether the container runs in the host's namespace.
    pub(crate) fn is_host(&self) -> bool {
        self.driver.namespace() == Namespace::Host
    }

    /// A mode Docker lists as a network of its own (`host`, `none`), by name.
    pub(crate) fn predefined(&self) -> Option<&'a str> {
        (!self.has_endpoints() && !self.is_shared()).then_some(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_modes_name_their_network() {
        assert_eq!(Mode::of("").network(), Some(DEFAULT_NETWORK));
        assert_eq!(Mode::of("default").network(), Some(DEFAULT_NETWORK));
        assert_eq!(Mode::of("bridge").network(), Some(DEFAULT_NETWORK));
        assert_eq!(Mode::of("front").network(), Some("front"));
        assert!(Mode::of("front").has_endpoints());
        assert_eq!(Mode::of("front").container(), None);
        assert_eq!(Mode::of("front").predefined(), None);
    }

    #[test]
    fn host_and_none_are_modes_not_networks() {
        for mode in ["host", "none"] {
            let m = Mode::of(mode);
            assert_eq!(m.network(), None, "{mode}");
            assert!(!m.has_endpoints(), "{mode}");
            assert!(!m.is_shared(), "{mode}");
            assert_eq!(m.predefined(), Some(mode));
        }
        assert!(Mode::of("host").is_host());
        assert!(!Mode::of("none").is_host());
        assert_eq!(Mode::of("none").driver().name(), "null");
    }

    #[test]
    fn container_mode_names_the_other_container() {
        let m = Mode::of("container:web");
        assert_eq!(m.container(), Some("web"));
        assert!(m.is_shared());
        assert!(!m.has_endpoints());
        assert_eq!(m.network(), None);
        assert_eq!(m.predefined(), None);
        assert_eq!(Mode::of("web").container(), None);
    }
}
