//! Questions asked of a registry without pulling: `docker search` (a registry's catalog),
//! `GET /distribution/{name}/json` (a name's descriptor and platforms) and `docker manifest
//! inspect` (the manifest as the registry serves it). They honour daemon.json's mirrors and
//! insecure registries as pulls do.

pub use berth_registry::search::SearchResult;
use berth_registry::{self as registry, Session};
use serde_json::{Value, json};

use crate::filters::Filters;
use crate::{Engine, Error, reference};

/// `docker search`'s filter keys.
const SEARCH_FILTER_KEYS: &[&str] = &["is-official", "is-automated", "stars"];

/// What `GET /distribution/{name}/json` answers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DistributionInspect {
    #[serde(rename = "Descriptor")]
    pub descriptor: Value,
    #[serde(rename = "Platforms")]
    pub platforms: Vec<Value>,
}

impl Engine {
    /// `docker search TERM`: at most `limit` (1 to 100, 25 when 0) repositories whose name
    /// contains the term, kept by the filters (`is-official`, `is-automated`, `stars=N`).
    pub fn search_images(
        &self,
        term: &str,
        limit: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchResult>, Error> {
        filters.validate(SEARCH_FILTER_KEYS)?;
        let limit = if limit == 0 { 25 } else { limit };
        if limit > 100 {
            return Err(Error::InvalidArgument(format!(
                "Limit {limit} is outside the range of [1, 100]"
            )));
        }
        let official = filters.bool("is-official")?;
        let automated = filters.bool("is-automated")?;
        let stars = match filters.get("stars").next() {
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| Error::InvalidArgument(format!("invalid filter 'stars={v}'")))?,
            ),
            None => None,
        };
        let config = self.daemon_config()?;
        let found = registry::search::search(&config.registry, term, 100)?;
        Ok(found
            .into_iter()
            .filter(|r| official.is_none_or(|o| r.is_official == o))
            .filter(|r| automated.is_none_or(|a| r.is_automated == a))
            .filter(|r| stars.is_none_or(|s| r.star_count >= s))
            .take(limit)
            .collect())
    }

    /// A session on `name`'s repository (mirrors first for docker.io) and the tag or digest
    /// it names.
    fn query_session(
        &self,
        name: &str,
        credentials: Option<(String, String)>,
    ) -> Result<(Session, String), Error> {
        let normalized = reference::normalize(name)?;
        let parsed = registry::parse_reference(&normalized)?;
        let config = self.daemon_config()?;
        let session = Session::open_for_pull(&parsed, credentials, &config.registry)?;
        let tag_or_digest = parsed
            .digest()
            .or(parsed.tag())
            .unwrap_or("latest")
            .to_string();
        Ok((session, tag_or_digest))
    }

    /// `GET /distribution/{name}/json`: the descriptor of what `name` points at in its
    /// registry (a manifest list's own, for a multi-platform image) and the platforms it
    /// offers (a single manifest's from its config).
    pub fn distribution_inspect(
        &self,
        name: &str,
        credentials: Option<(String, String)>,
    ) -> Result<DistributionInspect, Error> {
        let (session, tag_or_digest) = self.query_session(name, credentials)?;
        let (bytes, digest, media_type) = session.top_manifest(&tag_or_digest)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::json("the registry's manifest", e))?;
        let platforms = match value["manifests"].as_array() {
            Some(entries) => entries
                .iter()
                .filter_map(|e| e.get("platform").cloned())
                .collect(),
            None => {
                let config_digest = value["config"]["digest"].as_str().unwrap_or_default();
                let config: Value = serde_json::from_slice(&session.small_blob(config_digest)?)
                    .map_err(|e| Error::json("the image's config", e))?;
                let mut platform = json!({
                    "architecture": config["architecture"].as_str().unwrap_or_default(),
                    "os": config["os"].as_str().unwrap_or_default(),
                });
                if let Some(variant) = config["variant"].as_str() {
                    platform["variant"] = variant.into();
                }
                vec![platform]
            }
        };
        Ok(DistributionInspect {
            descriptor: json!({"mediaType": media_type, "digest": digest, "size": bytes.len()}),
            platforms,
        })
    }

    /// `docker manifest inspect NAME`: the manifest (or manifest list) as the registry serves
    /// it, byte for byte.
    pub fn manifest_inspect(&self, name: &str) -> Result<Vec<u8>, Error> {
        let (session, tag_or_digest) = self.query_session(name, None)?;
        Ok(session.top_manifest(&tag_or_digest)?.0)
    }
}
