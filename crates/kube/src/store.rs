//! The object store: every object as JSON in SQLite (`<state root>/kube/store.db`, its own file:
//! the engine's database is the engine's), one global resourceVersion that every write
//! increments, and a history of recent changes that watches resume from. Writes are single
//! transactions; a change is announced to this process's watchers only after it committed, in
//! resourceVersion order.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::status::ApiError;

/// How many changes a watch can resume across; older resourceVersions get 410 Expired.
const HISTORY: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("opening the object store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("creating {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a watch sees: ADDED, MODIFIED or DELETED, with the object as it now is (as it last was,
/// for DELETED).
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    /// `group/resource`, as [`key`] makes it.
    pub resource: String,
    pub namespace: String,
    pub kind: &'static str,
    pub object: Arc<Value>,
}

pub struct Store {
    conn: Mutex<Connection>,
    changes: broadcast::Sender<Change>,
}

/// The store's name for a resource: `apps/deployments`, `/configmaps` for core.
pub fn key(group: &str, resource: &str) -> String {
    format!("{group}/{resource}")
}

fn change_type(code: &str) -> &'static str {
    match code {
        "ADDED" => "ADDED",
        "DELETED" => "DELETED",
        _ => "MODIFIED",
    }
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS objects (
                     resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                     body TEXT NOT NULL, PRIMARY KEY (resource, namespace, name));
                 CREATE TABLE IF NOT EXISTS changes (
                     rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL,
                     type TEXT NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 0),
                     rv INTEGER NOT NULL);
                 INSERT OR IGNORE INTO counter (id, rv) VALUES (0, 1);",
            )?;
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let (changes, _) = broadcast::channel(4096);
        Ok(Store {
            conn: Mutex::new(conn),
            changes,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest resourceVersion.
    pub fn current_rv(&self) -> Result<u64, ApiError> {
        let conn = self.lock();
        Ok(
            conn.query_row("SELECT rv FROM counter WHERE id = 0", [], |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    }

    pub fn get(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        let conn = self.lock();
        let body: Option<String> = conn
            .query_row(
                "SELECT body FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
                params![resource, namespace, name],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(ApiError::internal))
            .transpose()
    }

    /// Every object of a resource (in one namespace, or all), ordered by namespace and name,
    /// and the resourceVersion they are consistent with.
    pub fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
    ) -> Result<(Vec<Value>, u64), ApiError> {
        let conn = self.lock();
        let rv = conn.query_row("SELECT rv FROM counter WHERE id = 0", [], |r| {
            r.get::<_, i64>(0)
        })?;
        let mut statement = conn.prepare_cached(
            "SELECT body FROM objects WHERE resource = ?1 AND (?2 IS NULL OR namespace = ?2)
             ORDER BY namespace, name",
        )?;
        let rows = statement.query_map(params![resource, namespace], |r| r.get::<_, String>(0))?;
        let mut objects = Vec::new();
        for row in rows {
            objects.push(serde_json::from_str(&row?).map_err(ApiError::internal)?);
        }
        Ok((objects, rv as u64))
    }

    /// Writes one object: `expect` is what must be there now (None: nothing, for a create;
    /// Some(rv): exactly that version). Sets the object's resourceVersion; returns it.
    pub fn put(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        mut object: Value,
        expect: Expect,
    ) -> Result<Result<Value, Refused>, ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let now: Option<String> = tx
            .query_row(
                "SELECT body FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
                params![resource, namespace, name],
                |r| r.get(0),
            )
            .optional()?;
        let current_rv = now.as_deref().map(rv_of_text);
        match (expect, current_rv) {
            (Expect::Absent, Some(_)) => return Ok(Err(Refused::Exists)),
            (Expect::Version(_) | Expect::Present, None) => return Ok(Err(Refused::Missing)),
            (Expect::Version(want), Some(have)) if want != have => {
                return Ok(Err(Refused::Stale));
            }
            _ => {}
        }
        let rv = next_rv(&tx)?;
        object["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let body = object.to_string();
        tx.execute(
            "INSERT OR REPLACE INTO objects (resource, namespace, name, body) VALUES (?1, ?2, ?3, ?4)",
            params![resource, namespace, name, body],
        )?;
        let kind = if now.is_some() { "MODIFIED" } else { "ADDED" };
        record(&tx, rv, resource, namespace, kind, &body)?;
        tx.commit()?;
        let _ = self.changes.send(Change {
            rv,
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            kind,
            object: Arc::new(object.clone()),
        });
        Ok(Ok(object))
    }

    /// Removes one object (if it is still at `expect`); returns it as it was, with the
    /// deletion's resourceVersion.
    pub fn remove(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        expect: Expect,
    ) -> Result<Result<Value, Refused>, ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let now: Option<String> = tx
            .query_row(
                "SELECT body FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
                params![resource, namespace, name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(now) = now else {
            return Ok(Err(Refused::Missing));
        };
        if let Expect::Version(want) = expect
            && want != rv_of_text(&now)
        {
            return Ok(Err(Refused::Stale));
        }
        let mut object: Value = serde_json::from_str(&now).map_err(ApiError::internal)?;
        let rv = next_rv(&tx)?;
        object["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        tx.execute(
            "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
            params![resource, namespace, name],
        )?;
        record(&tx, rv, resource, namespace, "DELETED", &object.to_string())?;
        tx.commit()?;
        let _ = self.changes.send(Change {
            rv,
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            kind: "DELETED",
            object: Arc::new(object.clone()),
        });
        Ok(Ok(object))
    }

    /// Live changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// The recorded changes of a resource after `since`, oldest first; Err(()) when `since` is
    /// older than the history kept.
    pub fn changes_since(
        &self,
        resource: &str,
        since: u64,
    ) -> Result<Result<Vec<Change>, ()>, ApiError> {
        let conn = self.lock();
        let oldest: Option<i64> =
            conn.query_row("SELECT MIN(rv) FROM changes", [], |r| r.get(0))?;
        if let Some(oldest) = oldest
            && (since as i64) < oldest - 1
        {
            return Ok(Err(()));
        }
        let mut statement = conn.prepare_cached(
            "SELECT rv, namespace, type, body FROM changes WHERE resource = ?1 AND rv > ?2 ORDER BY rv",
        )?;
        let rows = statement.query_map(params![resource, since as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut changes = Vec::new();
        for row in rows {
            let (rv, namespace, kind, body) = row?;
            changes.push(Change {
                rv: rv as u64,
                resource: resource.to_string(),
                namespace,
                kind: change_type(&kind),
                object: Arc::new(serde_json::from_str(&body).map_err(ApiError::internal)?),
            });
        }
        Ok(Ok(changes))
    }
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    Absent,
    Present,
    Version(u64),
}

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refused {
    Exists,
    Missing,
    Stale,
}

fn rv_of_text(body: &str) -> u64 {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| rv_of(&v))
        .unwrap_or(0)
}

/// An object's resourceVersion as a number (0 when it has none).
pub fn rv_of(object: &Value) -> Option<u64> {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
}

fn next_rv(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<u64> {
    let rv: i64 = tx.query_row(
        "UPDATE counter SET rv = rv + 1 WHERE id = 0 RETURNING rv",
        [],
        |r| r.get(0),
    )?;
    Ok(rv as u64)
}

fn record(
    tx: &rusqlite::Transaction<'_>,
    rv: u64,
    resource: &str,
    namespace: &str,
    kind: &str,
    body: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO changes (rv, resource, namespace, type, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![rv as i64, resource, namespace, kind, body],
    )?;
    tx.execute(
        "DELETE FROM changes WHERE rv <= ?1",
        params![rv as i64 - HISTORY],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_grow_and_stale_writes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.db")).unwrap();
        let cm = json!({"metadata": {"name": "a", "namespace": "default"}});
        let first = store
            .put("/configmaps", "default", "a", cm.clone(), Expect::Absent)
            .unwrap()
            .unwrap();
        let rv1 = rv_of(&first).unwrap();
        assert_eq!(
            store
                .put("/configmaps", "default", "a", cm.clone(), Expect::Absent)
                .unwrap(),
            Err(Refused::Exists)
        );
        let second = store
            .put(
                "/configmaps",
                "default",
                "a",
                cm.clone(),
                Expect::Version(rv1),
            )
            .unwrap()
            .unwrap();
        assert!(rv_of(&second).unwrap() > rv1);
        assert_eq!(
            store
                .put("/configmaps", "default", "a", cm, Expect::Version(rv1))
                .unwrap(),
            Err(Refused::Stale)
        );
        let changes = store.changes_since("/configmaps", rv1).unwrap().unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, "MODIFIED");
        store
            .remove("/configmaps", "default", "a", Expect::Present)
            .unwrap()
            .unwrap();
        assert!(store.get("/configmaps", "default", "a").unwrap().is_none());
    }
}
