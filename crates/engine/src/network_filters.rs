//! `network ls --filter` (`GET /networks?filters=`): dockerd's keys and values are checked here,
//! as a refused filter, before the network module's matcher ([`Engine::list_networks`]) runs.

use crate::filters::{FilterError, Filters};
use crate::{Engine, Error};

/// What `network ls --filter` accepts, as dockerd.
pub const LIST_FILTER_KEYS: &[&str] =
    &["dangling", "driver", "id", "label", "name", "scope", "type"];

impl Engine {
    /// `berth network ls` / `GET /networks`: the networks passing `filters` (see
    /// [`LIST_FILTER_KEYS`]), as Docker's inspect documents, sorted by name.
    pub fn list_networks_filtered(
        &self,
        filters: &Filters,
    ) -> Result<Vec<serde_json::Value>, Error> {
        filters.validate(LIST_FILTER_KEYS)?;
        filters.bool("dangling")?;
        if let Some(t) = filters
            .get("type")
            .find(|t| !matches!(*t, "builtin" | "custom"))
        {
            return Err(FilterError::Invalid(format!("invalid filter: 'type'='{t}'")).into());
        }
        self.list_networks(&filters.pairs())
    }
}
