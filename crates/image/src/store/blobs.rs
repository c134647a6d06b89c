//! Blobs under `blobs/sha256/`: storing them (from memory or streamed) and reading small ones
//! back with their digest checked.

use std::fs;
use std::io::{self, BufWriter, Read};

use super::Store;
use super::compression::tee_error;
use crate::Error;
use crate::digest::{TeeReader, WriteFailed, hex_of, sha256_digest};

impl Store {
    /// Stores `data` as a blob; returns its digest.
    pub fn put_blob(&self, data: &[u8]) -> Result<String, Error> {
        let digest = sha256_digest(data);
        let dest = self.blob_path(&digest)?;
        if !dest.exists() {
            self.write_file_atomic(&dest, data)?;
        }
        Ok(digest)
    }

    /// Reads a small blob (manifest, config) and checks its digest.
    pub(super) fn read_blob(&self, digest: &str, image: &str) -> Result<Vec<u8>, Error> {
        let path = self.blob_path(digest)?;
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::BlobMissing {
                    digest: digest.to_string(),
                    image: image.to_string(),
                    path,
                });
            }
            Err(e) => return Err(Error::io("read blob", path, e)),
        };
        let actual = sha256_digest(&data);
        if actual != digest {
            return Err(Error::DigestMismatch {
                what: format!("blob {}", path.display()),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(data)
    }

    /// Stores a blob streamed from `reader` (a registry download) without holding it in memory:
    /// hashes while copying into tmp/, and only when the content matches `expected_digest` fsyncs
    /// and renames it into place. A short or wrong stream leaves nothing behind.
    pub fn put_blob_from(&self, reader: impl Read, expected_digest: &str) -> Result<String, Error> {
        let dest = self.blob_path(expected_digest)?;
        let (file, mut guard, tmp) = self.create_tmp_file()?;
        let mut tee = TeeReader::new(reader, BufWriter::with_capacity(256 * 1024, file));
        io::copy(&mut tee, &mut io::sink()).map_err(|e| {
            if e.get_ref().is_some_and(|i| i.is::<WriteFailed>()) {
                tee_error(e, &tmp)
            } else {
                Error::io("download", &tmp, e)
            }
        })?;
        let (actual, _, writer) = tee.finish();
        if actual != format!("sha256:{}", hex_of(expected_digest)?) {
            return Err(Error::DigestMismatch {
                what: "downloaded blob".into(),
                expected: expected_digest.to_string(),
                actual,
            });
        }
        let file = writer
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        if dest.exists() {
            return Ok(actual); // same content already stored; the guard removes our copy
        }
        self.commit(file, &tmp, &mut guard, &dest)?;
        Ok(actual)
    }
}

#[cfg(test)]
mod put_blob_from_tests {
    use super::*;
    use crate::store::list;

    #[test]
    fn streams_verifies_and_leaves_nothing_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let data = vec![7u8; 600 * 1024];
        let digest = sha256_digest(&data);
        assert_eq!(store.put_blob_from(&data[..], &digest).unwrap(), digest);
        assert_eq!(fs::read(store.blob_path(&digest).unwrap()).unwrap(), data);
        let other = sha256_digest(b"other");
        let err = store.put_blob_from(&data[..100], &other).unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        assert!(!store.blob_path(&other).unwrap().exists());
        assert_eq!(list(&dir.path().join("tmp")).unwrap().len(), 0);
        assert!(store.put_blob_from(&data[..], "sha256:../x").is_err());
    }
}
