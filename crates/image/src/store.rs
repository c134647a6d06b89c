//! The on-disk store: `blobs/sha256/<hex>` (OCI layout), `images/<config hex>` (one small record per
//! image: its manifest digest and uncompressed size), `layers/<chain id hex>/` (unpacked layers),
//! `tmp/` (everything is written here first, then fsync'd and renamed into place).
//!
//! Locking: `import` and `layer_dirs` hold a shared flock on `gc.lock`, `gc` an exclusive one, so gc
//! never deletes the blobs of an import that is still being written, even from another process.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::*;
use crate::digest::{HashingReader, TeeReader, WriteFailed, chain_ids, hex_of, sha256_digest};
use crate::error::IoContext;
use crate::{Error, ImageConfig, unpack};

/// Name of the directory returned for images without layers.
const EMPTY_LAYER_DIR: &str = "empty";
/// tmp/ entries older than this are leftovers of killed processes; gc removes them.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

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

/// Removes a tmp file or directory on drop unless `keep()` was called.
struct TmpGuard {
    path: Option<PathBuf>,
}

impl TmpGuard {
    fn new(path: PathBuf) -> Self {
        TmpGuard { path: Some(path) }
    }
    fn keep(&mut self) {
        self.path = None;
    }
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {
                    let _ = fs::remove_dir_all(&p);
                }
                Ok(_) => {
                    let _ = fs::remove_file(&p);
                }
                Err(_) => {}
            }
        }
    }
}

/// A held flock; released on drop (closing the fd).
pub(crate) struct Lock(#[allow(dead_code)] File);

/// A shared hold on the store's gc lock: `gc` (which takes it exclusively) cannot delete
/// blobs that the holder is adding.
pub(crate) fn shared_gc_lock(store: &Store) -> Result<Lock, Error> {
    lock(&store.root().join("gc.lock"), false)
}

fn lock(path: &Path, exclusive: bool) -> Result<Lock, Error> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .ctx("open lock file", path)?;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: flock on a valid, open fd owned by `f`; no memory is passed.
        let rc = unsafe { libc::flock(f.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(Lock(f));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(Error::io("lock", path, e));
        }
    }
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn fsync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", dir)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

fn detect(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if magic.starts_with(b"BZh") {
        Compression::Bzip2
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// Reads the first bytes of `input`, detects the compression and returns a reader of the
/// decompressed stream (which starts with those bytes again). None = empty input.
fn decompressed<'a, R: Read + 'a>(input: R) -> Result<Option<Box<dyn Read + 'a>>, Error> {
    Ok(decompressed_kind(input)?.map(|(reader, _)| reader))
}

/// A decompressed stream, and whether its input was compressed at all.
type Decompressed<'a> = (Box<dyn Read + 'a>, bool);

/// [`decompressed`], also saying whether the input was compressed at all.
fn decompressed_kind<'a, R: Read + 'a>(mut input: R) -> Result<Option<Decompressed<'a>>, Error> {
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::InvalidTar(e)),
        }
    }
    if n == 0 {
        return Ok(None);
    }
    let full = io::Cursor::new(magic[..n].to_vec()).chain(input);
    Ok(Some(match detect(&magic[..n]) {
        Compression::None => (Box::new(full), false),
        Compression::Gzip => (Box::new(flate2::read::MultiGzDecoder::new(full)), true),
        Compression::Zstd => return Err(Error::UnsupportedCompression("zstd".into())),
        Compression::Bzip2 => return Err(Error::UnsupportedCompression("bzip2".into())),
        Compression::Xz => return Err(Error::UnsupportedCompression("xz".into())),
    }))
}

/// Maps an io error from reading through a TeeReader: write errors are store errors, the rest
/// are bad input.
fn tee_error(e: io::Error, tmp: &Path) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<WriteFailed>()) {
        let inner = e
            .into_inner()
            .and_then(|i| i.downcast::<WriteFailed>().ok());
        match inner {
            Some(w) => Error::io("write", tmp, w.0),
            None => Error::io("write", tmp, io::Error::other("write failed")),
        }
    } else {
        Error::InvalidTar(e)
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
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

    fn tmp_path(&self, prefix: &str) -> PathBuf {
        self.root.join("tmp").join(unique_name(prefix))
    }

    fn create_tmp_file(&self) -> Result<(File, TmpGuard, PathBuf), Error> {
        let path = self.tmp_path("blob");
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .ctx("create temporary file", &path)?;
        Ok((f, TmpGuard::new(path.clone()), path))
    }

    /// fsyncs `file` and renames `tmp` into `dest`, then fsyncs `dest`'s directory.
    fn commit(
        &self,
        file: File,
        tmp: &Path,
        guard: &mut TmpGuard,
        dest: &Path,
    ) -> Result<(), Error> {
        file.sync_all().ctx("fsync", tmp)?;
        drop(file);
        fs::rename(tmp, dest).ctx("rename into place", dest)?;
        guard.keep();
        fsync_dir(dest.parent().unwrap_or(&self.root))
    }

    fn write_file_atomic(&self, dest: &Path, data: &[u8]) -> Result<(), Error> {
        let (mut f, mut guard, tmp) = self.create_tmp_file()?;
        f.write_all(data).ctx("write", &tmp)?;
        self.commit(f, &tmp, &mut guard, dest)
    }

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
    fn read_blob(&self, digest: &str, image: &str) -> Result<Vec<u8>, Error> {
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

    fn record_path(&self, id: &str) -> Result<PathBuf, Error> {
        Ok(self.root.join("images").join(hex_of(id)?))
    }

    fn write_record(&self, id: &str, manifest: &str, size: Option<u64>) -> Result<(), Error> {
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

    fn media_type_of(&self, id: &str) -> Result<Vec<String>, Error> {
        let img = self.image(id)?;
        let m: Manifest = serde_json::from_slice(&self.read_blob(&img.manifest_digest, id)?)
            .map_err(|e| Error::Json {
                what: "manifest",
                path: self.blob_path(&img.manifest_digest).unwrap_or_default(),
                source: e,
            })?;
        Ok(m.layers.into_iter().map(|l| l.media_type).collect())
    }

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
    fn variant_record(&self, digest: &str) -> Option<(String, u64)> {
        let path = self.root.join("variants").join(hex_of(digest).ok()?);
        let record: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        let variant = record["digest"].as_str()?.to_string();
        let size = record["size"].as_u64()?;
        self.blob_path(&variant)
            .ok()?
            .exists()
            .then_some((variant, size))
    }

    /// Whether the unpacked layer for `chain_id` is in the store.
    pub fn has_layer_dir(&self, chain_id: &str) -> Result<bool, Error> {
        Ok(self.root.join("layers").join(hex_of(chain_id)?).is_dir())
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

fn chain_ids_of(diff_ids: &[String]) -> Vec<String> {
    chain_ids(diff_ids)
}

fn list(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).ctx("list", dir)? {
        let e = e.ctx("list", dir)?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
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

/// A writer that hashes and counts what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod put_blob_from_tests {
    use super::*;

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
