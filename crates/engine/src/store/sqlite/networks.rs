//! The `networks` and `endpoints` tables; `UNIQUE(network_id, ip)` means an address is never
//! leased twice.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db_err, immediate, is_constraint_violation};
use crate::error::Error;
use crate::store::{ChooseAddress, EndpointRecord, NetworkRecord, NetworkRemoval, NetworkStore};

const NETWORK_COLUMNS: &str =
    "id, name, driver, subnet, gateway, ip_range, internal, bridge, labels, created, extra";

const ENDPOINT_COLUMNS: &str = "network_id, container_id, ip, mac, aliases, ip6, ipam_config";

fn row_to_network(row: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    let subnet: String = row.get(3)?;
    let gateway: String = row.get(4)?;
    let range: String = row.get(5)?;
    let labels: String = row.get(8)?;
    Ok(NetworkRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        driver: row.get(2)?,
        subnet: subnet.parse().unwrap_or_default(),
        gateway: gateway.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        ip_range: range.parse().ok(),
        internal: row.get::<_, i64>(6)? != 0,
        bridge: row.get(7)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created: row.get(9)?,
        extra: serde_json::from_str(&row.get::<_, String>(10)?).unwrap_or_default(),
    })
}

fn row_to_endpoint(row: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRecord> {
    let ip: String = row.get(2)?;
    let aliases: String = row.get(4)?;
    Ok(EndpointRecord {
        network_id: row.get(0)?,
        container_id: row.get(1)?,
        ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        mac: row.get(3)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        ip6: row.get::<_, String>(5)?.parse().ok(),
        ipam_config: serde_json::from_str(&row.get::<_, String>(6)?).ok(),
    })
}

impl SqliteStore {
    /// The networks matching `filter` (a WHERE clause on `?1` = `value`, or ""), oldest first.
    pub(super) fn networks_where(
        &self,
        filter: &str,
        value: &str,
    ) -> Result<Vec<NetworkRecord>, Error> {
        let sql = format!("SELECT {NETWORK_COLUMNS} FROM networks {filter} ORDER BY created, id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = if !filter.contains("?1") {
            stmt.query_map([], row_to_network)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
        } else {
            stmt.query_map([value], row_to_network)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
        };
        rows.map_err(db_err)
    }

    fn endpoints_where(&self, column: &str, value: &str) -> Result<Vec<EndpointRecord>, Error> {
        let sql =
            format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE {column} = ?1 ORDER BY rowid");
        let mut stmt = self.conn.prepare(&sql).map_err(db_err)?;
        let rows = stmt
            .query_map([value], row_to_endpoint)
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>();
        rows.map_err(db_err)
    }
}

impl NetworkStore for SqliteStore {
    fn live_networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.networks_where("WHERE removing = 0", "")
    }

    fn live_network_by_id(&self, id: &str) -> Result<Option<NetworkRecord>, Error> {
        Ok(self
            .networks_where("WHERE removing = 0 AND (id = ?1)", id)?
            .pop())
    }

    fn live_network_by_name(&self, name: &str) -> Result<Option<NetworkRecord>, Error> {
        Ok(self
            .networks_where("WHERE removing = 0 AND (name = ?1)", name)?
            .pop())
    }

    fn live_networks_by_id_prefix(&self, prefix: &str) -> Result<Vec<NetworkRecord>, Error> {
        self.networks_where("WHERE removing = 0 AND (id LIKE ?1 || '%')", prefix)
    }

    fn all_networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.networks_where("", "")
    }

    fn removing_networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        self.networks_where("WHERE removing = 1", "")
    }

    fn insert_network(&self, rec: &NetworkRecord) -> Result<bool, Error> {
        let inserted = self.conn.execute(
            &format!("INSERT INTO networks ({NETWORK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                rec.id,
                rec.name,
                rec.driver,
                rec.subnet.to_string(),
                rec.gateway.to_string(),
                rec.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                rec.internal as i64,
                rec.bridge,
                serde_json::to_string(&rec.labels).unwrap_or_default(),
                rec.created,
                serde_json::to_string(&rec.extra).unwrap_or_default()
            ],
        );
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_constraint_violation(&e) => Ok(false),
            Err(e) => Err(db_err(e)),
        }
    }

    fn delete_network(&self, id: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM networks WHERE id = ?1", [id])
            .map_err(db_err)?;
        Ok(())
    }

    fn mark_network_removing_if_unused(&self, id: &str) -> Result<NetworkRemoval, Error> {
        let tx = immediate(&self.conn)?;
        let attached: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM endpoints WHERE network_id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if attached > 0 {
            return Ok(NetworkRemoval::InUse);
        }
        let marked = tx
            .execute(
                "UPDATE networks SET removing = 1 WHERE id = ?1 AND removing = 0",
                [id],
            )
            .map_err(db_err)?;
        if marked == 0 {
            return Ok(NetworkRemoval::Missing);
        }
        tx.commit().map_err(db_err)?;
        Ok(NetworkRemoval::Marked)
    }

    fn network_is_removing(&self, id: &str) -> Result<bool, Error> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM networks WHERE id = ?1 AND removing = 1)",
                [id],
                |r| r.get(0),
            )
            .map_err(db_err)
    }

    fn network_endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.endpoints_where("network_id", network_id)
    }

    fn container_endpoints(&self, container_id: &str) -> Result<Vec<EndpointRecord>, Error> {
        self.endpoints_where("container_id", container_id)
    }

    fn lease(
        &self,
        network_id: &str,
        container_id: &str,
        aliases: &[String],
        ipam_config: Option<&crate::types::EndpointIpamConfig>,
        choose: &mut ChooseAddress<'_>,
    ) -> Result<Option<EndpointRecord>, Error> {
        let tx = immediate(&self.conn)?;
        // A removal marks the row in the transaction that checks for endpoints: after the
        // mark, no lease; before it, the removal sees this one and is refused.
        let usable: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM networks WHERE id = ?1 AND removing = 0)",
                [network_id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if !usable {
            return Ok(None);
        }
        let existing = tx
            .query_row(
                &format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE network_id = ?1 AND container_id = ?2"
                ),
                params![network_id, container_id],
                row_to_endpoint,
            )
            .optional()
            .map_err(db_err)?;
        if existing.is_some() {
            tx.commit().map_err(db_err)?;
            return Ok(existing);
        }
        let (used, used6): (HashSet<Ipv4Addr>, HashSet<Ipv6Addr>) = {
            let mut stmt = tx
                .prepare("SELECT ip, ip6 FROM endpoints WHERE network_id = ?1")
                .map_err(db_err)?;
            let rows: Vec<(String, String)> = stmt
                .query_map([network_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .filter_map(|r| r.ok())
                .collect();
            (
                rows.iter().filter_map(|(v4, _)| v4.parse().ok()).collect(),
                rows.iter().filter_map(|(_, v6)| v6.parse().ok()).collect(),
            )
        };
        let (ip, ip6, mac) = choose(&used, &used6)?;
        let ep = EndpointRecord {
            network_id: network_id.to_string(),
            container_id: container_id.to_string(),
            ip,
            mac,
            aliases: aliases.to_vec(),
            ip6,
            ipam_config: ipam_config.cloned(),
        };
        tx.execute(
            &format!(
                "INSERT INTO endpoints ({ENDPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                ep.network_id,
                ep.container_id,
                ep.ip.to_string(),
                ep.mac,
                serde_json::to_string(&ep.aliases).unwrap_or_default(),
                ep.ip6.map(|a| a.to_string()).unwrap_or_default(),
                ep.ipam_config
                    .as_ref()
                    .and_then(|c| serde_json::to_string(c).ok())
                    .unwrap_or_default()
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(Some(ep))
    }

    fn delete_endpoint(&self, network_id: &str, container_id: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                [network_id, container_id],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn delete_container_endpoints(&self, container_id: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "DELETE FROM endpoints WHERE container_id = ?1",
                [container_id],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn delete_orphan_endpoints(&self) -> Result<(), Error> {
        self.conn
            .execute(
                "DELETE FROM endpoints WHERE container_id NOT IN (SELECT id FROM containers)",
                [],
            )
            .map_err(db_err)?;
        Ok(())
    }
}
