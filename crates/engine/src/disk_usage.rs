//! `system df`: what images, containers, volumes and the build cache take on disk (Docker's
//! `GET /system/df`). Image sizes are uncompressed layer sizes, each shared layer counted once.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::types::State;
use crate::{Engine, Error};

/// One image in `system df -v`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageUsage {
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Uncompressed size of all its layers.
    pub size: u64,
    /// The part of `size` in layers other images also use.
    pub shared_size: u64,
    /// Containers using the image.
    pub containers: u64,
}

/// One container in `system df -v`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUsage {
    pub id: String,
    pub names: Vec<String>,
    pub image: String,
    pub command: String,
    pub created: i64,
    pub state: String,
    pub status: String,
    /// Bytes in its writable layer.
    pub size_rw: u64,
    /// Volumes it mounts (none until the engine has volumes).
    pub local_volumes: u64,
}

/// One volume in `system df -v`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsage {
    pub name: String,
    pub links: u64,
    pub size: u64,
}

/// The whole answer of `system df`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsage {
    /// Unique layers' uncompressed bytes: what all images take together.
    pub layers_size: u64,
    /// What removing every image no container uses would free: the layers only they hold.
    pub images_reclaimable: u64,
    pub images: Vec<ImageUsage>,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
    /// Images the build cache keeps (intermediate steps) and cache mounts.
    pub build_cache_count: u64,
    /// Uncompressed bytes of the layers only the build cache keeps, and of the cache mounts.
    pub build_cache_size: u64,
}

impl ContainerUsage {
    /// Running, paused or restarting: what Docker counts as ACTIVE (not reclaimable).
    pub fn is_active(&self) -> bool {
        matches!(
            State::parse(&self.state),
            State::Running | State::Paused | State::Restarting
        )
    }
}

impl Engine {
    /// Uncompressed bytes of the layers of build-cache images that no listed image has
    /// (`images`: the listed images' layers).
    fn build_cache_bytes(&self, images: &HashMap<String, u64>) -> Result<u64, Error> {
        let mut only_cache: HashMap<String, u64> = HashMap::new();
        for id in self.db.build_cache_images()? {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let sizes = self.images.layer_sizes(&id)?;
            for (digest, size) in image.layers.into_iter().zip(sizes) {
                if !images.contains_key(&digest) {
                    only_cache.insert(digest, size);
                }
            }
        }
        Ok(only_cache.values().sum())
    }

    /// `berth system df`
    pub fn disk_usage(&self) -> Result<DiskUsage, Error> {
        let containers = self.list_containers(true)?;
        let mut in_use: HashMap<&str, u64> = HashMap::new();
        for c in &containers {
            *in_use.entry(c.image_id.as_str()).or_default() += 1;
        }
        let layer_size = self.layer_sizes_by_digest()?;
        // How many images use each layer, to split shared from unique bytes.
        let mut images = Vec::new();
        let mut users: HashMap<String, u64> = HashMap::new();
        for (id, created) in self.db.images()? {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let unique: HashSet<String> = image.layers.iter().cloned().collect();
            for l in &unique {
                *users.entry(l.clone()).or_default() += 1;
            }
            let created = crate::images::created_unix(&image, Some(&created));
            images.push((image, unique, created));
        }
        let mut out_images = Vec::new();
        let mut kept_layers: HashSet<String> = HashSet::new();
        for (image, unique, created) in images {
            if in_use.contains_key(image.id.as_str()) {
                kept_layers.extend(unique.iter().cloned());
            }
            let size: u64 = unique
                .iter()
                .map(|l| layer_size.get(l).copied().unwrap_or(0))
                .sum();
            let shared_size: u64 = unique
                .iter()
                .filter(|l| users.get(*l).copied().unwrap_or(0) > 1)
                .map(|l| layer_size.get(l).copied().unwrap_or(0))
                .sum();
            out_images.push(ImageUsage {
                repo_tags: self.db.tags_of(&image.id)?,
                containers: in_use.get(image.id.as_str()).copied().unwrap_or(0),
                id: image.id,
                created,
                size,
                shared_size,
            });
        }
        out_images.sort_by_key(|i| std::cmp::Reverse(i.created));
        let out_containers = containers
            .iter()
            .map(|rec| {
                let summary = self.summary(rec);
                ContainerUsage {
                    size_rw: self.container_size(rec).0,
                    id: summary.id,
                    names: summary.names,
                    image: summary.image,
                    command: summary.command,
                    created: summary.created,
                    state: summary.state,
                    status: summary.status,
                    local_volumes: self
                        .container_mounts(&rec.id)
                        .map(|m| m.iter().filter(|m| m.kind == "volume").count() as u64)
                        .unwrap_or(0),
                }
            })
            .collect();
        let layers_size: u64 = layer_size.values().sum();
        let kept: u64 = kept_layers
            .iter()
            .map(|l| layer_size.get(l).copied().unwrap_or(0))
            .sum();
        Ok(DiskUsage {
            layers_size,
            images_reclaimable: layers_size.saturating_sub(kept),
            images: out_images,
            containers: out_containers,
            volumes: self
                .list_volumes()?
                .into_iter()
                .map(|v| {
                    Ok(VolumeUsage {
                        links: self.volume_users(&v.name)?.len() as u64,
                        size: crate::volumes::disk_usage(&self.volume_mountpoint(&v.name)),
                        name: v.name,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?,
            // Docker's Build Cache counts cache mounts (`RUN --mount=type=cache`) too.
            build_cache_count: self.db.build_cache_images()?.len() as u64
                + self.cache_mounts_usage().0,
            build_cache_size: self.build_cache_bytes(&layer_size)? + self.cache_mounts_usage().1,
        })
    }
}
