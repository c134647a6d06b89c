//! The embedded DNS of containers on user-defined networks: whether a container gets one,
//! its server (bound by its shim, which serves it in its poll loop), and the names it answers,
//! read from the store at each query (a peer started or removed a moment ago is seen at once):
//! the running peers on its user-defined networks by name, short id, network alias and link
//! alias, each also as `NAME.NETWORK`.

use std::net::Ipv4Addr;

use berth_net::dns::{Directory, Server};

use super::mode::Mode;
use super::{DEFAULT_NETWORK, NetworkRecord, net_err};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

impl Engine {
    /// Whether a container resolves through the embedded server (127.0.0.11 in its
    /// resolv.conf): its own network is a user-defined one, as with Docker. Decided by the
    /// network mode alone, so that its resolv.conf and its shim agree from start to end.
    pub(crate) fn uses_embedded_dns(&self, rec: &ContainerRecord) -> bool {
        Mode::of(&rec.config.host_config.network_mode)
            .network()
            .is_some_and(|name| {
                name != DEFAULT_NETWORK && self.network(name).is_ok_and(|n| !n.is_default())
            })
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

    /// What container `id`'s server answers from.
    pub(crate) fn dns_directory(&self, id: &str) -> impl Directory + '_ {
        ContainerDirectory {
            engine: self,
            id: id.to_string(),
        }
    }
}

/// The names container `id` resolves, looked up in the store per query.
struct ContainerDirectory<'a> {
    engine: &'a Engine,
    id: String,
}

/// A running peer on one of the asker's user-defined networks.
struct Peer {
    network: NetworkRecord,
    record: ContainerRecord,
    address: Ipv4Addr,
    aliases: Vec<String>,
}

impl ContainerDirectory<'_> {
    /// The asker's record and the running containers on its user-defined networks.
    fn peers(&self) -> Option<(ContainerRecord, Vec<Peer>)> {
        let db = &self.engine.db;
        let me = db.container(&self.id).ok()??;
        let mut peers = Vec::new();
        for mine in self.engine.container_endpoints(&self.id).ok()? {
            let Some(network) = self.engine.network_by_id(&mine.network_id) else {
                continue;
            };
            if network.is_default() {
                continue;
            }
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
                peers.push(Peer {
                    network: network.clone(),
                    record,
                    address: other.ip,
                    aliases: other.aliases,
                });
            }
        }
        Some((me, peers))
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
        .filter_map(|link| crate::links::parse(&link))
        .map(|(target, alias)| (alias, target))
        .collect()
}

impl Directory for ContainerDirectory<'_> {
    fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let (me, peers) = self.peers()?;
        let mut found: Vec<Ipv4Addr> = Vec::new();
        for peer in &peers {
            // `web` or `web.NETWORK`.
            let suffix = format!(".{}", peer.network.name.to_ascii_lowercase());
            let bare = name.strip_suffix(suffix.as_str()).unwrap_or(name);
            let same = |candidate: &str| candidate.eq_ignore_ascii_case(bare);
            let linked = link_targets(&me, &peer.network)
                .iter()
                .any(|(alias, target)| same(alias) && *target == peer.record.name);
            let matches = same(&peer.record.name)
                || same(&peer.record.id[..12])
                || peer.aliases.iter().any(|a| same(a))
                || linked;
            if matches && !found.contains(&peer.address) {
                found.push(peer.address);
            }
        }
        (!found.is_empty()).then_some(found)
    }

    fn name_of(&mut self, address: Ipv4Addr) -> Option<String> {
        let (_, peers) = self.peers()?;
        peers
            .iter()
            .find(|p| p.address == address)
            .map(|p| format!("{}.{}", p.record.name, p.network.name))
    }
}
