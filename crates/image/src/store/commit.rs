//! Images built layer by layer (the Dockerfile builder and `docker commit`): a layer from an
//! overlay upper directory, and an image from a config and its layers' descriptors.

use std::io::BufWriter;
use std::path::Path;

use super::Store;
use super::compression::HashingWriter;
use super::lock::lock;
use crate::config::*;
use crate::error::IoContext;
use crate::{Error, ImageConfig};

/// Building images layer by layer (the Dockerfile builder's needs).
impl Store {
    /// Stores the diff recorded in an overlay upper directory as a gzip-compressed layer blob.
    /// Returns the layer's descriptor and its diff_id (the digest of the uncompressed tar).
    pub fn add_layer_from_upper(&self, upper: &Path) -> Result<(Descriptor, String), Error> {
        self.add_layer_from_upper_leaving_out(upper, &[])
    }

    /// [`Store::add_layer_from_upper`] without the container paths in `left_out` (see
    /// [`crate::diff::write_diff_leaving_out`]).
    pub fn add_layer_from_upper_leaving_out(
        &self,
        upper: &Path,
        left_out: &[String],
    ) -> Result<(Descriptor, String), Error> {
        use sha2::Digest;
        let _lock = lock(&self.root.join("gc.lock"), false)?;
        let (file, mut guard, tmp) = self.create_tmp_file()?;
        let compressed = HashingWriter {
            inner: BufWriter::with_capacity(256 * 1024, file),
            hasher: sha2::Sha256::default(),
            size: 0,
        };
        // Fast compression: a build's layers are written once per step, on the build's clock.
        let mut uncompressed = HashingWriter {
            inner: flate2::write::GzEncoder::new(compressed, flate2::Compression::fast()),
            hasher: sha2::Sha256::default(),
            size: 0,
        };
        crate::diff::write_diff_leaving_out(upper, left_out, &mut uncompressed)
            .ctx("write layer diff of", upper)?;
        let diff_id = format!("sha256:{}", hex::encode(uncompressed.hasher.finalize()));
        let compressed = uncompressed
            .inner
            .finish()
            .ctx("compress layer diff of", upper)?;
        let digest = format!("sha256:{}", hex::encode(compressed.hasher.finalize()));
        let size = compressed.size;
        let file = compressed
            .inner
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        let dest = self.blob_path(&digest)?;
        if !dest.exists() {
            self.commit(file, &tmp, &mut guard, &dest)?;
        }
        let descriptor = Descriptor {
            media_type: MEDIA_LAYER_GZIP.into(),
            digest,
            size,
            extra: Default::default(),
        };
        Ok((descriptor, diff_id))
    }

    /// Registers an image from its config and its layers' descriptors (already stored, lowest
    /// first). `config.rootfs.diff_ids` must list the layers' uncompressed digests. Returns the id.
    pub fn commit_image(
        &self,
        config: &ImageConfig,
        layers: Vec<Descriptor>,
    ) -> Result<String, Error> {
        let _lock = lock(&self.root.join("gc.lock"), false)?;
        for l in &layers {
            if !self.blob_path(&l.digest)?.exists() {
                return Err(Error::BlobMissing {
                    digest: l.digest.clone(),
                    image: "(new image)".into(),
                    path: self.blob_path(&l.digest)?,
                });
            }
        }
        let config_json = serde_json::to_vec(config).map_err(|e| Error::Json {
            what: "image config",
            path: self.root.clone(),
            source: e,
        })?;
        let id = self.put_blob(&config_json)?;
        let size = layers.iter().map(|l| l.size).sum();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_MANIFEST_OCI.into()),
            config: Descriptor {
                media_type: MEDIA_CONFIG_OCI.into(),
                digest: id.clone(),
                size: config_json.len() as u64,
                extra: Default::default(),
            },
            layers,
            extra: Default::default(),
        };
        let manifest_json = serde_json::to_vec(&manifest).map_err(|e| Error::Json {
            what: "manifest",
            path: self.root.clone(),
            source: e,
        })?;
        let manifest_digest = self.put_blob(&manifest_json)?;
        self.write_record(&id, &manifest_digest, Some(size))?;
        Ok(id)
    }

    /// `docker commit`: a new image of `parent`'s layers plus the diff in `upper` (without
    /// `left_out`), with `config` (whose diff_ids get the new layer). Returns the image id. The
    /// gc lock is held throughout, so a concurrent gc cannot take the new layer before the
    /// image that refers to it exists.
    pub fn commit_upper(
        &self,
        parent: &str,
        upper: &Path,
        left_out: &[String],
        mut config: ImageConfig,
    ) -> Result<String, Error> {
        let _lock = lock(&self.root.join("gc.lock"), false)?;
        let mut layers = self.layer_descriptors(parent)?;
        let (layer, diff_id) = self.add_layer_from_upper_leaving_out(upper, left_out)?;
        layers.push(layer);
        config.rootfs.diff_ids.push(diff_id);
        self.commit_image(&config, layers)
    }

    /// The descriptors of an image's layers, as its manifest lists them.
    pub fn layer_descriptors(&self, id: &str) -> Result<Vec<Descriptor>, Error> {
        let img = self.image(id)?;
        let m: Manifest = serde_json::from_slice(&self.read_blob(&img.manifest_digest, id)?)
            .map_err(|e| Error::Json {
                what: "manifest",
                path: self.blob_path(&img.manifest_digest).unwrap_or_default(),
                source: e,
            })?;
        Ok(m.layers)
    }
}
