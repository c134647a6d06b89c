//! The embedded DNS of containers on user-defined networks: whether a container gets one,
//! its server (bound by its shim, which serves it in its poll loop), and the names it answers:
//! the running peers on its user-defined networks by name, short id, network alias and link
//! alias, each also as `NAME.NETWORK`. The names are read from the store again whenever another
//! process committed since (sqlite's data_version, one cheap statement per query): a peer
//! started or removed a moment ago is seen at once, and a query otherwise touches no table.

use std::net::Ipv4Addr;
use std::os::fd::RawFd;

use berth_net::dns::{Directory, Server};

use super::mode::Mode;
use super::{DEFAULT_NETWORK, NetworkRecord, net_err};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

impl Engine {
    /// Whether a container resolves through the embedded server (127.0.0.11 in its
    /// resolv.conf): it is on a user-defined network, as with Docker (its own network, or one
    /// it was connected to: then its shim starts the server when woken, see
    /// [`Engine::wake_for_dns`]). Only a container on the default bridge costs a lookup.
    pub(crate) fn uses_embedded_dns(&self, rec: &ContainerRecord) -> bool {
        let mode = Mode::of(&rec.config.host_config.network_mode);
        match mode.network() {
            None => false,
            Some(DEFAULT_NETWORK) => self.container_endpoints(&rec.id).is_ok_and(|leases| {
                leases.iter().any(|ep| {
                    self.network_by_id(&ep.network_id)
                        .is_some_and(|n| !n.is_default())
                })
            }),
            Some(name) => self.network(name).is_ok_and(|n| !n.is_default()),
        }
    }

    /// Asks a running container's shim to look again whether it needs its DNS server (it was
    /// connected to a user-defined network): SIGCHLD, which wakes its loop like a child's exit
    /// and is harmless to any process.
    pub(crate) fn wake_for_dns(&self, rec: &ContainerRecord) {
        if rec.state.has_shim() && rec.holder_alive() {
            // SAFETY: kill(2) with a signal whose default action is to ignore it, on the pid
            // of this container's live shim (checked by its start time just above).
            unsafe { libc::kill(rec.shim_pid, libc::SIGCHLD) };
        }
    }

    /// In a shim woken up: its container's DNS server, if it now needs one.
    pub(crate) fn late_embedded_dns(&self, id: &str) -> Option<EmbeddedDns> {
        let rec = self.db.container(id).ok()??;
        let mut dns = self.embedded_dns(&rec).ok().flatten()?;
        // The container runs already: its next lookup may come at once.
        dns.ready().ok()?;
        Some(dns)
    }

    /// The container's DNS server, bound in its (already made) namespace; `None` when it
    /// resolves through its hosts file (default bridge, host, none, container:).
    pub(crate) fn dns_server(&self, rec: &ContainerRecord) -> Result<Option<Server>, Error> {
        if !self.uses_embedded_dns(rec) {
            return Ok(None);
        }
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let upstreams = berth_net::dns::upstreams(
            &host,
            rec.config.host_config.dns.as_deref().unwrap_or_default(),
        );
        Server::bind(&self.netns_path(&rec.id), &upstreams)
            .map(Some)
            .map_err(net_err)
    }
}

/// A running container's embedded DNS: its server and the names it answers, kept until the
/// store changes (any commit by another process: a peer started, stopped, connected, removed).
pub(crate) struct EmbeddedDns {
    server: Server,
    names: Option<(Option<i64>, Vec<Entry>)>,
}

/// One address a container can resolve, under the names that lead to it.
struct Entry {
    /// Lower case: the peer's name, short id, network aliases, the asker's link aliases.
    names: Vec<String>,
    network: String,
    /// The peer's name as recorded (for reverse lookups).
    name: String,
    address: Ipv4Addr,
}

impl EmbeddedDns {
    pub(crate) fn fds(&self) -> [RawFd; 3] {
        self.server.fds()
    }

    pub(crate) fn waiting(&self) -> bool {
        self.server.waiting()
    }

    pub(crate) fn expire(&mut self) {
        self.server.expire()
    }

    /// Waits until 127.0.0.11:53 reaches the server (see [`Server::ready`]).
    pub(crate) fn ready(&mut self) -> Result<(), Error> {
        self.server.ready().map_err(net_err)
    }

    /// Serves what `fd` has to read, for container `id`.
    pub(crate) fn readable(&mut self, fd: RawFd, engine: &Engine, id: &str) {
        let mut directory = ContainerDirectory {
            engine,
            id,
            names: &mut self.names,
        };
        self.server.readable(fd, &mut directory);
    }
}

impl Engine {
    /// [`Engine::dns_server`] with its name cache.
    pub(crate) fn embedded_dns(&self, rec: &ContainerRecord) -> Result<Option<EmbeddedDns>, Error> {
        Ok(self.dns_server(rec)?.map(|server| EmbeddedDns {
            server,
            names: None,
        }))
    }
}

/// The names container `id` resolves: read from the store again when it changed.
struct ContainerDirectory<'a> {
    engine: &'a Engine,
    id: &'a str,
    names: &'a mut Option<(Option<i64>, Vec<Entry>)>,
}

impl ContainerDirectory<'_> {
    fn entries(&mut self) -> Option<&[Entry]> {
        let version = self.engine.db.change_counter();
        let fresh = version.is_some()
            && self
                .names
                .as_ref()
                .is_some_and(|(seen, _)| *seen == version);
        if !fresh {
            *self.names = Some((version, self.load()?));
        }
        self.names.as_ref().map(|(_, entries)| entries.as_slice())
    }

    /// The running containers on the asker's user-defined networks, by every name it may use.
    fn load(&self) -> Option<Vec<Entry>> {
        let db = &self.engine.db;
        let me = db.container(self.id).ok()??;
        let mut entries = Vec::new();
        for mine in self.engine.container_endpoints(self.id).ok()? {
            let Some(network) = self.engine.network_by_id(&mine.network_id) else {
                continue;
            };
            if network.is_default() {
                continue;
            }
            let links = link_targets(&me, &network);
            for other in self
                .engine
                .network_endpoints(&network.id)
                .unwrap_or_default()
            {
                let Ok(Some(record)) = db.container(&other.container_id) else {
                    continue;
                };
                if !(record.state.has_shim() || record.holder_alive()) {
                    continue;
                }
                let mut names = vec![record.name.clone(), record.id[..12].to_string()];
                names.extend(other.aliases);
                names.extend(
                    links
                        .iter()
                        .filter(|(_, target)| *target == record.name)
                        .map(|(alias, _)| alias.clone()),
                );
                for name in &mut names {
                    name.make_ascii_lowercase();
                }
                entries.push(Entry {
                    names,
                    network: network.name.to_ascii_lowercase(),
                    name: record.name,
                    address: other.ip,
                });
            }
        }
        Some(entries)
    }
}

/// The asker's link aliases on `network` (`--link NAME:ALIAS` and the endpoint's own links):
/// alias -> the linked container's name.
fn link_targets(me: &ContainerRecord, network: &NetworkRecord) -> Vec<(String, String)> {
    let endpoint_links = me
        .config
        .networking_config
        .endpoints_config
        .iter()
        .filter(|(name, _)| **name == network.name || **name == network.id)
        .flat_map(|(_, settings)| settings.links.clone().unwrap_or_default());
    me.config
        .host_config
        .links
        .clone()
        .unwrap_or_default()
        .into_iter()
        .chain(endpoint_links)
        .filter_map(|link| super::links::parse(&link))
        .map(|(target, alias)| (alias, target))
        .collect()
}

impl Directory for ContainerDirectory<'_> {
    fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let mut found: Vec<Ipv4Addr> = Vec::new();
        for entry in self.entries()? {
            // `web` or `web.NETWORK`.
            let bare = name
                .strip_suffix(entry.network.as_str())
                .and_then(|n| n.strip_suffix('.'))
                .unwrap_or(name);
            if entry.names.iter().any(|n| n == bare) && !found.contains(&entry.address) {
                found.push(entry.address);
            }
        }
        (!found.is_empty()).then_some(found)
    }

    fn name_of(&mut self, address: Ipv4Addr) -> Option<String> {
        self.entries()?
            .iter()
            .find(|e| e.address == address)
            .map(|e| format!("{}.{}", e.name, e.network))
    }
}
