//! The `images`, `tags`, `build_cache` and `blob_sources` tables.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db_err, immediate};
use crate::error::Error;
use crate::store::ImageStore;

impl ImageStore for SqliteStore {
    fn add_image(&self, id: &str, created: &str, names: &[String]) -> Result<(), Error> {
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

    fn remove_tag(&self, name: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM tags WHERE name = ?1", [name])
            .map_err(db_err)?;
        Ok(())
    }

    fn tag(&self, name: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err)
    }

    fn images(&self) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, created FROM images ORDER BY created DESC")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn tags_of(&self, image_id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM tags WHERE image_id = ?1 ORDER BY name")
            .map_err(db_err)?;
        let rows = stmt.query_map([image_id], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn delete_image(&self, id: &str) -> Result<(), Error> {
        let tx = self.conn.unchecked_transaction().map_err(db_err)?;
        tx.execute("DELETE FROM tags WHERE image_id = ?1", [id])
            .map_err(db_err)?;
        tx.execute("DELETE FROM images WHERE id = ?1", [id])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    fn image_in_use(&self, image_id: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row(
                "SELECT id FROM containers WHERE image_id = ?1 LIMIT 1",
                [image_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    fn build_cache_get(&self, key: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row(
                "SELECT image_id FROM build_cache WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
    }

    fn build_cache_put(&self, key: &str, image_id: &str, created: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?1, ?2, ?3)",
                params![key, image_id, created],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn build_cache_forget(&self, key: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM build_cache WHERE key = ?1", [key])
            .map_err(db_err)?;
        Ok(())
    }

    fn build_cache_images(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT image_id FROM build_cache")
            .map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn build_cache_forget_image(&self, image_id: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM build_cache WHERE image_id = ?1", [image_id])
            .map_err(db_err)?;
        Ok(())
    }

    fn build_cache_clear(&self) -> Result<usize, Error> {
        self.conn
            .execute("DELETE FROM build_cache", [])
            .map_err(db_err)
    }

    fn add_blob_source(&self, digest: &str, registry: &str, repository: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO blob_sources (digest, registry, repository) VALUES (?1, ?2, ?3)",
                params![digest, registry, repository],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn blob_sources_in(&self, registry: &str) -> Result<Vec<(String, String)>, Error> {
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
