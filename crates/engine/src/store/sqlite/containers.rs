//! The `containers` and `container_health` tables (and, when a container is created or
//! deleted, its `container_mounts` rows).

use rusqlite::{OptionalExtension, params};

use super::volumes::insert_volume_row;
use super::{SqliteStore, db_err, immediate, is_constraint_violation};
use crate::error::Error;
use crate::store::{ContainerRecord, ContainerStore, MountRow};
use crate::types::{CreateRequest, Health, State};

const COLUMNS: &str = "id, name, image, image_id, created, config, state, pid, shim_pid, shim_start, exit_code, \
                       started_at, finished_at, error, restart_count, manually_stopped, oom_killed, \
                       (SELECT health FROM container_health WHERE container_id = containers.id)";

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    let config: String = row.get(5)?;
    let state: String = row.get(6)?;
    Ok(ContainerRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        image: row.get(2)?,
        image_id: row.get(3)?,
        created: row.get(4)?,
        config: serde_json::from_str(&config).unwrap_or_default(),
        state: State::parse(&state),
        pid: row.get(7)?,
        shim_pid: row.get(8)?,
        shim_start: row.get::<_, i64>(9)? as u64,
        exit_code: row.get(10)?,
        started_at: row.get(11)?,
        finished_at: row.get(12)?,
        error: row.get(13)?,
        restart_count: row.get(14)?,
        manually_stopped: row.get::<_, i64>(15)? != 0,
        oom_killed: row.get::<_, i64>(16)? != 0,
        health: row
            .get::<_, Option<String>>(17)?
            .and_then(|h| serde_json::from_str(&h).ok()),
    })
}

impl SqliteStore {
    fn containers_where(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ContainerRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM containers {condition}"))
            .map_err(db_err)?;
        let rows = stmt.query_map(params, row_to_record).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// Docker's refusal of a name another container holds.
    fn name_conflict(&self, name: &str) -> Error {
        let holder = self
            .container_by_name(name)
            .ok()
            .flatten()
            .map(|r| r.id)
            .unwrap_or_default();
        Error::Conflict(format!(
            "Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
        ))
    }
}

impl ContainerStore for SqliteStore {
    fn create_container(
        &self,
        rec: &ContainerRecord,
        mounts: &[MountRow],
    ) -> Result<Vec<String>, Error> {
        let config = serde_json::to_string(&rec.config).map_err(|e| Error::json("", e))?;
        let tx = immediate(&self.conn)?;
        let inserted = tx.execute(
            "INSERT INTO containers (id, name, image, image_id, created, config, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![rec.id, rec.name, rec.image, rec.image_id, rec.created, config, rec.state.as_str()],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_constraint_violation(&e) => {
                drop(tx);
                return Err(self.name_conflict(&rec.name));
            }
            Err(e) => return Err(db_err(e)),
        }
        let mut made = Vec::new();
        for mount in mounts {
            let volume_name = match &mount.volume {
                Some(volume) => {
                    let removing: Option<i64> = tx
                        .query_row(
                            "SELECT removing FROM volumes WHERE name = ?1",
                            [&volume.name],
                            |r| r.get(0),
                        )
                        .ok();
                    if removing == Some(1) {
                        return Err(Error::Conflict(format!(
                            "volume {} is being removed",
                            volume.name
                        )));
                    }
                    if insert_volume_row(&tx, volume)? {
                        made.push(volume.name.clone());
                    }
                    volume.name.as_str()
                }
                None => "",
            };
            tx.execute(
                "INSERT OR REPLACE INTO container_mounts (container_id, destination, volume, spec) VALUES (?1, ?2, ?3, ?4)",
                params![rec.id, mount.destination, volume_name, mount.spec],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(made)
    }

    fn container(&self, id: &str) -> Result<Option<ContainerRecord>, Error> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
                [id],
                row_to_record,
            )
            .optional()
            .map_err(db_err)
    }

    fn container_by_name(&self, name: &str) -> Result<Option<ContainerRecord>, Error> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1"),
                [name],
                row_to_record,
            )
            .optional()
            .map_err(db_err)
    }

    fn containers_by_id_prefix(&self, prefix: &str) -> Result<Vec<ContainerRecord>, Error> {
        self.containers_where(
            "WHERE substr(id, 1, ?2) = ?1",
            params![prefix, prefix.len() as i64],
        )
    }

    fn containers(&self) -> Result<Vec<ContainerRecord>, Error> {
        self.containers_where("ORDER BY created DESC", [])
    }

    fn containers_with_shim(&self) -> Result<Vec<ContainerRecord>, Error> {
        self.containers_where(
            "WHERE state IN ('running', 'paused', 'restarting') \
             OR (state = 'created' AND shim_pid != 0)",
            [],
        )
    }

    fn containers_held(&self) -> Result<Vec<ContainerRecord>, Error> {
        self.containers_where(
            "WHERE state IN ('running', 'paused', 'restarting') OR shim_pid != 0",
            [],
        )
    }

    fn claim_shim(&self, id: &str, shim_pid: i32, shim_start: u64) -> Result<bool, Error> {
        let n = self
            .conn
            .execute(
                "UPDATE containers SET shim_pid = ?2, shim_start = ?3, manually_stopped = 0, error = '' \
                 WHERE id = ?1 AND shim_pid = 0",
                params![id, shim_pid, shim_start as i64],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    fn update_container(&self, rec: &ContainerRecord) -> Result<bool, Error> {
        let n = self
            .conn
            .execute(
                "UPDATE containers SET state = ?2, pid = ?3, shim_pid = ?4, shim_start = ?5, exit_code = ?6, started_at = ?7, \
                 finished_at = ?8, error = ?9, restart_count = ?10, oom_killed = ?11 WHERE id = ?1",
                params![
                    rec.id,
                    rec.state.as_str(),
                    rec.pid,
                    rec.shim_pid,
                    rec.shim_start as i64,
                    rec.exit_code,
                    rec.started_at,
                    rec.finished_at,
                    rec.error,
                    rec.restart_count,
                    rec.oom_killed as i64
                ],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    fn set_manually_stopped(&self, id: &str, stopped: bool) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE containers SET manually_stopped = ?2 WHERE id = ?1",
                params![id, stopped as i64],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn set_container_config(&self, id: &str, config: &CreateRequest) -> Result<(), Error> {
        let json = serde_json::to_string(config)
            .map_err(|e| Error::json(format!("encoding container {id}'s config"), e))?;
        self.conn
            .execute(
                "UPDATE containers SET config = ?2 WHERE id = ?1",
                params![id, json],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn rename_container(&self, id: &str, name: &str) -> Result<(), Error> {
        match self.conn.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, name],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_constraint_violation(&e) => Err(self.name_conflict(name)),
            Err(e) => Err(db_err(e)),
        }
    }

    fn set_health(&self, id: &str, health: &Health) -> Result<(), Error> {
        let json = serde_json::to_string(health)
            .map_err(|e| Error::json(format!("encoding container {id}'s health"), e))?;
        self.conn
            .execute(
                "INSERT INTO container_health (container_id, health) VALUES (?1, ?2) \
                 ON CONFLICT (container_id) DO UPDATE SET health = excluded.health",
                params![id, json],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn delete_container(
        &self,
        id: &str,
        anonymous_volumes: &[String],
    ) -> Result<Vec<String>, Error> {
        let tx = immediate(&self.conn)?;
        let mut doomed = Vec::new();
        for name in anonymous_volumes {
            let others: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM container_mounts WHERE volume = ?1 AND container_id != ?2",
                    params![name, id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if others == 0 {
                tx.execute("UPDATE volumes SET removing = 1 WHERE name = ?1", [name])
                    .map_err(db_err)?;
                doomed.push(name.clone());
            }
        }
        tx.execute("DELETE FROM container_mounts WHERE container_id = ?1", [id])
            .map_err(db_err)?;
        tx.execute("DELETE FROM containers WHERE id = ?1", [id])
            .map_err(db_err)?;
        tx.execute("DELETE FROM container_health WHERE container_id = ?1", [id])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(doomed)
    }
}
