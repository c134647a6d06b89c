//! The on-disk store: `blobs/sha256/<hex>` (OCI layout), `images/<config hex>` (one small record per
//! image: its manifest digest and uncompressed size), `layers/<chain id hex>/` (unpacked layers),
//! `tmp/` (everything is written here first, then fsync'd and renamed into place).
//!
//! Locking: `import` and `layer_dirs` hold a shared flock on `gc.lock`, `gc` an exclusive one, so gc
//! never deletes the blobs of an import that is still being written, even from another process.
//!
//! This file owns the [`Store`] handle, its paths and the [`Image`] it loads; the rest is one
//! concern a file: `atomic` (tmp/ writes made durable), `lock` (the gc flock), `compression`
//! (detecting and undoing a layer's compression), `blobs`, `records` (images/ and what they
//! tell), `import`, `layers` (unpacking under layers/), `variants` (gzip'd copies for a push),
//! `commit` (images built layer by layer) and `gc`.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::digest::hex_of;
use crate::error::IoContext;
use crate::{Error, ImageConfig};

mod atomic;
mod blobs;
mod commit;
mod compression;
mod gc;
mod import;
mod layers;
mod lock;
mod records;
mod variants;

pub(crate) use lock::shared_gc_lock;

/// Name of the directory returned for images without layers.
const EMPTY_LAYER_DIR: &str = "empty";

/// A loaded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// "sha256:<hex>" of the config blob.
    pub id: String,
    pub config: ImageConfig,
    pub manifest_digest: String,
    /// Sum of the uncompressed layer (tar) sizes in bytes.
    pub size: u64,
    /// Layer blob digests, lowest first.
    pub layers: Vec<String>,
}

/// The content-addressed image store rooted at one directory.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, Error> {
        let root = root.into();
        for sub in ["blobs/sha256", "layers", "tmp", "images", "variants"] {
            let p = root.join(sub);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&p)
                .ctx("create store directory", &p)?;
        }
        let store = Store { root };
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            store.write_file_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a blob by digest (whether or not it exists).
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, Error> {
        Ok(self.root.join("blobs/sha256").join(hex_of(digest)?))
    }
}

fn list(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).ctx("list", dir)? {
        let e = e.ctx("list", dir)?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}
