//! The `ports` table; `UNIQUE(protocol, host_ip, host_port)` means a host port is never
//! published twice.

use rusqlite::params;

use super::{SqliteStore, db_err, immediate, is_constraint_violation};
use crate::error::Error;
use crate::store::{NetworkRecord, PortRow, PortStore};

fn row_to_port(r: &rusqlite::Row<'_>) -> rusqlite::Result<PortRow> {
    Ok(PortRow {
        protocol: r.get(0)?,
        container_port: r.get(1)?,
        host_ip: r.get(2)?,
        host_port: r.get(3)?,
        container_ip: r.get(4)?,
        bridge: r.get(5)?,
        container_ip6: r.get(6)?,
    })
}

const PORT_COLUMNS: &str =
    "protocol, container_port, host_ip, host_port, container_ip, bridge, container_ip6";

impl PortStore for SqliteStore {
    fn replace_ports(
        &self,
        container_id: &str,
        rows: &[PortRow],
        on_taken: &mut dyn FnMut(usize, u16) -> Result<u16, Error>,
    ) -> Result<(), Error> {
        let tx = immediate(&self.conn)?;
        tx.execute("DELETE FROM ports WHERE container_id = ?1", [container_id])
            .map_err(db_err)?;
        for (index, row) in rows.iter().enumerate() {
            let mut host_port = row.host_port;
            loop {
                let inserted = tx.execute(
                    "INSERT INTO ports (container_id, protocol, container_port, host_ip, host_port, container_ip, bridge, container_ip6) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![container_id, row.protocol, row.container_port, row.host_ip, host_port, row.container_ip, row.bridge, row.container_ip6],
                );
                match inserted {
                    Ok(_) => break,
                    Err(e) if is_constraint_violation(&e) => {
                        host_port = on_taken(index, host_port)?
                    }
                    Err(e) => return Err(db_err(e)),
                }
            }
        }
        tx.commit().map_err(db_err)
    }

    fn has_ports(&self, container_id: &str) -> Result<bool, Error> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM ports WHERE container_id = ?1)")
            .and_then(|mut stmt| stmt.query_row([container_id], |r| r.get::<_, bool>(0)))
            .map_err(db_err)
    }

    fn delete_ports(&self, container_id: &str) -> Result<usize, Error> {
        self.conn
            .execute("DELETE FROM ports WHERE container_id = ?1", [container_id])
            .map_err(db_err)
    }

    fn port_containers(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT container_id FROM ports")
            .map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn container_ports(&self, container_id: &str) -> Result<Vec<PortRow>, Error> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {PORT_COLUMNS} FROM ports WHERE container_id = ?1 ORDER BY container_port, rowid"))
            .map_err(db_err)?;
        let rows = stmt
            .query_map([container_id], row_to_port)
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn firewall_rows(&self) -> Result<(Vec<PortRow>, Vec<NetworkRecord>), Error> {
        let tx = self.conn.unchecked_transaction().map_err(db_err)?;
        let ports = {
            let mut stmt = tx
                .prepare_cached(&format!("SELECT {PORT_COLUMNS} FROM ports ORDER BY rowid"))
                .map_err(db_err)?;
            stmt.query_map([], row_to_port)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?
        };
        let networks = self.networks_where("WHERE removing = 0", "")?;
        tx.finish().map_err(db_err)?;
        Ok((ports, networks))
    }
}
