//! The state database: one SQLite file in WAL mode, shared safely by every berth process.
//! Only the engine writes it. Each change is one transaction.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;
use crate::types::{CreateRequest, State};

// 4: networks, endpoints and ports (after 2's volumes and 3's build cache): older databases
// get them too. 5: blob_sources. 7: container_health. 8: networks.removing (added to older
// databases by `migrate`).
const SCHEMA_VERSION: i64 = 8;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    shim_pid INTEGER NOT NULL DEFAULT 0,
    shim_start INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    restart_count INTEGER NOT NULL DEFAULT 0,
    manually_stopped INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    created TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0,
    removing INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS container_mounts (
    container_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    volume TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX IF NOT EXISTS container_mounts_by_volume ON container_mounts (volume);
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    image_id TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    ip_range TEXT NOT NULL DEFAULT '',
    internal INTEGER NOT NULL DEFAULT 0,
    bridge TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    removing INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS endpoints (
    network_id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (network_id, container_id),
    UNIQUE (network_id, ip)
);
CREATE TABLE IF NOT EXISTS ports (
    container_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    container_port INTEGER NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_ip TEXT NOT NULL,
    bridge TEXT NOT NULL,
    UNIQUE (protocol, host_ip, host_port)
);
CREATE TABLE IF NOT EXISTS blob_sources (
    digest TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
);
CREATE TABLE IF NOT EXISTS container_health (
    container_id TEXT PRIMARY KEY,
    health TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time_nano INTEGER NOT NULL,
    type TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    attributes TEXT NOT NULL
);
";

/// One row of the containers table.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image reference as the user gave it.
    pub image: String,
    pub image_id: String,
    pub created: String,
    pub config: CreateRequest,
    pub state: State,
    /// The container's init process (0 when not running).
    pub pid: i32,
    pub shim_pid: i32,
    /// The shim's start time in clock ticks since boot, to tell a reused pid from the shim.
    pub shim_start: u64,
    pub exit_code: i64,
    pub started_at: String,
    pub finished_at: String,
    pub error: String,
    pub restart_count: i64,
    pub manually_stopped: bool,
    pub oom_killed: bool,
    /// `State.Health` of a container with a health check, once its shim started probing.
    pub health: Option<crate::types::Health>,
}

pub struct Db {
    conn: Connection,
}

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

/// A write transaction that takes the write lock at once (so the busy timeout applies, not a
/// failed upgrade halfway).
pub(crate) fn immediate(conn: &Connection) -> Result<rusqlite::Transaction<'_>, Error> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .map_err(db_err)
}

/// Columns added to tables that older databases already have (`CREATE TABLE IF NOT EXISTS`
/// leaves those as they are). Runs inside the schema upgrade's transaction; idempotent.
fn migrate(conn: &Connection) -> Result<(), Error> {
    let added: [(&str, &str, &str); 1] = [("networks", "removing", "INTEGER NOT NULL DEFAULT 0")];
    for (table, column, decl) in added {
        let present: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
                [table, column],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db_err)?
            > 0;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
                .map_err(db_err)?;
        }
    }
    Ok(())
}

pub(crate) fn db_err(e: rusqlite::Error) -> Error {
    Error::Internal(format!("state database: {e}"))
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, Error> {
        let conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if version != SCHEMA_VERSION {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db_err)?;
            let tx = immediate(&conn)?;
            tx.execute_batch(SCHEMA).map_err(db_err)?;
            migrate(&tx)?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
        }
        // WAL + NORMAL: a commit is atomic and durable against process crashes; an OS crash may
        // lose the last commits but never corrupts the file.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        // Every command is a short process: checkpointing the WAL at each close would fsync the
        // database on every `berth` invocation. SQLite's automatic checkpoints still run.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(db_err)?;
        Ok(Db { conn })
    }

    /// The connection, for modules that own their tables (volumes, mounts, networks, ports).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Releases the connection's caches (for a process about to idle, the shim).
    pub fn shrink_memory(&self) {
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
        self.conn.flush_prepared_statement_cache();
    }

    pub fn insert_container(&self, rec: &ContainerRecord) -> Result<(), Error> {
        let config =
            serde_json::to_string(&rec.config).map_err(|e| Error::Internal(e.to_string()))?;
        let result = self.conn.execute(
            "INSERT INTO containers (id, name, image, image_id, created, config, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![rec.id, rec.name, rec.image, rec.image_id, rec.created, config, rec.state.as_str()],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let holder = self
                    .container_by_name(&rec.name)?
                    .map(|r| r.id)
                    .unwrap_or_default();
                Err(Error::Conflict(format!(
                    "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                    rec.name, holder
                )))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    pub fn container(&self, id: &str) -> Result<Option<ContainerRecord>, Error> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
                [id],
                row_to_record,
            )
            .optional()
            .map_err(db_err)
    }

    pub fn container_by_name(&self, name: &str) -> Result<Option<ContainerRecord>, Error> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1"),
                [name],
                row_to_record,
            )
            .optional()
            .map_err(db_err)
    }

    /// Containers whose id starts with `prefix`.
    pub fn containers_by_id_prefix(&self, prefix: &str) -> Result<Vec<ContainerRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM containers WHERE substr(id, 1, ?2) = ?1"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![prefix, prefix.len() as i64], row_to_record)
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    pub fn containers(&self) -> Result<Vec<ContainerRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM containers ORDER BY created DESC"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], row_to_record).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// Containers that should have a live shim (running, paused, restarting, or mid-start).
    pub fn containers_with_shim(&self) -> Result<Vec<ContainerRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM containers WHERE state IN ('running', 'paused', 'restarting') \
                 OR (state = 'created' AND shim_pid != 0)"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], row_to_record).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// [`Db::containers_with_shim`], and every container a process holds (a shim starting
    /// a stopped one, a process removing one): what repair looks at.
    pub fn containers_held(&self) -> Result<Vec<ContainerRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM containers WHERE state IN ('running', 'paused', 'restarting') \
                 OR shim_pid != 0"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], row_to_record).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// Makes the calling shim the container's only one: succeeds only when no shim holds it
    /// (a dead one is cleared by repair first). Clears a previous stop request.
    pub fn claim_shim(&self, id: &str, shim_pid: i32, shim_start: u64) -> Result<bool, Error> {
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

    /// Writes the state fields of a record back (not the stop request: only `stop`/`kill`
    /// and [`Db::claim_shim`] change that). False when the record is gone (removed).
    pub fn update_container(&self, rec: &ContainerRecord) -> Result<bool, Error> {
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

    pub fn set_manually_stopped(&self, id: &str, stopped: bool) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE containers SET manually_stopped = ?2 WHERE id = ?1",
                params![id, stopped as i64],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Replaces a container's settings (`docker update`); its state fields are left alone.
    pub fn set_container_config(
        &self,
        id: &str,
        config: &crate::types::CreateRequest,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(config)
            .map_err(|e| Error::Internal(format!("encoding container {id}'s config: {e}")))?;
        self.conn
            .execute(
                "UPDATE containers SET config = ?2 WHERE id = ?1",
                params![id, json],
            )
            .map_err(db_err)?;
        Ok(())
    }

    pub fn rename_container(&self, id: &str, name: &str) -> Result<(), Error> {
        match self.conn.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, name],
        ) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let holder = self
                    .container_by_name(name)?
                    .map(|r| r.id)
                    .unwrap_or_default();
                Err(Error::Conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
                )))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    pub fn delete_container(&self, id: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM containers WHERE id = ?1", [id])
            .map_err(db_err)?;
        self.delete_health(id)
    }

    /// Records a container's `State.Health` (written by its shim only).
    pub fn set_health(&self, id: &str, health: &crate::types::Health) -> Result<(), Error> {
        let json = serde_json::to_string(health)
            .map_err(|e| Error::Internal(format!("encoding container {id}'s health: {e}")))?;
        self.conn
            .execute(
                "INSERT INTO container_health (container_id, health) VALUES (?1, ?2) \
                 ON CONFLICT (container_id) DO UPDATE SET health = excluded.health",
                params![id, json],
            )
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) fn delete_health(&self, id: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM container_health WHERE container_id = ?1", [id])
            .map_err(db_err)?;
        Ok(())
    }

    // ---- images ----

    /// Registers an image (kept if it is there already) and points `names` at it, in one
    /// transaction: a killed `import`, `commit`, `build`, `load`, `pull` or `tag` leaves the
    /// image named or not there at all, never a nameless image the user did not ask for.
    pub fn add_image(&self, id: &str, created: &str, names: &[String]) -> Result<(), Error> {
        let tx = immediate(&self.conn)?;
        tx.execute(
            "INSERT OR IGNORE INTO images (id, created) VALUES (?1, ?2)",
            params![id, created],
        )
        .map_err(db_err)?;
        for name in names {
            tx.execute(
                "INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)",
                params![name, id],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    pub fn remove_tag(&self, name: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM tags WHERE name = ?1", [name])
            .map_err(db_err)?;
        Ok(())
    }

    pub fn tag(&self, name: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err)
    }

    /// (image id, created) of every image.
    pub fn images(&self) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, created FROM images ORDER BY created DESC")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    pub fn tags_of(&self, image_id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM tags WHERE image_id = ?1 ORDER BY name")
            .map_err(db_err)?;
        let rows = stmt.query_map([image_id], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    pub fn delete_image(&self, id: &str) -> Result<(), Error> {
        let tx = self.conn.unchecked_transaction().map_err(db_err)?;
        tx.execute("DELETE FROM tags WHERE image_id = ?1", [id])
            .map_err(db_err)?;
        tx.execute("DELETE FROM images WHERE id = ?1", [id])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    pub fn image_in_use(&self, image_id: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row(
                "SELECT id FROM containers WHERE image_id = ?1 LIMIT 1",
                [image_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    // ---- build cache ----

    /// The image a build step with this cache key produced, if recorded.
    pub fn build_cache_get(&self, key: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row(
                "SELECT image_id FROM build_cache WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    pub fn build_cache_put(&self, key: &str, image_id: &str, created: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?1, ?2, ?3)",
                params![key, image_id, created],
            )
            .map_err(db_err)?;
        Ok(())
    }

    pub fn build_cache_forget(&self, key: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM build_cache WHERE key = ?1", [key])
            .map_err(db_err)?;
        Ok(())
    }

    /// Every image id the build cache refers to.
    pub fn build_cache_images(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT image_id FROM build_cache")
            .map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// Drops the cache entries that lead to `image_id`.
    pub fn build_cache_forget_image(&self, image_id: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM build_cache WHERE image_id = ?1", [image_id])
            .map_err(db_err)?;
        Ok(())
    }

    /// Drops every cache entry; returns how many there were.
    pub fn build_cache_clear(&self) -> Result<usize, Error> {
        self.conn
            .execute("DELETE FROM build_cache", [])
            .map_err(db_err)
    }

    // ---- blob sources (where a blob was pulled from or pushed to, for cross-repo mounts) ----

    pub fn add_blob_source(
        &self,
        digest: &str,
        registry: &str,
        repository: &str,
    ) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO blob_sources (digest, registry, repository) VALUES (?1, ?2, ?3)",
                params![digest, registry, repository],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// (digest, repository) of every blob known to be in `registry`.
    pub fn blob_sources_in(&self, registry: &str) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT digest, repository FROM blob_sources WHERE registry = ?1 ORDER BY repository")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([registry], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_database_gains_the_networks_removing_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        {
            // A version-7 networks table, as older berth made it, with one network in it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
                 driver TEXT NOT NULL, subnet TEXT NOT NULL, gateway TEXT NOT NULL, \
                 ip_range TEXT NOT NULL DEFAULT '', internal INTEGER NOT NULL DEFAULT 0, \
                 bridge TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL); \
                 INSERT INTO networks (id, name, driver, subnet, gateway, bridge, created) \
                 VALUES ('n1', 'old', 'bridge', '10.1.0.0/24', '10.1.0.1', 'br-n1', 'x'); \
                 PRAGMA user_version = 7;",
            )
            .unwrap();
        }
        for _ in 0..2 {
            let db = Db::open(&path).unwrap();
            let removing: i64 = db
                .conn()
                .query_row("SELECT removing FROM networks WHERE id = 'n1'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(removing, 0);
        }
    }
}
