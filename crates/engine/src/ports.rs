//! Published ports of running containers: chosen and checked when the container starts
//! (before anything is created for it), recorded in the `ports` table, and applied as the
//! state root's firewall table; dropped when the container stops (or its shim died).

use std::net::Ipv4Addr;

use berth_net::firewall::{self, Firewall, PortMapping};
use rusqlite::params;

use crate::db::ContainerRecord;
use crate::db::db_err;
use crate::{Engine, Error};

/// The firewall table of a state root: `berth` for the default root, one per other root.
pub(crate) fn firewall_of(root: &std::path::Path) -> firewall::Nftables {
    if root == std::path::Path::new("/var/lib/berth") {
        return firewall::Nftables::new("berth");
    }
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(root.as_os_str().as_encoded_bytes()));
    firewall::Nftables::new(format!("berth-{}", &hash[..8]))
}

/// A published port as `port` and inspect show it.
#[derive(Debug, Clone)]
pub struct PublishedPort {
    /// "80/tcp"
    pub container_port: String,
    pub host_ip: String,
    pub host_port: u16,
}

fn fw_err(e: berth_net::Error) -> Error {
    match e {
        berth_net::Error::Invalid(m) => Error::Conflict(m),
        other => Error::Internal(other.to_string()),
    }
}

/// "80/tcp" -> (80, "tcp").
fn split_port(key: &str) -> Result<(u16, String), Error> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port = port
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid container port {key}")))?;
    Ok((port, proto.to_ascii_lowercase()))
}

/// What the user asked: (container port, protocol, host ip, host port range).
type Wanted = (u16, String, Option<Ipv4Addr>, Option<(u16, u16)>);

/// What start decided: (container port, protocol, host ip, host port).
pub(crate) type Chosen = (u16, String, Option<Ipv4Addr>, u16);

fn wanted_ports(rec: &ContainerRecord) -> Result<Vec<Wanted>, Error> {
    let hc = &rec.config.host_config;
    let mut out = Vec::new();
    for (key, bindings) in hc.port_bindings.iter().flatten() {
        let (port, proto) = split_port(key)?;
        for b in bindings {
            let ip = match b.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                ip => Some(ip.parse().map_err(|_| {
                    Error::InvalidArgument(format!("invalid host IP {ip} for port {key}"))
                })?),
            };
            let range = match b.host_port.as_str() {
                "" => None,
                text => {
                    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
                    let parse = |s: &str| {
                        s.parse::<u16>().map_err(|_| {
                            Error::InvalidArgument(format!("invalid host port {text}"))
                        })
                    };
                    Some((parse(lo)?, parse(hi)?))
                }
            };
            out.push((port, proto.clone(), ip, range));
        }
    }
    if hc.publish_all_ports {
        for key in rec
            .config
            .config
            .exposed_ports
            .iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let (port, proto) = split_port(key)?;
            if !out.iter().any(|(p, pr, _, _)| *p == port && *pr == proto) {
                out.push((port, proto, None, None));
            }
        }
    }
    Ok(out)
}

impl Engine {
    /// The state root's firewall table: `berth` for the default root, one per other root.
    fn firewall(&self) -> firewall::Nftables {
        firewall_of(&self.root)
    }

    /// Picks and checks the container's host ports; nothing is recorded or applied yet. A
    /// taken port fails here, before the container's network exists.
    pub(crate) fn choose_ports(&self, rec: &ContainerRecord) -> Result<Vec<Chosen>, Error> {
        let mut chosen = Vec::new();
        for (port, proto, ip, range) in wanted_ports(rec)? {
            let host_port = match range {
                None => firewall::free_port(&proto, ip).map_err(fw_err)?,
                Some((lo, hi)) if lo == hi => {
                    firewall::check_port_free(&proto, ip, lo).map_err(fw_err)?;
                    lo
                }
                Some((lo, hi)) => (lo..=hi)
                    .find(|p| {
                        firewall::check_port_free(&proto, ip, *p).is_ok()
                            && !chosen.iter().any(|c: &Chosen| c.3 == *p)
                    })
                    .ok_or_else(|| {
                        Error::Conflict(format!(
                            "no free host port in {lo}-{hi} for {port}/{proto}"
                        ))
                    })?,
            };
            chosen.push((port, proto, ip, host_port));
        }
        Ok(chosen)
    }

    /// Records the chosen ports for the container's address and applies the firewall table.
    pub(crate) fn publish_ports(
        &self,
        rec: &ContainerRecord,
        chosen: &[Chosen],
        ip: Ipv4Addr,
        bridge: &str,
    ) -> Result<(), Error> {
        if chosen.is_empty() {
            return Ok(());
        }
        let conn = self.db.conn();
        conn.execute("DELETE FROM ports WHERE container_id = ?1", [&rec.id])
            .map_err(db_err)?;
        for (port, proto, host_ip, host_port) in chosen {
            conn.execute(
                "INSERT INTO ports (container_id, protocol, container_port, host_ip, host_port, container_ip, bridge) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![rec.id, proto, port, host_ip.map(|i| i.to_string()).unwrap_or_default(), host_port, ip.to_string(), bridge],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => Error::Conflict(format!(
                    "driver failed programming external connectivity: Bind for {}:{host_port} failed: port is already allocated",
                    host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED)
                )),
                other => db_err(other),
            })?;
        }
        firewall::allow_localhost_dnat(bridge).map_err(fw_err)?;
        self.sync_firewall()
    }

    /// Rewrites the firewall table from the networks and `ports` tables; turns forwarding on
    /// for networks that may reach beyond their bridge.
    pub(crate) fn sync_firewall(&self) -> Result<(), Error> {
        let mut stmt = self
            .db
            .conn()
            .prepare("SELECT protocol, container_port, host_ip, host_port, container_ip, bridge FROM ports ORDER BY rowid")
            .map_err(db_err)?;
        let mappings = stmt
            .query_map([], |r| {
                let host_ip: String = r.get(2)?;
                let container_ip: String = r.get(4)?;
                Ok(PortMapping {
                    protocol: r.get(0)?,
                    container_port: r.get(1)?,
                    host_ip: host_ip.parse().ok(),
                    host_port: r.get(3)?,
                    container_ip: container_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
                    bridge: r.get(5)?,
                })
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        let networks: Vec<firewall::NetworkRule> = self
            .network_records()?
            .into_iter()
            .map(|n| firewall::NetworkRule {
                bridge: n.bridge,
                subnet: n.subnet,
                internal: n.internal,
            })
            .collect();
        if networks.iter().any(|n| !n.internal) {
            firewall::enable_forwarding().map_err(fw_err)?;
        }
        self.firewall().sync(&networks, &mappings).map_err(fw_err)
    }

    /// Drops a stopped container's published ports.
    pub(crate) fn unpublish_ports(&self, id: &str) {
        let deleted = self
            .db
            .conn()
            .execute("DELETE FROM ports WHERE container_id = ?1", [id]);
        if deleted.is_ok_and(|n| n > 0) {
            let _ = self.sync_firewall();
        }
    }

    /// Repair: ports of containers whose shim is gone are dropped.
    pub(crate) fn repair_ports(&self) {
        let Ok(mut stmt) = self
            .db
            .conn()
            .prepare("SELECT DISTINCT container_id FROM ports")
        else {
            return;
        };
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map(|rows| rows.flatten().collect())
            .unwrap_or_default();
        drop(stmt);
        for id in ids {
            let live = match self.db.container(&id) {
                Ok(Some(rec)) => {
                    rec.shim_pid != 0 && crate::proc::alive(rec.shim_pid, rec.shim_start)
                }
                Ok(None) => false,
                Err(_) => true,
            };
            if !live {
                self.unpublish_ports(&id);
            }
        }
    }

    /// A running container's published ports.
    pub fn published_ports(&self, id: &str) -> Vec<PublishedPort> {
        let Ok(mut stmt) = self
            .db
            .conn()
            .prepare("SELECT protocol, container_port, host_ip, host_port FROM ports WHERE container_id = ?1 ORDER BY container_port, rowid")
        else {
            return Vec::new();
        };
        stmt.query_map([id], |r| {
            let proto: String = r.get(0)?;
            let port: u16 = r.get(1)?;
            let ip: String = r.get(2)?;
            Ok(PublishedPort {
                container_port: format!("{port}/{proto}"),
                host_ip: if ip.is_empty() { "0.0.0.0".into() } else { ip },
                host_port: r.get(3)?,
            })
        })
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
    }

    /// `berth port CONTAINER`
    pub fn container_ports(&self, name_or_id: &str) -> Result<Vec<PublishedPort>, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        Ok(self.published_ports(&rec.id))
    }
}
