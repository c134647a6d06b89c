//! Image archives: what `docker save` writes and `docker load` reads.
//!
//! Writing: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) plus the
//! legacy docker-archive files (`manifest.json`, `repositories`) pointing at the same blobs, as
//! Docker 25+ does; old loaders read the legacy files, OCI tools (`skopeo copy oci-archive:`) the
//! layout.
//!
//! Reading: that format, the older docker-archive (`<hex>.json` configs, `<dir>/layer.tar`,
//! layers possibly gzip'd) and plain OCI layouts. The tar is read once, in order; every file is
//! spooled to a private directory under the store's `tmp/` while it is hashed, so no layer is
//! ever held in memory. Every blob is checked against its name, every config against its id and
//! every layer against the config's `rootfs.diff_ids` before anything moves into `blobs/`; the
//! images are registered only after all of that succeeded.
//!
//! Names here are plain strings carried through: the engine decides what they mean.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::digest::hex_of;
use crate::{
    Descriptor, Error, ImageConfig, MEDIA_CONFIG_OCI, MEDIA_LAYER_GZIP, MEDIA_LAYER_TAR,
    MEDIA_MANIFEST_OCI, Manifest, Store,
};

const MEDIA_INDEX_OCI: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_MANIFEST_LIST_DOCKER: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// JSON documents (manifests, configs, indexes) larger than this are refused.
const MAX_JSON: u64 = 32 << 20;

/// Errors of reading or writing an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The store failed (disk full, missing blob, ...).
    #[error(transparent)]
    Store(#[from] Error),
    /// The archive is malformed, truncated or its content does not match its digests.
    #[error("invalid image archive: {0}")]
    Invalid(String),
    /// The archive cannot be read or parsed; the reader's or the parser's error is kept.
    #[error("invalid image archive: {context}: {source}")]
    Malformed {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing the archive failed.
    #[error("writing the archive: {0}")]
    Write(#[source] io::Error),
}

fn invalid(msg: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid(msg.into())
}

fn malformed(
    context: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> ArchiveError {
    ArchiveError::Malformed {
        context: context.into(),
        source: source.into(),
    }
}

/// One name an image is saved under.
#[derive(Clone, Debug)]
pub struct SaveTag {
    /// As `manifest.json`'s RepoTags has it: "busybox:latest", "localhost:5000/a:1".
    pub repo_tag: String,
    /// The fully qualified name for `io.containerd.image.name`: "docker.io/library/busybox:latest".
    pub full_name: String,
}

/// One image to save and the names to save it under (none: saved by id).
#[derive(Clone, Debug)]
pub struct SaveItem {
    pub id: String,
    pub tags: Vec<SaveTag>,
}

/// One image an archive held, now in the store.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedImage {
    /// "sha256:<hex>" of the config.
    pub id: String,
    /// The names the archive gives it, as written there ("busybox:latest",
    /// "docker.io/library/busybox:latest", ...).
    pub tags: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

// ---------------------------------------------------------------- writing

fn tar_header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn add_bytes<W: Write>(
    b: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
) -> Result<(), ArchiveError> {
    let mut h = tar_header(tar::EntryType::Regular, data.len() as u64, 0o644);
    b.append_data(&mut h, path, data)
        .map_err(ArchiveError::Write)
}

fn add_dir<W: Write>(b: &mut tar::Builder<W>, path: &str) -> Result<(), ArchiveError> {
    let mut h = tar_header(tar::EntryType::Directory, 0, 0o755);
    b.append_data(&mut h, path, io::empty())
        .map_err(ArchiveError::Write)
}

/// Writes `items` as one archive (OCI layout + docker-archive files) to `out`, streaming each
/// blob from the store.
pub fn write_archive(
    store: &Store,
    items: &[SaveItem],
    out: impl Write,
) -> Result<(), ArchiveError> {
    let mut blobs: Vec<String> = Vec::new();
    let mut index = Vec::new();
    let mut legacy = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for item in items {
        let img = store.image(&item.id)?;
        let mpath = store.blob_path(&img.manifest_digest)?;
        let mdata = fs::read(&mpath).map_err(|e| Error::io("read blob", &mpath, e))?;
        let manifest: Manifest = serde_json::from_slice(&mdata).map_err(|e| Error::Json {
            what: "manifest",
            path: mpath.clone(),
            source: e,
        })?;
        let media_type = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| MEDIA_MANIFEST_OCI.into());
        let descriptor = json!({
            "mediaType": media_type,
            "digest": img.manifest_digest,
            "size": mdata.len(),
        });
        if item.tags.is_empty() {
            index.push(descriptor.clone());
        }
        for t in &item.tags {
            let mut d = descriptor.clone();
            let tag = t
                .repo_tag
                .rsplit_once(':')
                .map(|(_, t)| t)
                .unwrap_or("latest");
            d["annotations"] = json!({
                ANNOTATION_IMAGE_NAME: t.full_name,
                ANNOTATION_REF_NAME: tag,
            });
            index.push(d);
            if let (Some((repo, tag)), Some(top)) = (t.repo_tag.rsplit_once(':'), img.layers.last())
            {
                repositories
                    .entry(repo.to_string())
                    .or_default()
                    .insert(tag.to_string(), hex_of(top)?.to_string());
            }
        }
        let blob_name = |d: &str| -> Result<String, ArchiveError> {
            Ok(format!("blobs/sha256/{}", hex_of(d)?))
        };
        legacy.push(LegacyEntry {
            config: blob_name(&img.id)?,
            repo_tags: (!item.tags.is_empty())
                .then(|| item.tags.iter().map(|t| t.repo_tag.clone()).collect()),
            layers: img
                .layers
                .iter()
                .map(|l| blob_name(l))
                .collect::<Result<_, _>>()?,
        });
        for d in img.layers.iter().chain([&img.id, &img.manifest_digest]) {
            if !blobs.contains(d) {
                blobs.push(d.clone());
            }
        }
    }

    let mut b = tar::Builder::new(out);
    add_dir(&mut b, "blobs/")?;
    add_dir(&mut b, "blobs/sha256/")?;
    for d in &blobs {
        let path = store.blob_path(d)?;
        let f = File::open(&path).map_err(|e| Error::io("open blob", &path, e))?;
        let len = f
            .metadata()
            .map_err(|e| Error::io("stat blob", &path, e))?
            .len();
        let mut h = tar_header(tar::EntryType::Regular, len, 0o644);
        // A reader that stops at the stat'd size keeps the header honest.
        b.append_data(
            &mut h,
            format!("blobs/sha256/{}", hex_of(d)?),
            BufReader::with_capacity(256 * 1024, f).take(len),
        )
        .map_err(ArchiveError::Write)?;
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX_OCI,
        "manifests": index,
    });
    add_bytes(
        &mut b,
        "index.json",
        &serde_json::to_vec(&index).expect("json"),
    )?;
    add_bytes(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&legacy).expect("json"),
    )?;
    add_bytes(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    if !repositories.is_empty() {
        add_bytes(
            &mut b,
            "repositories",
            &serde_json::to_vec(&repositories).expect("json"),
        )?;
    }
    let mut out = b.into_inner().map_err(ArchiveError::Write)?;
    out.flush().map_err(ArchiveError::Write)
}

// ---------------------------------------------------------------- reading

/// A file of the archive, spooled to disk.
struct Spooled {
    tmp: PathBuf,
    digest: String,
    size: u64,
    gzip: bool,
    zstd: bool,
}

/// The spool directory; removed (with whatever was not moved into the store) on drop.
struct Spool {
    dir: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// "./a//b" -> "a/b"; None for paths with "..".
fn clean(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The hex a path names, if it is `blobs/sha256/<hex>` or `<hex>.json`.
fn named_digest(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("blobs/sha256/")
        .or_else(|| path.strip_suffix(".json").filter(|p| !p.contains('/')))?;
    hex_of(name).ok().map(|h| format!("sha256:{h}"))
}

struct Archive {
    files: HashMap<String, Spooled>,
    links: HashMap<String, String>,
}

impl Archive {
    /// Follows symlinks/hardlinks (Docker links duplicate layers) to a spooled file.
    fn get(&self, path: &str) -> Result<(&Spooled, String), ArchiveError> {
        let mut p =
            clean(path).ok_or_else(|| invalid(format!("path {path:?} leaves the archive")))?;
        for _ in 0..16 {
            if let Some(f) = self.files.get(&p) {
                return Ok((f, p));
            }
            let Some(target) = self.links.get(&p) else {
                return Err(invalid(format!(
                    "{path} is referenced but not in the archive (truncated?)"
                )));
            };
            p = target.clone();
        }
        Err(invalid(format!("too many links resolving {path}")))
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<(T, &Spooled), ArchiveError> {
        let (f, p) = self.get(path)?;
        if f.size > MAX_JSON {
            return Err(invalid(format!(
                "{what} {p} is too large ({} bytes)",
                f.size
            )));
        }
        let data = fs::read(&f.tmp).map_err(|e| Error::io("read", &f.tmp, e))?;
        let v = serde_json::from_slice(&data).map_err(|e| malformed(format!("{what} {p}"), e))?;
        Ok((v, f))
    }
}

fn spool_entry(r: &mut impl Read, dir: &Path, n: usize) -> Result<Spooled, ArchiveError> {
    let tmp = dir.join(n.to_string());
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| Error::io("create temporary file", &tmp, e))?;
    let mut w = BufWriter::with_capacity(256 * 1024, f);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    let mut magic = Vec::new();
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(malformed("truncated or unreadable tar", e)),
        };
        if magic.len() < 4 {
            magic.extend_from_slice(&buf[..k.min(4 - magic.len())]);
        }
        hasher.update(&buf[..k]);
        w.write_all(&buf[..k])
            .map_err(|e| Error::io("write", &tmp, e))?;
        size += k as u64;
    }
    let f = w
        .into_inner()
        .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    Ok(Spooled {
        tmp,
        digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        size,
        gzip: magic.starts_with(&[0x1f, 0x8b]),
        zstd: magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
    })
}

/// The uncompressed digest of a spooled layer.
fn diff_id(f: &Spooled, path: &str) -> Result<String, ArchiveError> {
    if f.zstd {
        return Err(Error::UnsupportedCompression(format!("zstd layer {path}")).into());
    }
    if !f.gzip {
        return Ok(f.digest.clone());
    }
    let file = File::open(&f.tmp).map_err(|e| Error::io("open", &f.tmp, e))?;
    let mut gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, file));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match gz.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => hasher.update(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(invalid(format!(
                    "layer {path} ({}): bad gzip data: {e}",
                    f.digest
                )));
            }
        }
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// An image found in the archive, verified, not yet in the store.
struct Found {
    /// (spooled file path in the archive, digest) of config, layers and (OCI) manifest.
    blobs: Vec<(String, String)>,
    /// The manifest blob, when the archive's own is used.
    manifest: Option<String>,
    /// The manifest we write, when the archive has none (docker-archive).
    built_manifest: Option<Vec<u8>>,
    id: String,
    tags: Vec<String>,
}

/// Checks config against layers; returns the config's id.
fn check_image(
    a: &Archive,
    config_path: &str,
    layer_paths: &[String],
) -> Result<(String, Vec<Descriptor>), ArchiveError> {
    let (config, cf): (ImageConfig, _) = a.json(config_path, "image config")?;
    let id = cf.digest.clone();
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != layer_paths.len() {
        return Err(invalid(format!(
            "image {id}: the config lists {} layers (rootfs.diff_ids) but the archive gives {}",
            diff_ids.len(),
            layer_paths.len()
        )));
    }
    let mut descs = Vec::new();
    for (i, lp) in layer_paths.iter().enumerate() {
        let (f, p) = a.get(lp)?;
        let actual = diff_id(f, &p)?;
        if actual != diff_ids[i] {
            return Err(invalid(format!(
                "layer {p} (blob {}) of image {id} does not match the image config: its content is {actual}, rootfs.diff_ids[{i}] is {}",
                f.digest, diff_ids[i]
            )));
        }
        descs.push(Descriptor {
            media_type: if f.gzip {
                MEDIA_LAYER_GZIP
            } else {
                MEDIA_LAYER_TAR
            }
            .into(),
            digest: f.digest.clone(),
            size: f.size,
            extra: Default::default(),
        });
    }
    Ok((id, descs))
}

fn from_legacy(a: &Archive) -> Result<Vec<Found>, ArchiveError> {
    let (entries, _): (Vec<LegacyEntry>, _) = a.json("manifest.json", "manifest.json")?;
    let mut out = Vec::new();
    for e in entries {
        let (id, layers) = check_image(a, &e.config, &e.layers)?;
        let (cf, _) = a.get(&e.config)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_MANIFEST_OCI.into()),
            config: Descriptor {
                media_type: MEDIA_CONFIG_OCI.into(),
                digest: id.clone(),
                size: cf.size,
                extra: Default::default(),
            },
            layers,
            extra: Default::default(),
        };
        let mut blobs = vec![(clean(&e.config).unwrap_or_default(), id.clone())];
        for l in &e.layers {
            let (f, p) = a.get(l)?;
            blobs.push((p, f.digest.clone()));
        }
        out.push(Found {
            blobs,
            manifest: None,
            built_manifest: Some(serde_json::to_vec(&manifest).expect("json")),
            id,
            tags: e.repo_tags.unwrap_or_default(),
        });
    }
    Ok(out)
}

fn blob_path_of(digest: &str) -> Result<String, ArchiveError> {
    Ok(format!(
        "blobs/sha256/{}",
        hex_of(digest).map_err(|_| invalid(format!("bad digest {digest:?}")))?
    ))
}

fn from_oci(a: &Archive) -> Result<Vec<Found>, ArchiveError> {
    let (index, _): (Index, _) = a.json("index.json", "index.json")?;
    let mut out: Vec<Found> = Vec::new();
    for m in index.manifests {
        if m.media_type == MEDIA_INDEX_OCI || m.media_type == MEDIA_MANIFEST_LIST_DOCKER {
            return Err(invalid(format!(
                "index.json entry {} is an image index: nested indexes are not supported",
                m.digest
            )));
        }
        let mpath = blob_path_of(&m.digest)?;
        let (manifest, _): (Manifest, _) = a.json(&mpath, "manifest")?;
        let cpath = blob_path_of(&manifest.config.digest)?;
        let lpaths = manifest
            .layers
            .iter()
            .map(|l| blob_path_of(&l.digest))
            .collect::<Result<Vec<_>, _>>()?;
        let (id, _) = check_image(a, &cpath, &lpaths)?;
        let tag = m
            .annotations
            .get(ANNOTATION_IMAGE_NAME)
            .or_else(|| {
                m.annotations
                    .get(ANNOTATION_REF_NAME)
                    .filter(|r| r.contains(':') || r.contains('/'))
            })
            .cloned();
        if let Some(prev) = out
            .iter_mut()
            .find(|f| f.manifest.as_deref() == Some(&m.digest))
        {
            prev.tags.extend(tag);
            continue;
        }
        let mut blobs = vec![(cpath, manifest.config.digest.clone())];
        blobs.extend(
            lpaths
                .into_iter()
                .zip(manifest.layers.iter().map(|l| l.digest.clone())),
        );
        blobs.push((mpath, m.digest.clone()));
        out.push(Found {
            blobs,
            manifest: Some(m.digest),
            built_manifest: None,
            id,
            tags: tag.into_iter().collect(),
        });
    }
    Ok(out)
}

/// Reads an archive from `input` into the store; returns the images it held, with their names.
/// Nothing becomes an image unless the whole archive was read and verified.
pub fn read_archive(store: &Store, input: impl Read) -> Result<Vec<LoadedImage>, ArchiveError> {
    let _gc = crate::store::shared_gc_lock(store)?;
    let dir = store.root().join("tmp").join(format!(
        "load-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::io("create directory", &dir, e))?;
    let spool = Spool { dir };

    let mut a = Archive {
        files: HashMap::new(),
        links: HashMap::new(),
    };
    let mut tar = tar::Archive::new(input);
    let entries = tar
        .entries()
        .map_err(|e| malformed("not a tar archive", e))?;
    let mut n = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            let detail = crate::error::printable(&e.to_string());
            if n == 0 {
                invalid(format!("not a tar archive ({detail})"))
            } else {
                invalid(format!(
                    "truncated or malformed tar after {n} entries ({detail})"
                ))
            }
        })?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = clean(&raw) else {
            return Err(invalid(format!("entry {raw:?} leaves the archive")));
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target =
                String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
            // Symlinks are relative to their directory, hard links to the archive's root.
            let joined = match (kind.is_symlink(), path.rsplit_once('/')) {
                (true, Some((d, _))) if !target.starts_with('/') => format!("{d}/{target}"),
                _ => target.clone(),
            };
            let mut stack: Vec<&str> = Vec::new();
            for p in joined.split('/') {
                match p {
                    "" | "." => {}
                    ".." => {
                        if stack.pop().is_none() {
                            return Err(invalid(format!(
                                "link {raw} -> {target} leaves the archive"
                            )));
                        }
                    }
                    p => stack.push(p),
                }
            }
            a.links.insert(path, stack.join("/"));
            continue;
        }
        if !kind.is_file() && kind != tar::EntryType::Continuous {
            continue;
        }
        n += 1;
        let f = spool_entry(&mut entry, &spool.dir, n)?;
        if let Some(expected) = named_digest(&path)
            && expected != f.digest
        {
            return Err(invalid(format!(
                "blob {path} is corrupt: its content has digest {}, expected {expected}",
                f.digest
            )));
        }
        a.files.insert(path, f);
    }

    let found = if a.files.contains_key("manifest.json") || a.links.contains_key("manifest.json") {
        from_legacy(&a)?
    } else if a.files.contains_key("index.json") {
        from_oci(&a)?
    } else if a.files.is_empty() {
        return Err(invalid(
            "the archive is empty (no manifest.json or index.json)",
        ));
    } else {
        return Err(invalid(
            "neither manifest.json (docker-archive) nor index.json (OCI layout) is in the archive",
        ));
    };
    if found.is_empty() {
        return Err(invalid("the archive holds no image"));
    }

    // Everything is verified: move the blobs into the store, then register the images.
    let mut moved: HashMap<String, ()> = HashMap::new();
    for f in &found {
        for (path, digest) in &f.blobs {
            if moved.contains_key(digest) {
                continue;
            }
            let (s, _) = a.get(path)?;
            let dest = store.blob_path(digest)?;
            if !dest.exists() {
                fs::rename(&s.tmp, &dest).map_err(|e| Error::io("rename into place", &dest, e))?;
            }
            moved.insert(digest.clone(), ());
        }
    }
    let blob_dir = store.root().join("blobs/sha256");
    File::open(&blob_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", &blob_dir, e))?;
    let mut out = Vec::new();
    for f in found {
        let manifest = match (&f.manifest, &f.built_manifest) {
            (Some(m), _) => m.clone(),
            (None, Some(data)) => store.put_blob(data)?,
            (None, None) => unreachable!("every found image has a manifest"),
        };
        let id = store.add_manifest(&manifest)?;
        if id != f.id {
            return Err(invalid(format!(
                "manifest {manifest} names config {id}, expected {}",
                f.id
            )));
        }
        out.push(LoadedImage { id, tags: f.tags });
    }
    Ok(out)
}
