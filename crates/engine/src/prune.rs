//! `container prune`, `image prune`, `system prune`: remove what nothing uses and say how many
//! bytes that freed (Docker's `POST /containers/prune`, `/images/prune`, and the CLI's
//! `system prune`, which calls them in turn).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::filters::{FilterError, Filters};
use crate::images::Removed;
use crate::prune_filters::{self, PruneFilters};
use crate::types::State;
use crate::{Engine, Error};

/// What `container prune` removed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainersPruned {
    pub containers_deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// What `image prune` removed, in Docker's order: each image's untagged names, then its id.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesPruned {
    pub images_deleted: Vec<Removed>,
    pub space_reclaimed: u64,
}

/// What `system prune` removed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemPruned {
    pub containers: ContainersPruned,
    pub images: ImagesPruned,
    /// Filled once the engine has networks: network prune plugs in at the marked place in
    /// [`Engine::prune_system`].
    pub networks_deleted: Vec<String>,
    pub volumes_deleted: Vec<String>,
    /// Build cache entries dropped.
    pub build_cache_deleted: usize,
    pub space_reclaimed: u64,
}

#[derive(Debug, Clone, Default)]
pub struct SystemPruneOptions {
    /// Remove every unused image, not only dangling ones.
    pub all_images: bool,
    /// Also prune volumes (anonymous ones, as Docker 23+).
    pub volumes: bool,
    /// `label`, `label!` and `until`, as `container prune` takes them.
    pub filters: Filters,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unix(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

impl Engine {
    /// `berth container prune`: removes every stopped container the filters (`label`,
    /// `label!`, `until`) match.
    pub fn prune_containers(&self, filters: &Filters) -> Result<ContainersPruned, Error> {
        let filters = PruneFilters::new(filters, prune_filters::CONTAINER_KEYS, now())?;
        let mut out = ContainersPruned::default();
        for rec in self.list_containers(true)? {
            if matches!(
                rec.state,
                State::Running | State::Paused | State::Restarting
            ) {
                continue;
            }
            let labels = rec.config.config.labels.clone().unwrap_or_default();
            if !filters.matches(unix(&rec.created), &labels) {
                continue;
            }
            let (rw, _) = self.container_size(&rec);
            match self.remove_container(&rec.id, false) {
                Ok(()) => {
                    out.space_reclaimed += rw;
                    out.containers_deleted.push(rec.id);
                }
                // Started or removed by someone else meanwhile: not ours to prune any more.
                Err(Error::Conflict(_)) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `berth image prune [-a]`: removes dangling (untagged) images, or with `all` (or a
    /// `dangling=false` filter) every image no container uses, among those the filters
    /// (`dangling`, `label`, `label!`, `until`) match. Space reclaimed is the uncompressed size
    /// of the layers no remaining image shares.
    pub fn prune_images(&self, all: bool, filters: &Filters) -> Result<ImagesPruned, Error> {
        let filters = PruneFilters::new(filters, prune_filters::IMAGE_KEYS, now())?;
        let all = all || filters.dangling == Some(false);
        let before = self.unique_layer_bytes()?;
        let mut out = ImagesPruned::default();
        for (id, created) in self.db.images()? {
            let tags = self.db.tags_of(&id)?;
            if !all && !tags.is_empty() {
                continue;
            }
            if self.db.image_in_use(&id)?.is_some() {
                continue;
            }
            let (created, labels) = match self.images.image(&id) {
                Ok(img) => (
                    img.config
                        .created
                        .as_deref()
                        .map(unix)
                        .unwrap_or_else(|| unix(&created)),
                    img.config.config.labels.clone().unwrap_or_default(),
                ),
                // A record whose content is gone: nothing to filter on, and worth removing.
                Err(_) => (unix(&created), BTreeMap::new()),
            };
            if !filters.matches(created, &labels) {
                continue;
            }
            self.db.delete_image(&id)?;
            // The cache must not lead a build back to an image the user removed.
            self.db.build_cache_forget_image(&id)?;
            out.images_deleted
                .extend(tags.into_iter().map(Removed::Untagged));
            out.images_deleted.push(Removed::Deleted(id));
        }
        // `-a` also takes the build cache's intermediate images, as Docker's classic builder;
        // a build running meanwhile keeps its cache.
        if all && !crate::build::build_running(self) {
            for id in self.db.build_cache_images()? {
                if self.db.image_in_use(&id)?.is_some() {
                    continue;
                }
                self.db.build_cache_forget_image(&id)?;
                if !out
                    .images_deleted
                    .iter()
                    .any(|r| matches!(r, Removed::Deleted(d) if *d == id))
                {
                    out.images_deleted.push(Removed::Deleted(id));
                }
            }
        }
        if !out.images_deleted.is_empty() {
            self.gc_images()?;
        }
        out.space_reclaimed = before.saturating_sub(self.unique_layer_bytes()?);
        Ok(out)
    }

    /// `berth network prune`: the unused user-defined networks the filters (`label`, `label!`,
    /// `until`) match; returns their names.
    pub fn prune_networks_matching(&self, filters: &Filters) -> Result<Vec<String>, Error> {
        let filters = PruneFilters::new(filters, prune_filters::NETWORK_KEYS, now())?;
        self.prune_networks_filtered(&filters)
    }

    /// `berth system prune`: stopped containers, then networks and (with `volumes`) volumes,
    /// then images (dangling, or every unused one with `all_images`). The filters are checked
    /// before anything goes.
    pub fn prune_system(&self, options: &SystemPruneOptions) -> Result<SystemPruned, Error> {
        let f = &options.filters;
        PruneFilters::new(f, prune_filters::CONTAINER_KEYS, now())?;
        if options.volumes && f.contains("until") {
            // The docker CLI's own check: volume prune has no `until`.
            return Err(FilterError::Invalid(
                "The \"until\" filter is not supported with \"--volumes\"".into(),
            )
            .into());
        }
        let mut out = SystemPruned {
            containers: self.prune_containers(f)?,
            ..Default::default()
        };
        // Networks: when the engine has user networks, prune the unused ones here.
        let mut volumes_reclaimed = 0;
        if options.volumes {
            // Anonymous volumes only, as Docker 23+, with the label filters.
            let (names, bytes) = self.prune_volumes(false, &f.only(&["label", "label!"]))?;
            out.volumes_deleted = names;
            volumes_reclaimed = bytes;
        }
        // The build cache (its intermediate images go with it), then images, as Docker; layer
        // bytes are counted once across both, the cache's included.
        let layers_before = self.unique_layer_bytes_with_cache()?;
        // The cache first: `prune_images -a` would otherwise take its images as plain ones.
        out.build_cache_deleted = self.prune_build_cache()?;
        out.images = self.prune_images(options.all_images, f)?;
        let layers_reclaimed = layers_before.saturating_sub(self.unique_layer_bytes_with_cache()?);
        out.space_reclaimed = out.containers.space_reclaimed + volumes_reclaimed + layers_reclaimed;
        Ok(out)
    }

    /// [`Engine::unique_layer_bytes`] plus the layers only the build cache keeps.
    fn unique_layer_bytes_with_cache(&self) -> Result<u64, Error> {
        let images = self.layer_sizes_by_digest()?;
        let mut total: u64 = images.values().sum();
        let mut seen = std::collections::HashSet::new();
        for id in self.db.build_cache_images()? {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let sizes = self.images.layer_sizes(&id)?;
            for (digest, size) in image.layers.into_iter().zip(sizes) {
                if !images.contains_key(&digest) && seen.insert(digest) {
                    total += size;
                }
            }
        }
        Ok(total)
    }

    /// Uncompressed bytes of every layer in the store, each counted once (by blob digest).
    pub(crate) fn unique_layer_bytes(&self) -> Result<u64, Error> {
        Ok(self.layer_sizes_by_digest()?.values().sum())
    }

    /// Every stored image's layers: blob digest -> uncompressed size.
    pub(crate) fn layer_sizes_by_digest(&self) -> Result<HashMap<String, u64>, Error> {
        let mut layers = HashMap::new();
        for (id, _) in self.db.images()? {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let sizes = self.images.layer_sizes(&id)?;
            for (digest, size) in image.layers.into_iter().zip(sizes) {
                layers.insert(digest, size);
            }
        }
        Ok(layers)
    }
}
