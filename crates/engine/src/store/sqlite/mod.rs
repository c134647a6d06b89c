//! The SQLite state store: one file in WAL mode (`$BERTH_ROOT/berth.db`), shared safely by
//! every berth process. This module opens it, creates and upgrades its schema, and owns the
//! connection; the files below implement the store's traits, one per table group.

mod containers;
mod events;
mod images;
mod mounts;
mod networks;
mod ports;
#[cfg(test)]
mod tests;
mod volumes;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Error;

// 4: networks, endpoints and ports (after 2's volumes and 3's build cache): older databases
// get them too. 5: blob_sources. 7: container_health. 8: networks.removing (added to older
// databases by `migrate`).
// 9: networks.extra, endpoints.ip6 and .ipam_config, ports.container_ip6 (by `migrate`).
const SCHEMA_VERSION: i64 = 9;
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

/// The state store over one SQLite connection.
pub(crate) struct SqliteStore {
    conn: Connection,
}

/// A write transaction that takes the write lock at once (so the busy timeout applies, not a
/// failed upgrade halfway).
fn immediate(conn: &Connection) -> Result<rusqlite::Transaction<'_>, Error> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .map_err(db_err)
}

/// Columns added to tables that older databases already have (`CREATE TABLE IF NOT EXISTS`
/// leaves those as they are). Runs inside the schema upgrade's transaction; idempotent.
fn migrate(conn: &Connection) -> Result<(), Error> {
    let added: [(&str, &str, &str); 5] = [
        ("networks", "removing", "INTEGER NOT NULL DEFAULT 0"),
        ("networks", "extra", "TEXT NOT NULL DEFAULT '{}'"),
        ("endpoints", "ip6", "TEXT NOT NULL DEFAULT ''"),
        ("endpoints", "ipam_config", "TEXT NOT NULL DEFAULT ''"),
        ("ports", "container_ip6", "TEXT NOT NULL DEFAULT ''"),
    ];
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

fn db_err(e: rusqlite::Error) -> Error {
    Error::Store(super::StoreError::Backend(Box::new(e)))
}

impl SqliteStore {
    pub(super) fn open(path: &Path) -> Result<SqliteStore, Error> {
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
        Ok(SqliteStore { conn })
    }
}

impl super::StateStore for SqliteStore {
    fn shrink_memory(&self) {
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
        self.conn.flush_prepared_statement_cache();
    }

    fn change_counter(&self) -> Option<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .ok()
    }
}

/// Whether an error is a UNIQUE (or other constraint) violation.
fn is_constraint_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}
