//! `history`: an image's build steps from its config's history, newest first, each with the
//! uncompressed size of the layer it made (Docker's `GET /images/{name}/history`).

use serde::Serialize;

use crate::{Engine, Error};

/// One row of `berth history`, shaped like Docker's API answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    /// The image id for the top entry; `<missing>` for the steps below it (their intermediate
    /// images are not in the store, as with any pulled image in Docker).
    pub id: String,
    /// Unix seconds; 0 when the config does not say.
    pub created: i64,
    pub created_by: String,
    /// The repository tags of the image, on the top entry only.
    pub tags: Option<Vec<String>>,
    /// Uncompressed bytes of the step's layer; 0 for `empty_layer` steps.
    pub size: u64,
    pub comment: String,
}

impl Engine {
    /// `berth history IMAGE`
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>, Error> {
        let id = self.resolve_image(name)?;
        let image = self.images.image(&id)?;
        let sizes = self.images.layer_sizes(&id)?;
        let mut layer_sizes = sizes.iter().copied();
        let mut rows: Vec<HistoryEntry> = image
            .config
            .history
            .iter()
            .map(|h| HistoryEntry {
                id: "<missing>".into(),
                created: h
                    .created
                    .as_deref()
                    .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                    .map(|t| t.timestamp())
                    .unwrap_or(0),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: None,
                size: if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                },
                comment: h.comment.clone().unwrap_or_default(),
            })
            .collect();
        rows.reverse();
        if let Some(top) = rows.first_mut() {
            top.id = id.clone();
            top.tags = Some(self.db.tags_of(&id)?);
        }
        Ok(rows)
    }
}
