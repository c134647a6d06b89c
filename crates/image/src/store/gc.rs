//! Garbage collection: deleting what no kept image reaches (`gc`), and undoing a failed pull's
//! blobs and layers (`discard`), under the exclusive gc lock.

use std::fs;
use std::io;
use std::time::{Duration, SystemTime};

use super::atomic::TmpGuard;
use super::lock::lock;
use super::{EMPTY_LAYER_DIR, Store, list};
use crate::Error;
use crate::digest::{chain_ids, hex_of};
use crate::error::IoContext;

/// tmp/ entries older than this are leftovers of killed processes; gc removes them.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

impl Store {
    /// Undoes what a failed pull stored: removes the given blobs and unpacked layers (by chain
    /// id) unless an image in `keep` refers to them, under the exclusive gc lock.
    pub fn discard(
        &self,
        blobs: &[String],
        chain_ids: &[String],
        keep: &[String],
    ) -> Result<(), Error> {
        let _lock = lock(&self.root.join("gc.lock"), true)?;
        let mut used_blobs = std::collections::HashSet::new();
        let mut used_layers = std::collections::HashSet::new();
        for id in keep {
            let Ok(img) = self.image(id) else { continue };
            used_blobs.insert(img.id.clone());
            used_blobs.extend(img.layers.iter().cloned());
            used_layers.extend(chain_ids_of(&img.config.rootfs.diff_ids));
        }
        for blob in blobs.iter().filter(|b| !used_blobs.contains(*b)) {
            let p = self.blob_path(blob)?;
            match fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(Error::io("remove blob", p, e));
                }
                _ => {}
            }
        }
        for chain in chain_ids.iter().filter(|c| !used_layers.contains(*c)) {
            let p = self.root.join("layers").join(hex_of(chain)?);
            if p.is_dir() {
                let t = self.tmp_path("gc");
                fs::rename(&p, &t).ctx("move unused layer out of", &p)?;
                fs::remove_dir_all(&t).ctx("remove unused layer", &t)?;
            }
        }
        Ok(())
    }

    /// Deletes every blob, image record and unpacked layer not reachable from `keep`.
    pub fn gc(&self, keep: &[String]) -> Result<(), Error> {
        let _lock = lock(&self.root.join("gc.lock"), true)?;
        let mut blobs = std::collections::HashSet::new();
        let mut layers = std::collections::HashSet::new();
        let mut records = std::collections::HashSet::new();
        let mut variants = std::collections::HashSet::new();
        layers.insert(EMPTY_LAYER_DIR.to_string());
        for id in keep {
            let img = match self.image(id) {
                Ok(img) => img,
                Err(Error::ImageNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            records.insert(hex_of(&img.id)?.to_string());
            blobs.insert(hex_of(&img.id)?.to_string());
            blobs.insert(hex_of(&img.manifest_digest)?.to_string());
            for l in &img.layers {
                blobs.insert(hex_of(l)?.to_string());
                if let Some((variant, _)) = self.variant_record(l) {
                    variants.insert(hex_of(l)?.to_string());
                    blobs.insert(hex_of(&variant)?.to_string());
                }
            }
            for c in chain_ids(&img.config.rootfs.diff_ids) {
                layers.insert(hex_of(&c)?.to_string());
            }
        }
        // Records first: an interrupted gc never leaves a record pointing at deleted blobs.
        let variant_dir = self.root.join("variants");
        for name in list(&variant_dir)? {
            if !variants.contains(&name) {
                let p = variant_dir.join(&name);
                fs::remove_file(&p).ctx("remove variant record", &p)?;
            }
        }
        let rec_dir = self.root.join("images");
        for name in list(&rec_dir)? {
            if !records.contains(&name) {
                let p = rec_dir.join(&name);
                fs::remove_file(&p).ctx("remove image record", &p)?;
            }
        }
        let blob_dir = self.root.join("blobs/sha256");
        for name in list(&blob_dir)? {
            if !blobs.contains(&name) {
                let p = blob_dir.join(&name);
                fs::remove_file(&p).ctx("remove blob", &p)?;
            }
        }
        let layer_dir = self.root.join("layers");
        for name in list(&layer_dir)? {
            if !layers.contains(&name) {
                // Rename out first so a half-deleted layer is never visible under layers/.
                let p = layer_dir.join(&name);
                let t = self.tmp_path("gc");
                fs::rename(&p, &t).ctx("move unused layer out of", &p)?;
                fs::remove_dir_all(&t).ctx("remove unused layer", &t)?;
            }
        }
        let tmp_dir = self.root.join("tmp");
        let now = SystemTime::now();
        for name in list(&tmp_dir)? {
            let p = tmp_dir.join(&name);
            let old = fs::symlink_metadata(&p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > TMP_MAX_AGE);
            if old || name.starts_with("gc-") {
                let _ = TmpGuard::new(p);
            }
        }
        Ok(())
    }
}

fn chain_ids_of(diff_ids: &[String]) -> Vec<String> {
    chain_ids(diff_ids)
}
