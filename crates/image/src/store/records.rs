//! Image records under `images/<config hex>`: registering an image by its manifest, loading an
//! image, and the uncompressed layer sizes a record keeps.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::compression::decompressed;
use super::{Image, Store, list};
use crate::config::*;
use crate::digest::hex_of;
use crate::error::IoContext;
use crate::{Error, ImageConfig};

/// images/<hex>: what the config digest alone does not tell.
#[derive(Serialize, Deserialize)]
struct ImageRecord {
    manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// Uncompressed size of each layer (lowest first), when known: `history` and `system df`
    /// report uncompressed sizes, which a compressed layer's descriptor does not give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layer_sizes: Option<Vec<u64>>,
}

impl Store {
    fn record_path(&self, id: &str) -> Result<PathBuf, Error> {
        Ok(self.root.join("images").join(hex_of(id)?))
    }

    pub(super) fn write_record(
        &self,
        id: &str,
        manifest: &str,
        size: Option<u64>,
    ) -> Result<(), Error> {
        self.write_record_sized(id, manifest, size, None)
    }

    fn write_record_sized(
        &self,
        id: &str,
        manifest: &str,
        size: Option<u64>,
        layer_sizes: Option<Vec<u64>>,
    ) -> Result<(), Error> {
        let rec = ImageRecord {
            manifest: manifest.to_string(),
            size,
            layer_sizes,
        };
        let data = serde_json::to_vec(&rec).expect("record serializes");
        self.write_file_atomic(&self.record_path(id)?, &data)
    }

    /// Registers an image whose manifest blob (and the blobs it references) are already stored,
    /// e.g. by a registry pull. Returns the image id (the manifest's config digest).
    pub fn add_manifest(&self, manifest_digest: &str) -> Result<String, Error> {
        self.add_manifest_sized(manifest_digest, None)
    }

    /// [`Store::add_manifest`], recording each layer's uncompressed size when the caller
    /// measured it (a pull decompresses while downloading).
    pub fn add_manifest_sized(
        &self,
        manifest_digest: &str,
        layer_sizes: Option<Vec<u64>>,
    ) -> Result<String, Error> {
        let data = self.read_blob(manifest_digest, manifest_digest)?;
        let m: Manifest = serde_json::from_slice(&data).map_err(|e| Error::Json {
            what: "manifest",
            path: self.blob_path(manifest_digest).unwrap_or_default(),
            source: e,
        })?;
        let id = format!("sha256:{}", hex_of(&m.config.digest)?);
        self.read_blob(&id, &id)?;
        for l in &m.layers {
            let p = self.blob_path(&l.digest)?;
            if !p.exists() {
                return Err(Error::BlobMissing {
                    digest: l.digest.clone(),
                    image: id.clone(),
                    path: p,
                });
            }
        }
        let uncompressed = m
            .layers
            .iter()
            .all(|l| l.media_type == MEDIA_LAYER_TAR || l.media_type == MEDIA_DOCKER_LAYER_TAR);
        let layer_sizes = layer_sizes.filter(|s| s.len() == m.layers.len());
        let size = match &layer_sizes {
            Some(sizes) => Some(sizes.iter().sum()),
            None => uncompressed.then(|| m.layers.iter().map(|l| l.size).sum()),
        };
        let layer_sizes =
            layer_sizes.or_else(|| uncompressed.then(|| m.layers.iter().map(|l| l.size).collect()));
        self.write_record_sized(&id, manifest_digest, size, layer_sizes)?;
        Ok(id)
    }

    /// Loads an image by id ("sha256:<hex>" or bare 64 hex).
    pub fn image(&self, id: &str) -> Result<Image, Error> {
        let hex = hex_of(id)?;
        let id = format!("sha256:{hex}");
        let rec_path = self.record_path(&id)?;
        let rec_data = match fs::read(&rec_path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::ImageNotFound(id)),
            Err(e) => return Err(Error::io("read image record", rec_path, e)),
        };
        let rec: ImageRecord = serde_json::from_slice(&rec_data).map_err(|e| Error::Json {
            what: "image record",
            path: rec_path.clone(),
            source: e,
        })?;
        let mdata = self.read_blob(&rec.manifest, &id)?;
        let manifest: Manifest = serde_json::from_slice(&mdata).map_err(|e| Error::Json {
            what: "manifest",
            path: self.blob_path(&rec.manifest).unwrap_or_default(),
            source: e,
        })?;
        if manifest.config.digest != id {
            return Err(Error::BadImage {
                image: id,
                reason: format!(
                    "manifest {} references config {}",
                    rec.manifest, manifest.config.digest
                ),
            });
        }
        let cdata = self.read_blob(&id, &id)?;
        let config: ImageConfig = serde_json::from_slice(&cdata).map_err(|e| Error::Json {
            what: "image config",
            path: self.blob_path(&id).unwrap_or_default(),
            source: e,
        })?;
        let size = rec
            .size
            .unwrap_or_else(|| manifest.layers.iter().map(|l| l.size).sum());
        Ok(Image {
            id,
            config,
            manifest_digest: rec.manifest,
            size,
            layers: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
        })
    }

    pub(super) fn media_type_of(&self, id: &str) -> Result<Vec<String>, Error> {
        let img = self.image(id)?;
        let m: Manifest = serde_json::from_slice(&self.read_blob(&img.manifest_digest, id)?)
            .map_err(|e| Error::Json {
                what: "manifest",
                path: self.blob_path(&img.manifest_digest).unwrap_or_default(),
                source: e,
            })?;
        Ok(m.layers.into_iter().map(|l| l.media_type).collect())
    }

    /// The uncompressed size of a stored layer blob: from the record of an image that has it
    /// when one knows, else measured by decompressing it.
    pub fn layer_blob_size(&self, digest: &str) -> Result<u64, Error> {
        for name in list(&self.root.join("images"))? {
            let Ok(data) = fs::read(self.root.join("images").join(&name)) else {
                continue;
            };
            let Ok(rec) = serde_json::from_slice::<ImageRecord>(&data) else {
                continue;
            };
            let Some(sizes) = rec.layer_sizes else {
                continue;
            };
            let Ok(mdata) = fs::read(self.blob_path(&rec.manifest)?) else {
                continue;
            };
            let Ok(m) = serde_json::from_slice::<Manifest>(&mdata) else {
                continue;
            };
            if let Some(size) = m
                .layers
                .iter()
                .position(|l| l.digest == digest)
                .and_then(|i| sizes.get(i))
            {
                return Ok(*size);
            }
        }
        let path = self.blob_path(digest)?;
        let f = File::open(&path).ctx("open blob", &path)?;
        let mut input = decompressed(io::BufReader::with_capacity(256 * 1024, f))?
            .unwrap_or_else(|| Box::new(io::empty()));
        io::copy(&mut input, &mut io::sink()).map_err(Error::InvalidTar)
    }

    /// The uncompressed size of each of an image's layers, lowest first. Known from the image
    /// record for imported and pulled images; for older records of compressed layers it is
    /// measured once by decompressing the blobs and then kept in the record.
    pub fn layer_sizes(&self, id: &str) -> Result<Vec<u64>, Error> {
        let img = self.image(id)?;
        let rec_path = self.record_path(&img.id)?;
        let rec: ImageRecord = fs::read(&rec_path)
            .ctx("read image record", &rec_path)
            .and_then(|d| {
                serde_json::from_slice(&d).map_err(|e| Error::Json {
                    what: "image record",
                    path: rec_path.clone(),
                    source: e,
                })
            })?;
        if let Some(sizes) = rec.layer_sizes.filter(|s| s.len() == img.layers.len()) {
            return Ok(sizes);
        }
        let mut sizes = Vec::with_capacity(img.layers.len());
        for layer in &img.layers {
            let path = self.blob_path(layer)?;
            let f = File::open(&path).ctx("open blob", &path)?;
            let mut input = decompressed(io::BufReader::with_capacity(256 * 1024, f))?
                .unwrap_or_else(|| Box::new(io::empty()));
            sizes.push(io::copy(&mut input, &mut io::sink()).map_err(Error::InvalidTar)?);
        }
        self.write_record_sized(
            &img.id,
            &rec.manifest,
            Some(sizes.iter().sum()),
            Some(sizes.clone()),
        )?;
        Ok(sizes)
    }
}
