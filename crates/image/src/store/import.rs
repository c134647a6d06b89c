//! `docker import`: a rootfs tarball (plain or gzip'd), checked entry by entry, stored as a
//! one-layer image.

use std::io::{self, BufWriter, Read};

use super::Store;
use super::compression::{decompressed, tee_error};
use super::lock::lock;
use crate::config::*;
use crate::digest::TeeReader;
use crate::{Error, ImageConfig, unpack};

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

impl Store {
    /// Imports a rootfs tarball (plain tar or gzip) as a one-layer image; returns its id.
    pub fn import(&self, tar: impl Read, config: ImageConfig) -> Result<String, Error> {
        let _lock = lock(&self.root.join("gc.lock"), false)?;
        let Some(input) = decompressed(tar)? else {
            return Err(Error::EmptyInput);
        };

        // One pass: decompress -> (hash + copy to tmp) -> tar parser that validates every entry.
        let (file, mut guard, tmp) = self.create_tmp_file()?;
        let mut tee = TeeReader::new(input, BufWriter::with_capacity(256 * 1024, file));
        {
            let mut archive = tar::Archive::new(&mut tee);
            let entries = archive.entries().map_err(|e| tee_error(e, &tmp))?;
            for entry in entries {
                let entry = entry.map_err(|e| tee_error(e, &tmp))?;
                validate_entry(&entry)?;
            }
        }
        // Whatever follows the end-of-archive blocks is part of the layer blob too.
        io::copy(&mut tee, &mut io::sink()).map_err(|e| tee_error(e, &tmp))?;
        let (diff_id, size, writer) = tee.finish();
        if size == 0 {
            return Err(Error::EmptyInput);
        }
        let file = writer
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        let layer_path = self.blob_path(&diff_id)?;
        if layer_path.exists() {
            drop(file); // same content already stored; the guard removes our copy
        } else {
            self.commit(file, &tmp, &mut guard, &layer_path)?;
        }

        let mut config = config;
        if config.architecture.is_empty() {
            config.architecture = host_arch().to_string();
        }
        if config.os.is_empty() {
            config.os = "linux".into();
        }
        let created = config.created.clone().unwrap_or_else(now_rfc3339);
        config.created = Some(created.clone());
        if config.rootfs.kind.is_empty() {
            config.rootfs.kind = "layers".into();
        }
        config.rootfs.diff_ids = vec![diff_id.clone()];
        if config.history.is_empty() {
            config.history.push(History {
                created: Some(created),
                comment: Some("Imported from tarball".into()),
                ..Default::default()
            });
        }
        let config_json = serde_json::to_vec(&config).map_err(|e| Error::Json {
            what: "image config",
            path: self.root.clone(),
            source: e,
        })?;
        let id = self.put_blob(&config_json)?;

        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_MANIFEST_OCI.into()),
            config: Descriptor {
                media_type: MEDIA_CONFIG_OCI.into(),
                digest: id.clone(),
                size: config_json.len() as u64,
                extra: Default::default(),
            },
            layers: vec![Descriptor {
                media_type: MEDIA_LAYER_TAR.into(),
                digest: diff_id,
                size,
                extra: Default::default(),
            }],
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
}

/// Rejects entries that could never be extracted safely, so a bad tarball fails at import time.
fn validate_entry<R: Read>(entry: &tar::Entry<'_, R>) -> Result<(), Error> {
    let raw = entry.path_bytes();
    let bad = |reason: String| Error::UnsafeEntry {
        entry: String::from_utf8_lossy(&raw).into_owned(),
        reason,
    };
    unpack::clean_path(&raw).map_err(&bad)?;
    if entry.header().entry_type().is_hard_link() {
        let target = entry.link_name_bytes().unwrap_or_default();
        unpack::clean_path(&target).map_err(|r| bad(format!("hard link target: {r}")))?;
    }
    Ok(())
}
