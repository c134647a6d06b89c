//! A container's hosts, hostname and resolv.conf, written before it starts and rewritten in
//! place (they are bind-mounted) when a peer on a user-defined network joins or leaves.

use std::collections::HashSet;

use berth_net::files::HostEntry;

use super::mode::Mode;
use super::{EndpointRecord, hostname_of, net_err};
use crate::store::ContainerRecord;
use crate::{Engine, Error};

impl Engine {
    /// Writes hosts, hostname and resolv.conf for a container.
    pub(super) fn write_network_files(
        &self,
        rec: &ContainerRecord,
        hostname: &str,
    ) -> Result<(), Error> {
        let dir = self.container_dir(&rec.id);
        let hc = &rec.config.host_config;
        let write = |name: &str, data: &str| {
            berth_net::files::rewrite_in_place(&dir.join(name), data).map_err(net_err)
        };
        write("hosts", &self.hosts_file(rec, hostname)?)?;
        write("hostname", &format!("{hostname}\n"))?;
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let none = Vec::new();
        // On a user-defined network the embedded server answers (and forwards to `--dns`).
        let resolv = if self.uses_embedded_dns(rec) {
            berth_net::files::internal_resolv_conf(
                &host,
                hc.dns_search.as_ref().unwrap_or(&none),
                hc.dns_options.as_ref().unwrap_or(&none),
            )
        } else {
            berth_net::files::resolv_conf(
                &host,
                hc.dns.as_ref().unwrap_or(&none),
                hc.dns_search.as_ref().unwrap_or(&none),
                hc.dns_options.as_ref().unwrap_or(&none),
            )
        };
        write("resolv.conf", &resolv)
    }

    /// A container's /etc/hosts: its own addresses, `--add-host` entries, and on user-defined
    /// networks the other running containers by name, short id and alias.
    fn hosts_file(&self, rec: &ContainerRecord, hostname: &str) -> Result<String, Error> {
        let mut extra = extra_hosts(
            rec.config
                .host_config
                .extra_hosts
                .as_deref()
                .unwrap_or_default(),
            || Ok(self.default_network()?.gateway.to_string()),
        )?;
        // Legacy links (default bridge): after --add-host, as Docker's. A target gone since
        // the start (which refused a stopped one) drops out on a rewrite.
        extra.extend(self.legacy_links(rec).map(|l| l.0).unwrap_or_default());
        let mine = self.container_endpoints(&rec.id)?;
        let own = own_entries(
            &mine,
            hostname,
            Mode::of(&rec.config.host_config.network_mode).is_host(),
        );
        let mut peers = Vec::new();
        for ep in &mine {
            let Ok(Some(net)) = self.db.live_network_by_id(&ep.network_id) else {
                continue;
            };
            if net.is_default() {
                continue;
            }
            for other in self.network_endpoints(&net.id)? {
                if other.container_id == rec.id {
                    continue;
                }
                let Some(peer) = self.db.container(&other.container_id)? else {
                    continue;
                };
                let active = peer.state.has_shim() || peer.holder_alive();
                if !active {
                    continue;
                }
                let mut names = vec![peer.name.clone(), peer.id[..12].to_string()];
                names.extend(other.aliases.iter().cloned());
                peers.push(HostEntry {
                    address: other.ip.to_string(),
                    names,
                });
            }
        }
        Ok(berth_net::files::hosts(&extra, &own, &peers))
    }

    /// Rewrites the hosts files of the running containers sharing a user-defined network with
    /// `rec` (it joined or left), in place: they are bind-mounted into those containers.
    pub(crate) fn refresh_peers(&self, rec: &ContainerRecord) {
        let Ok(mine) = self.container_endpoints(&rec.id) else {
            return;
        };
        let ids: Vec<String> = mine.into_iter().map(|ep| ep.network_id).collect();
        self.refresh_members(&ids, &rec.id);
    }

    /// Rewrites the hosts files of the running containers in `networks`, except `skip`.
    pub(super) fn refresh_members(&self, networks: &[String], skip: &str) {
        let mut done = HashSet::new();
        for network_id in networks {
            // Nobody's hosts file names its peers on the default network: nothing to rewrite
            // (and no O(containers) work per run there).
            if self
                .network_by_id(network_id)
                .is_none_or(|n| n.is_default())
            {
                continue;
            }
            let Ok(others) = self.network_endpoints(network_id) else {
                continue;
            };
            for other in others {
                if other.container_id == skip || !done.insert(other.container_id.clone()) {
                    continue;
                }
                let Ok(Some(peer)) = self.db.container(&other.container_id) else {
                    continue;
                };
                if !peer.state.has_shim() {
                    continue;
                }
                if let Ok(text) = self.hosts_file(&peer, &hostname_of(&peer)) {
                    let _ = berth_net::files::rewrite_in_place(
                        &self.container_dir(&peer.id).join("hosts"),
                        &text,
                    );
                }
            }
        }
    }
}

/// `--add-host NAME:IP` (or `NAME=IP`) entries; `host-gateway` is the address `gateway`
/// gives (asked only when used). Lines without a separator are skipped.
fn extra_hosts(
    lines: &[String],
    mut gateway: impl FnMut() -> Result<String, Error>,
) -> Result<Vec<HostEntry>, Error> {
    let mut extra = Vec::new();
    for line in lines {
        let Some((name, ip)) = line.split_once([':', '=']) else {
            continue;
        };
        let address = if ip == "host-gateway" {
            gateway()?
        } else {
            ip.to_string()
        };
        extra.push(HostEntry {
            address,
            names: vec![name.to_string()],
        });
    }
    Ok(extra)
}

/// The container's own lines: its hostname on each of its addresses; with none, on
/// 127.0.0.1, unless it shares the host's namespace (whose hosts file names the host).
fn own_entries(leases: &[EndpointRecord], hostname: &str, host_mode: bool) -> Vec<HostEntry> {
    let mut own: Vec<HostEntry> = leases
        .iter()
        .map(|ep| HostEntry {
            address: ep.ip.to_string(),
            names: vec![hostname.to_string()],
        })
        .collect();
    if own.is_empty() && !host_mode {
        own.push(HostEntry {
            address: "127.0.0.1".into(),
            names: vec![hostname.to_string()],
        });
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(entries: &[HostEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| format!("{} {}", e.address, e.names.join(" ")))
            .collect()
    }

    #[test]
    fn add_host_entries_and_the_host_gateway() {
        let given = [
            "db:10.0.0.5".to_string(),
            "cache=10.0.0.6".to_string(),
            "gw:host-gateway".to_string(),
            "garbage".to_string(),
        ];
        let mut asked = 0;
        let extra = extra_hosts(&given, || {
            asked += 1;
            Ok("172.17.0.1".into())
        })
        .unwrap();
        assert_eq!(asked, 1);
        assert_eq!(
            lines(&extra),
            ["10.0.0.5 db", "10.0.0.6 cache", "172.17.0.1 gw"]
        );
    }

    #[test]
    fn the_gateway_is_only_asked_for_when_used() {
        let extra = extra_hosts(&["db:10.0.0.5".to_string()], || {
            Err(Error::Internal("no default network".into()))
        })
        .unwrap();
        assert_eq!(lines(&extra), ["10.0.0.5 db"]);
        assert!(
            extra_hosts(&["gw:host-gateway".to_string()], || Err(Error::Internal(
                "x".into()
            )))
            .is_err()
        );
    }

    #[test]
    fn own_lines_follow_the_leases() {
        let lease = |ip: &str| EndpointRecord {
            network_id: "n".into(),
            container_id: "c".into(),
            ip: ip.parse().unwrap(),
            mac: String::new(),
            aliases: vec![],
            ip6: None,
            ipam_config: None,
        };
        let two = [lease("10.0.0.2"), lease("10.0.1.2")];
        assert_eq!(
            lines(&own_entries(&two, "web", false)),
            ["10.0.0.2 web", "10.0.1.2 web"]
        );
        assert_eq!(lines(&own_entries(&[], "web", false)), ["127.0.0.1 web"]);
        assert!(own_entries(&[], "web", true).is_empty());
    }

    #[test]
    fn hosts_file_puts_extra_own_then_peers_after_the_standard_block() {
        let text = berth_net::files::hosts(
            &extra_hosts(&["db:10.0.0.5".to_string()], || unreachable!()).unwrap(),
            &own_entries(&[], "web", false),
            &[HostEntry {
                address: "10.0.0.3".into(),
                names: vec!["peer".into(), "abc".into()],
            }],
        );
        let tail: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("10.0.0.5"))
            .collect();
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
        assert_eq!(
            tail,
            ["10.0.0.5\tdb", "127.0.0.1\tweb", "10.0.0.3\tpeer abc"]
        );
    }
}
