//! Gzip'd variants of uncompressed layer blobs, made once for a push and recorded under
//! `variants/<layer hex>`.

use std::fs::{self, File};
use std::io::{self, BufWriter};

use super::Store;
use super::compression::HashingWriter;
use super::lock::shared_gc_lock;
use crate::Error;
use crate::digest::hex_of;
use crate::error::IoContext;

impl Store {
    /// The gzip'd variant (fast level) of a stored uncompressed layer blob, for a push: made
    /// once and kept as a blob of its own (recorded under variants/<layer hex>; gc keeps it as
    /// long as an image has the layer), so a second push sends the same bytes without
    /// compressing again. Deterministic (no name, no time in the gzip header).
    /// Returns (digest, size) of the compressed blob.
    pub fn gzip_variant(&self, digest: &str) -> Result<(String, u64), Error> {
        if let Some(known) = self.variant_record(digest) {
            return Ok(known);
        }
        let _lock = shared_gc_lock(self)?;
        let src_path = self.blob_path(digest)?;
        let src = File::open(&src_path).ctx("open blob", &src_path)?;
        let (file, mut guard, tmp) = self.create_tmp_file()?;
        let out = HashingWriter {
            inner: BufWriter::with_capacity(256 * 1024, file),
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            size: 0,
        };
        let mut encoder = flate2::GzBuilder::new()
            .mtime(0)
            .write(out, flate2::Compression::fast());
        io::copy(
            &mut io::BufReader::with_capacity(256 * 1024, src),
            &mut encoder,
        )
        .ctx("compress blob into", &tmp)?;
        let out = encoder.finish().ctx("compress blob into", &tmp)?;
        let variant = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::finalize(out.hasher))
        );
        let (size, writer) = (out.size, out.inner);
        let file = writer
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        let dest = self.blob_path(&variant)?;
        if dest.exists() {
            drop(file);
        } else {
            self.commit(file, &tmp, &mut guard, &dest)?;
        }
        let record = serde_json::json!({ "digest": variant, "size": size }).to_string();
        self.write_file_atomic(
            &self.root.join("variants").join(hex_of(digest)?),
            record.as_bytes(),
        )?;
        Ok((variant, size))
    }

    /// (digest, size) of a blob's recorded gzip variant, when it is still in the store.
    pub(super) fn variant_record(&self, digest: &str) -> Option<(String, u64)> {
        let path = self.root.join("variants").join(hex_of(digest).ok()?);
        let record: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        let variant = record["digest"].as_str()?.to_string();
        let size = record["size"].as_u64()?;
        self.blob_path(&variant)
            .ok()?
            .exists()
            .then_some((variant, size))
    }
}

#[cfg(test)]
mod gzip_variant_tests {
    use super::*;
    use crate::ImageConfig;
    use crate::digest::sha256_digest;
    use crate::store::list;
    use std::io::Read;

    #[test]
    fn gzip_variant_is_made_once_and_kept_with_its_layer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tar = crate::tests::RawTar::new().file("data", b"abcd").bytes();
        let id = store.import(&tar[..], ImageConfig::default()).unwrap();
        let layer = store.image(&id).unwrap().layers[0].clone();

        let (gz, size) = store.gzip_variant(&layer).unwrap();
        let bytes = fs::read(store.blob_path(&gz).unwrap()).unwrap();
        assert_eq!(
            (sha256_digest(&bytes), bytes.len() as u64),
            (gz.clone(), size)
        );
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, tar);
        // Recorded: asked again, the same blob, not a new one.
        let mtime = fs::metadata(store.blob_path(&gz).unwrap())
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(store.gzip_variant(&layer).unwrap(), (gz.clone(), size));
        assert_eq!(
            fs::metadata(store.blob_path(&gz).unwrap())
                .unwrap()
                .modified()
                .unwrap(),
            mtime
        );
        // gc keeps it while an image has the layer, and drops it with the layer.
        store.gc(std::slice::from_ref(&id)).unwrap();
        assert!(store.blob_path(&gz).unwrap().exists());
        store.gc(&[]).unwrap();
        assert!(!store.blob_path(&gz).unwrap().exists());
        assert_eq!(list(&dir.path().join("variants")).unwrap().len(), 0);
    }
}
