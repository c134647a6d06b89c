//! The `container_mounts` table.

use rusqlite::params;

use super::{SqliteStore, db_err};
use crate::error::Error;
use crate::store::MountStore;

impl MountStore for SqliteStore {
    fn mount_specs(&self, container_id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT spec FROM container_mounts WHERE container_id = ?1")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([container_id], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn set_mount_spec(
        &self,
        container_id: &str,
        destination: &str,
        spec: &str,
    ) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE container_mounts SET spec = ?3 WHERE container_id = ?1 AND destination = ?2",
                params![container_id, destination, spec],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn volume_users(&self, volume: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT container_id FROM container_mounts WHERE volume = ?1 ORDER BY container_id")
            .map_err(db_err)?;
        let rows = stmt.query_map([volume], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn container_volumes(&self, container_id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT volume FROM container_mounts WHERE container_id = ?1 AND volume != ''",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([container_id], |r| r.get(0))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn volume_used_while_running(&self, volume: &str, container_id: &str) -> Result<bool, Error> {
        let others: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM container_mounts m JOIN containers c ON c.id = m.container_id \
                 WHERE m.volume = ?1 AND m.container_id != ?2 \
                 AND (c.state IN ('running', 'paused', 'restarting') OR c.shim_pid != 0)",
                params![volume, container_id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(others > 0)
    }
}
