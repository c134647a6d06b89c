//! The `events` table: append-only; its rowid is the followers' cursor.

use std::collections::BTreeMap;

use rusqlite::params;

use super::{SqliteStore, db_err};
use crate::error::Error;
use crate::store::{Event, EventStore};

impl EventStore for SqliteStore {
    fn append_event(
        &self,
        time_nano: i64,
        kind: &str,
        action: &str,
        actor_id: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<i64, Error> {
        self.conn
            .execute(
                "INSERT INTO events (time_nano, type, action, actor, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    time_nano,
                    kind,
                    action,
                    actor_id,
                    serde_json::to_string(attributes).unwrap_or_default()
                ],
            )
            .map_err(db_err)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn trim_events(&self, seq: i64) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM events WHERE seq <= ?1", [seq])
            .map_err(db_err)?;
        Ok(())
    }

    fn events_after(&self, after: i64, since: i64, limit: i64) -> Result<Vec<Event>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, time_nano, type, action, actor, attributes FROM events \
                 WHERE seq > ?1 AND time_nano >= ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![after, since, limit], |row| {
                let attributes: String = row.get(5)?;
                Ok(Event {
                    seq: row.get(0)?,
                    time_nano: row.get(1)?,
                    kind: row.get(2)?,
                    action: row.get(3)?,
                    actor_id: row.get(4)?,
                    attributes: serde_json::from_str(&attributes).unwrap_or_default(),
                })
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>();
        rows.map_err(db_err)
    }

    fn events_cursor(&self) -> Result<i64, Error> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(db_err)
    }
}
