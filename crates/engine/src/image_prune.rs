//! `image prune [-a]`, as Docker does it for the classic builder: without `-a`, the dangling
//! images (untagged, no container); with `-a`, every image no container uses, including the
//! intermediate images of builds (the build cache's). A build running meanwhile keeps its cache.

use crate::images::Removed;
use crate::{Engine, Error};

/// What a prune removed, in Docker's order, and the bytes of store content it freed.
#[derive(Debug, Default)]
pub struct PruneReport {
    pub removed: Vec<Removed>,
    pub reclaimed: u64,
}

impl Engine {
    /// `berth image prune [-a]`
    pub fn prune_images(&self, all: bool) -> Result<PruneReport, Error> {
        self.repair();
        let before = self.store_bytes();
        let mut report = PruneReport::default();
        for (id, _) in self.db.images()? {
            if self.db.image_in_use(&id)?.is_some() {
                continue;
            }
            let tags = self.db.tags_of(&id)?;
            if !all && !tags.is_empty() {
                continue;
            }
            self.db.delete_image(&id)?;
            // The cache must not lead a build back to an image the user removed.
            self.db.build_cache_forget_image(&id)?;
            report
                .removed
                .extend(tags.into_iter().map(Removed::Untagged));
            report.removed.push(Removed::Deleted(id));
        }
        if all && !crate::build::build_running(self) {
            for id in self.db.build_cache_images()? {
                if self.db.image_in_use(&id)?.is_some() {
                    continue;
                }
                self.db.build_cache_forget_image(&id)?;
                if !report
                    .removed
                    .iter()
                    .any(|r| matches!(r, Removed::Deleted(d) if *d == id))
                {
                    report.removed.push(Removed::Deleted(id));
                }
            }
        }
        self.gc_images()?;
        report.reclaimed = before.saturating_sub(self.store_bytes());
        Ok(report)
    }

    /// The bytes of the image store's blobs (what `save`/`push` would carry; layers unpacked
    /// from them are not counted twice).
    fn store_bytes(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::read_dir(self.images.root().join("blobs/sha256"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.size())
                    .sum()
            })
            .unwrap_or(0)
    }
}
