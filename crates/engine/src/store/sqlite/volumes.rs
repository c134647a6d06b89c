//! The `volumes` table.

use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_err, immediate};
use crate::error::Error;
use crate::store::{Volume, VolumeRemoval, VolumeStore};

const VOLUME_COLUMNS: &str = "name, driver, created, labels, options, anonymous";

fn row_to_volume(row: &rusqlite::Row<'_>) -> rusqlite::Result<Volume> {
    let labels: String = row.get(3)?;
    let options: String = row.get(4)?;
    Ok(Volume {
        name: row.get(0)?,
        driver: row.get(1)?,
        created: row.get(2)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        anonymous: row.get::<_, i64>(5)? != 0,
    })
}

/// Inserts a volume row unless one by that name exists (then returns false). Also used by
/// the container's insertion, inside its transaction.
pub(super) fn insert_volume_row(conn: &Connection, v: &Volume) -> Result<bool, Error> {
    let labels = serde_json::to_string(&v.labels).map_err(|e| Error::json("", e))?;
    let options = serde_json::to_string(&v.options).map_err(|e| Error::json("", e))?;
    let n = conn
        .execute(
            "INSERT OR IGNORE INTO volumes (name, driver, created, labels, options, anonymous) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.name, v.driver, v.created, labels, options, v.anonymous as i64],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

fn live_volume(conn: &Connection, name: &str) -> Result<Option<Volume>, Error> {
    conn.query_row(
        &format!("SELECT {VOLUME_COLUMNS} FROM volumes WHERE name = ?1 AND removing = 0"),
        [name],
        row_to_volume,
    )
    .optional()
    .map_err(db_err)
}

impl SqliteStore {
    fn volume_names_where(&self, condition: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT name FROM volumes {condition}"))
            .map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }
}

impl VolumeStore for SqliteStore {
    fn volume(&self, name: &str) -> Result<Option<Volume>, Error> {
        live_volume(&self.conn, name)
    }

    fn volumes(&self) -> Result<Vec<Volume>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {VOLUME_COLUMNS} FROM volumes WHERE removing = 0 ORDER BY name"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], row_to_volume).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn volume_names(&self) -> Result<Vec<String>, Error> {
        self.volume_names_where("")
    }

    fn removing_volumes(&self) -> Result<Vec<String>, Error> {
        self.volume_names_where("WHERE removing = 1")
    }

    fn insert_volume(&self, volume: &Volume) -> Result<bool, Error> {
        insert_volume_row(&self.conn, volume)
    }

    fn mark_volume_removing_if_unused(&self, name: &str) -> Result<VolumeRemoval, Error> {
        let tx = immediate(&self.conn)?;
        if live_volume(&tx, name)?.is_none() {
            return Ok(VolumeRemoval::Missing);
        }
        let users: Vec<String> = {
            let mut stmt = tx
                .prepare_cached("SELECT DISTINCT container_id FROM container_mounts WHERE volume = ?1 ORDER BY container_id")
                .map_err(db_err)?;
            let rows = stmt.query_map([name], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)?
        };
        if !users.is_empty() {
            return Ok(VolumeRemoval::InUse(users));
        }
        tx.execute("UPDATE volumes SET removing = 1 WHERE name = ?1", [name])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(VolumeRemoval::Marked)
    }

    fn unmark_volume_removing(&self, name: &str) -> Result<(), Error> {
        self.conn
            .execute("UPDATE volumes SET removing = 0 WHERE name = ?1", [name])
            .map_err(db_err)?;
        Ok(())
    }

    fn delete_volume(&self, name: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM volumes WHERE name = ?1", [name])
            .map_err(db_err)?;
        Ok(())
    }
}
