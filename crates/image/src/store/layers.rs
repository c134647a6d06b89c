//! Unpacked layers under `layers/<chain id hex>/`: unpacking an image's layers on first use,
//! and storing and unpacking a downloaded layer in one pass.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::atomic::{TmpGuard, fsync_dir};
use super::compression::{decompressed, decompressed_kind, tee_error};
use super::lock::{lock, shared_gc_lock};
use super::{EMPTY_LAYER_DIR, Store};
use crate::digest::{HashingReader, TeeReader, chain_ids, hex_of};
use crate::error::IoContext;
use crate::{Error, unpack};

impl Store {
    /// The unpacked layer directories of an image, lowest layer first.
    pub fn layer_dirs(&self, id: &str) -> Result<Vec<PathBuf>, Error> {
        let _lock = lock(&self.root.join("gc.lock"), false)?;
        let img = self.image(id)?;
        let diff_ids = &img.config.rootfs.diff_ids;
        if diff_ids.len() != img.layers.len() {
            return Err(Error::BadImage {
                image: img.id.clone(),
                reason: format!(
                    "config has {} diff_ids but the manifest has {} layers",
                    diff_ids.len(),
                    img.layers.len()
                ),
            });
        }
        if diff_ids.is_empty() {
            let dir = self.root.join("layers").join(EMPTY_LAYER_DIR);
            match fs::DirBuilder::new().mode(0o755).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create directory", dir, e)),
            }
            return Ok(vec![dir]);
        }
        for d in diff_ids {
            hex_of(d)?;
        }
        let media_types = self.media_type_of(&img.id)?;
        let mut dirs = Vec::with_capacity(diff_ids.len());
        for (i, chain) in chain_ids(diff_ids).iter().enumerate() {
            let dir = self.root.join("layers").join(hex_of(chain)?);
            if !dir.is_dir() {
                self.unpack_layer(&img.id, &img.layers[i], &media_types[i], &diff_ids[i], &dir)
                    .map_err(|e| Error::Unpack {
                        layer: img.layers[i].clone(),
                        dir: dir.clone(),
                        source: Box::new(e),
                    })?;
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }

    fn unpack_layer(
        &self,
        image: &str,
        blob: &str,
        media_type: &str,
        diff_id: &str,
        dest: &Path,
    ) -> Result<(), Error> {
        if media_type.contains("zstd") {
            return Err(Error::UnsupportedCompression(format!(
                "zstd layer ({media_type})"
            )));
        }
        let blob_path = self.blob_path(blob)?;
        let f = match File::open(&blob_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::BlobMissing {
                    digest: blob.to_string(),
                    image: image.to_string(),
                    path: blob_path,
                });
            }
            Err(e) => return Err(Error::io("open blob", blob_path, e)),
        };
        let input = decompressed(io::BufReader::with_capacity(256 * 1024, f))?
            .unwrap_or_else(|| Box::new(io::empty()));
        let mut hashing = HashingReader::new(input);

        let tmp = self.tmp_path("layer");
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&tmp)
            .ctx("create temporary layer directory", &tmp)?;
        let mut guard = TmpGuard::new(tmp.clone());
        unpack::unpack(&mut hashing, &tmp)?;
        io::copy(&mut hashing, &mut io::sink()).map_err(Error::InvalidTar)?;
        let (actual, _) = hashing.finish();
        if actual != diff_id {
            return Err(Error::DigestMismatch {
                what: format!("uncompressed layer {blob}"),
                expected: diff_id.to_string(),
                actual,
            });
        }
        self.publish_layer_dir(&tmp, &mut guard, dest)
    }

    /// Makes an unpacked layer in tmp/ durable and renames it to `dest` under layers/.
    fn publish_layer_dir(
        &self,
        tmp: &Path,
        guard: &mut TmpGuard,
        dest: &Path,
    ) -> Result<(), Error> {
        // Make the content durable before it becomes visible under layers/.
        let d = File::open(tmp).ctx("open", tmp)?;
        // SAFETY: syncfs on a valid open fd; no memory is passed.
        if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
            return Err(Error::io("syncfs", tmp, io::Error::last_os_error()));
        }
        drop(d);
        match nix::fcntl::renameat2(
            None,
            tmp,
            None,
            dest,
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => {
                guard.keep();
                fsync_dir(dest.parent().unwrap_or(&self.root))
            }
            // Another process unpacked it meanwhile: keep theirs, drop ours (the guard).
            Err(nix::errno::Errno::EEXIST) | Err(nix::errno::Errno::ENOTEMPTY) => Ok(()),
            Err(e) => Err(e).ctx("rename layer into place", dest),
        }
    }

    /// Stores a layer blob streamed from `reader` (a registry download) and unpacks it in the
    /// same pass: the stream is hashed and copied to tmp/ while it is decompressed, hashed
    /// again and extracted into a tmp/ directory. Only when the blob matches `digest` and its
    /// uncompressed content matches `diff_id` do both move into place (the blob under blobs/,
    /// the directory under layers/<`chain_id`>); a short or wrong stream leaves nothing.
    /// Returns the uncompressed size.
    pub fn put_layer_from(
        &self,
        reader: impl Read,
        digest: &str,
        diff_id: &str,
        chain_id: &str,
    ) -> Result<u64, Error> {
        let _lock = shared_gc_lock(self)?;
        let blob_dest = self.blob_path(digest)?;
        let layer_dest = self.root.join("layers").join(hex_of(chain_id)?);
        hex_of(diff_id)?;
        let (file, mut blob_guard, tmp) = self.create_tmp_file()?;
        let mut tee = TeeReader::new(reader, BufWriter::with_capacity(256 * 1024, file));
        let tmp_dir = self.tmp_path("layer");
        let mut dir_guard = TmpGuard::new(tmp_dir.clone());
        let unpack_here = !layer_dest.is_dir();
        // Extracts (unless the layer is already unpacked) and reads to the end.
        let unpack_all = |input: &mut dyn Read| -> Result<(), Error> {
            if unpack_here {
                fs::DirBuilder::new()
                    .mode(0o755)
                    .create(&tmp_dir)
                    .ctx("create temporary layer directory", &tmp_dir)?;
                unpack::unpack(&mut *input, &tmp_dir).map_err(|e| match e {
                    Error::InvalidTar(io) => tee_error(io, &tmp),
                    other => other,
                })?;
            }
            io::copy(input, &mut io::sink()).map_err(|e| tee_error(e, &tmp))?;
            Ok(())
        };
        // The uncompressed content's digest and size; None for an uncompressed blob, whose
        // diff id is its digest (hashed once, below).
        let uncompressed = {
            let input = decompressed_kind(&mut tee).map_err(|e| match e {
                Error::InvalidTar(io) => tee_error(io, &tmp),
                other => other,
            })?;
            match input {
                Some((input, true)) => {
                    let mut hashing = HashingReader::new(input);
                    unpack_all(&mut hashing)?;
                    Some(hashing.finish())
                }
                Some((mut input, false)) => {
                    unpack_all(&mut input)?;
                    None
                }
                None => {
                    unpack_all(&mut io::empty())?;
                    None
                }
            }
        };
        // Whatever follows the compressed stream is part of the blob too.
        io::copy(&mut tee, &mut io::sink()).map_err(|e| tee_error(e, &tmp))?;
        let (actual, count, writer) = tee.finish();
        if actual != format!("sha256:{}", hex_of(digest)?) {
            return Err(Error::DigestMismatch {
                what: "downloaded blob".into(),
                expected: digest.to_string(),
                actual,
            });
        }
        let (actual_diff_id, size) = uncompressed.unwrap_or((actual, count));
        if actual_diff_id != diff_id {
            return Err(Error::DigestMismatch {
                what: format!("uncompressed layer {digest}"),
                expected: diff_id.to_string(),
                actual: actual_diff_id,
            });
        }
        let file = writer
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        if blob_dest.exists() {
            drop(file);
        } else {
            self.commit(file, &tmp, &mut blob_guard, &blob_dest)?;
        }
        if unpack_here {
            self.publish_layer_dir(&tmp_dir, &mut dir_guard, &layer_dest)?;
        }
        Ok(size)
    }

    /// Whether the unpacked layer for `chain_id` is in the store.
    pub fn has_layer_dir(&self, chain_id: &str) -> Result<bool, Error> {
        Ok(self.root.join("layers").join(hex_of(chain_id)?).is_dir())
    }
}

#[cfg(test)]
mod put_layer_from_tests {
    use super::*;
    use crate::digest::sha256_digest;
    use crate::store::list;
    use std::io::Write;

    #[test]
    fn put_layer_from_unpacks_and_checks_both_digests() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tar = crate::tests::RawTar::new()
            .file("hello.txt", b"hello")
            .bytes();
        let diff_id = sha256_digest(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let gz_digest = sha256_digest(&gz);

        // A wrong diff id: nothing stored, nothing left in tmp/.
        let other = sha256_digest(b"other");
        let err = store
            .put_layer_from(&gz[..], &gz_digest, &other, &other)
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        assert!(!store.blob_path(&gz_digest).unwrap().exists());
        assert_eq!(list(&dir.path().join("tmp")).unwrap().len(), 0);
        assert_eq!(list(&dir.path().join("layers")).unwrap().len(), 0);

        // gzip'd: both digests check out, the layer is unpacked under its chain id.
        let size = store
            .put_layer_from(&gz[..], &gz_digest, &diff_id, &diff_id)
            .unwrap();
        assert_eq!(size, tar.len() as u64);
        let layer = dir.path().join("layers").join(hex_of(&diff_id).unwrap());
        assert_eq!(fs::read(layer.join("hello.txt")).unwrap(), b"hello");
        assert_eq!(fs::read(store.blob_path(&gz_digest).unwrap()).unwrap(), gz);

        // Uncompressed: the blob is its own diff id.
        let dir2 = tempfile::tempdir().unwrap();
        let store2 = Store::open(dir2.path()).unwrap();
        let size = store2
            .put_layer_from(&tar[..], &diff_id, &diff_id, &diff_id)
            .unwrap();
        assert_eq!(size, tar.len() as u64);
        let err = store2
            .put_layer_from(&tar[..100], &diff_id, &diff_id, &other)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidTar(_) | Error::DigestMismatch { .. }),
            "{err}"
        );
        assert_eq!(list(&dir2.path().join("tmp")).unwrap().len(), 0);
    }
}
