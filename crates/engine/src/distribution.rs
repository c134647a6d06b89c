//! Registry operations: pull, push, login, logout. The registry crate talks to the registry; this
//! module moves content between it and the image store and keeps the names in the database.
//!
//! Pull order keeps the store consistent: the config comes first (its diff ids name the layers'
//! unpacked directories), then the layers the store lacks, up to three at a time, each hashed
//! and unpacked as it streams in and renamed into place only after both its blob digest and its
//! diff id matched; the manifest is stored and the image registered only once all its blobs are
//! present; the name is set last. A failed pull leaves no image and no name (layers that did
//! verify stay as unreferenced content until the next gc, and are reused by a retry).
//!
//! Push sends the layers the registry lacks, up to five at a time: a HEAD first (`Layer already
//! exists`), then a cross-repository mount when this engine saw the blob in another repository
//! of the same registry (`Mounted from ..`), else an upload. Where blobs came from and went to
//! is kept in the `blob_sources` table.

use std::collections::HashMap;
use std::sync::Mutex;

use berth_registry::{self as registry, Platform, PulledManifest, Session};

// Progress lives in `transfer` (below this module) and is re-exported under its old path.
use crate::transfer::{self, ProgressReader};
pub use crate::transfer::{Progress, ProgressDetail};
use crate::{Engine, Error, reference};

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]`; the host's platform when None.
    pub platform: Option<String>,
    /// Pull every tag of the repository.
    pub all_tags: bool,
}

/// What a pull did, per tag.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The name as stored (`127.0.0.1:5000/bb:1`, `busybox:latest`, `name@sha256:..`).
    pub name: String,
    pub id: String,
    pub manifest_digest: String,
    /// False when the name already pointed at this image and no blob was fetched.
    pub downloaded: bool,
}

/// The gzip media type an uncompressed layer of `media_type` is pushed as; None for layers
/// that are compressed already (or unknown: those go as stored).
fn gzip_media_type(media_type: &str) -> Option<&'static str> {
    match media_type {
        berth_image::MEDIA_LAYER_TAR => Some(berth_image::MEDIA_LAYER_GZIP),
        berth_image::MEDIA_DOCKER_LAYER_TAR => Some(berth_image::MEDIA_DOCKER_LAYER_GZIP),
        _ => None,
    }
}

/// The first 12 hex digits of a digest, as Docker shows layers.
fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex[..hex.len().min(12)].to_string()
}

impl Engine {
    /// `berth pull NAME[:TAG|@DIGEST]` (or every tag with `all_tags`), without its events
    /// (see [`Engine::pull_image_as`]).
    pub(crate) fn pull_image_unlogged(
        &self,
        name: &str,
        options: &PullOptions,
        credentials: Option<(String, String)>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Pulled>, Error> {
        let normalized = reference::normalize(name)?;
        let parsed = registry::parse_reference(&normalized)?;
        let platform = match &options.platform {
            Some(p) => Platform::parse(p)?,
            None => Platform::host(),
        };
        let config = self.daemon_config()?;
        let session = Session::open_for_pull(&parsed, credentials, &config.registry)?;
        let (repo, _) = reference::split(&normalized);
        if options.all_tags {
            let last = name.rsplit('/').next().unwrap_or(name);
            if last.contains(':') || name.contains('@') {
                return Err(Error::InvalidArgument(
                    "tag can't be used with --all-tags/-a".into(),
                ));
            }
            let mut tags = session.tags()?;
            tags.sort();
            let mut out = Vec::new();
            for tag in tags {
                out.push(self.pull_one(
                    &session,
                    repo,
                    parsed.repository(),
                    &tag,
                    &platform,
                    progress,
                )?);
            }
            progress(Progress::line(format!(
                "Status: Downloaded all tags of {repo}"
            )));
            return Ok(out);
        }
        let tag_or_digest = parsed
            .digest()
            .or(parsed.tag())
            .unwrap_or("latest")
            .to_string();
        Ok(vec![self.pull_one(
            &session,
            repo,
            parsed.repository(),
            &tag_or_digest,
            &platform,
            progress,
        )?])
    }

    fn pull_one(
        &self,
        session: &Session,
        repo: &str,
        remote_path: &str,
        tag_or_digest: &str,
        platform: &Platform,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled, Error> {
        let by_digest = tag_or_digest.contains(':');
        let name = if by_digest {
            format!("{repo}@{tag_or_digest}")
        } else {
            format!("{repo}:{tag_or_digest}")
        };
        // The manifest before any word, as dockerd: a pull that cannot start (no such
        // repository or tag, an unreachable registry) fails before its stream begins, so the
        // API answers it with an HTTP error status rather than an error inside a 200.
        let manifest = session.manifest(tag_or_digest, platform)?;
        progress(Progress::of(
            tag_or_digest,
            format!("Pulling from {remote_path}"),
        ));
        let mut fetched = false;
        if !self.images.blob_path(&manifest.config.digest)?.exists() {
            self.fetch_blob(session, &manifest.config.digest)?;
            fetched = true;
        }
        let config = match self.pulled_config(&manifest) {
            Ok(config) => config,
            Err(e) => {
                if fetched {
                    let keep: Vec<String> =
                        self.db.images()?.into_iter().map(|(id, _)| id).collect();
                    let _ = self.images.discard(
                        std::slice::from_ref(&manifest.config.digest),
                        &[],
                        &keep,
                    );
                }
                return Err(e);
            }
        };
        let diff_ids = &config.rootfs.diff_ids;
        let chain_ids = berth_image::digest::chain_ids(diff_ids);
        let mut sizes: Vec<Option<u64>> = vec![None; manifest.layers.len()];
        let mut missing = Vec::new();
        for (i, layer) in manifest.layers.iter().enumerate() {
            if self.images.blob_path(&layer.digest)?.exists() {
                progress(Progress::of(short(&layer.digest), "Already exists"));
            } else {
                missing.push(i);
            }
        }
        for (n, &i) in missing.iter().enumerate() {
            progress(Progress::of(
                short(&manifest.layers[i].digest),
                "Pulling fs layer",
            ));
            if n >= transfer::DOWNLOADS {
                progress(Progress::of(short(&manifest.layers[i].digest), "Waiting"));
            }
        }
        // What this pull adds, to take back out if it fails: a partial pull leaves no trace.
        let mut added_blobs: Vec<String> = missing
            .iter()
            .map(|&i| manifest.layers[i].digest.clone())
            .collect();
        if fetched {
            added_blobs.push(manifest.config.digest.clone());
        }
        let mut added_layers = Vec::new();
        for &i in &missing {
            if !self.images.has_layer_dir(&chain_ids[i])? {
                added_layers.push(chain_ids[i].clone());
            }
        }
        let store = &self.images;
        let downloaded = transfer::run_parallel(
            missing.len(),
            transfer::DOWNLOADS,
            progress,
            |n, reporter| {
                let i = missing[n];
                let layer = &manifest.layers[i];
                let id = short(&layer.digest);
                // The store hashes the blob (and its uncompressed content) as it writes it.
                let reader = session.blob_unchecked(&layer.digest, layer.size)?;
                let total = reader
                    .announced_len()
                    .or(Some(layer.size).filter(|s| *s > 0));
                let reader =
                    ProgressReader::new(reader, reporter.clone(), &id, "Downloading", total);
                let size = store
                    .put_layer_from(reader, &layer.digest, &diff_ids[i], &chain_ids[i])
                    .map_err(|source| Error::Stored {
                        context: format!("downloading {}", layer.digest),
                        source,
                    })?;
                reporter.send(Progress::of(&id, "Verifying Checksum"));
                reporter.send(Progress::of(&id, "Download complete"));
                reporter.send(Progress::of(&id, "Pull complete"));
                Ok(size)
            },
        );
        let downloaded = match downloaded {
            Ok(sizes) => sizes,
            Err(e) => {
                let keep: Vec<String> = self.db.images()?.into_iter().map(|(id, _)| id).collect();
                if let Err(cleanup) = self.images.discard(&added_blobs, &added_layers, &keep) {
                    return Err(Error::CleanupFailed {
                        source: Box::new(e),
                        cleanup: Box::new(cleanup.into()),
                    });
                }
                return Err(e);
            }
        };
        for (n, &i) in missing.iter().enumerate() {
            sizes[i] = Some(downloaded[n]);
            fetched = true;
        }
        for (i, size) in sizes.iter_mut().enumerate() {
            if size.is_none() {
                *size = Some(self.images.layer_blob_size(&manifest.layers[i].digest)?);
            }
        }
        let sizes: Vec<u64> = sizes.into_iter().map(Option::unwrap_or_default).collect();
        for blob in manifest.layers.iter().chain([&manifest.config]) {
            self.db
                .add_blob_source(&blob.digest, session.registry(), session.repository())?;
        }
        let previous = self.db.tag(&name)?;
        let id = self.register(&manifest, sizes, &name)?;
        let downloaded = fetched || previous.as_deref() != Some(id.as_str());
        progress(Progress::line(format!("Digest: {}", manifest.digest)));
        progress(Progress::line(if downloaded {
            format!("Status: Downloaded newer image for {name}")
        } else {
            format!("Status: Image is up to date for {name}")
        }));
        Ok(Pulled {
            name,
            id,
            manifest_digest: manifest.digest,
            downloaded,
        })
    }

    /// A pulled image's config, which must name one diff id per layer of its manifest.
    fn pulled_config(&self, manifest: &PulledManifest) -> Result<berth_image::ImageConfig, Error> {
        let path = self.images.blob_path(&manifest.config.digest)?;
        let config: berth_image::ImageConfig = std::fs::read(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))
            .and_then(|d| {
                serde_json::from_slice(&d)
                    .map_err(|e| Error::json(format!("image config {}", manifest.config.digest), e))
            })?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(Error::Internal(format!(
                "bad image {}: its config has {} diff_ids but its manifest {} layers",
                manifest.config.digest,
                config.rootfs.diff_ids.len(),
                manifest.layers.len()
            )));
        }
        Ok(config)
    }

    /// Downloads one blob into the store; its digest is checked before it is renamed into place.
    fn fetch_blob(&self, session: &Session, digest: &str) -> Result<(), Error> {
        let reader = session.blob(digest)?;
        self.images
            .put_blob_from(reader, digest)
            .map_err(|source| Error::Stored {
                context: format!("downloading {digest}"),
                source,
            })?;
        Ok(())
    }

    /// Stores the manifest blob and registers the image under `name` (all its blobs are
    /// present by now).
    fn register(
        &self,
        manifest: &PulledManifest,
        layer_sizes: Vec<u64>,
        name: &str,
    ) -> Result<String, Error> {
        let stored = self.images.put_blob(&manifest.bytes)?;
        if stored != manifest.digest {
            return Err(Error::Internal(format!(
                "manifest digest mismatch: expected {}, stored {stored}",
                manifest.digest
            )));
        }
        let id = self.images.add_manifest_sized(&stored, Some(layer_sizes))?;
        let image = self.images.image(&id)?;
        if image.config.rootfs.diff_ids.len() != image.layers.len() {
            return Err(Error::Internal(format!(
                "bad image {id}: its config has {} diff_ids but its manifest {} layers",
                image.config.rootfs.diff_ids.len(),
                image.layers.len()
            )));
        }
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.db.add_image(&id, &created, &[name.to_string()])?;
        Ok(id)
    }

    /// `berth push NAME[:TAG]`: blobs the registry lacks (HEAD first, then a mount), then the
    /// manifest. Uncompressed layers (imported or loaded ones) go up gzip'd at the fast level
    /// (compressed once, then kept: see `Store::gzip_variant`) and the pushed manifest names
    /// those blobs (the config, so the image id, is unchanged);
    /// compressed layers (pulled ones) go as stored, with the manifest as stored.
    /// Returns (tag, manifest digest, manifest size).
    pub fn push_image(
        &self,
        name: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(String, String, usize), Error> {
        self.push_image_as(name, None, progress)
    }

    /// [`Engine::push_image`] with explicit (user, password) instead of the stored credentials.
    pub fn push_image_as(
        &self,
        name: &str,
        credentials: Option<(String, String)>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(String, String, usize), Error> {
        let normalized = reference::normalize(name)?;
        if normalized.contains('@') {
            return Err(Error::InvalidArgument(format!(
                "cannot push a digest reference: {name}"
            )));
        }
        let id = self.db.tag(&normalized)?.ok_or_else(|| {
            Error::NotFound(format!(
                "An image does not exist locally with the tag: {}",
                reference::split(&normalized).0
            ))
        })?;
        let image = self.images.image(&id)?;
        let manifest_path = self.images.blob_path(&image.manifest_digest)?;
        let bytes = std::fs::read(&manifest_path)
            .map_err(|e| Error::io(format!("reading {}", manifest_path.display()), e))?;
        if registry::sha256_digest(&bytes) != image.manifest_digest {
            return Err(Error::Internal(format!(
                "stored manifest {} does not match its digest",
                image.manifest_digest
            )));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::json("stored manifest", e))?;
        let media_type = value["mediaType"]
            .as_str()
            .unwrap_or(registry::MEDIA_OCI_MANIFEST)
            .to_string();
        let parsed = registry::parse_reference(&normalized)?;
        let (repo, tag) = reference::split(&normalized);
        progress(Progress::line(format!(
            "The push refers to repository [{repo}]"
        )));
        let config = self.daemon_config()?;
        let session = Session::open_for_push(&parsed, credentials, &config.registry)?;
        for layer in &image.layers {
            progress(Progress::of(short(layer), "Preparing"));
        }
        for layer in image.layers.iter().skip(transfer::UPLOADS) {
            progress(Progress::of(short(layer), "Waiting"));
        }
        // Mount candidates are looked up before the threads start: the database is not shared.
        let mut sources: HashMap<String, Vec<String>> = HashMap::new();
        for (digest, repository) in self.db.blob_sources_in(session.registry())? {
            if repository != session.repository() {
                sources.entry(digest).or_default().push(repository);
            }
        }
        let media_types: Vec<String> = value["layers"]
            .as_array()
            .map(|layers| {
                layers
                    .iter()
                    .map(|l| l["mediaType"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if media_types.len() != image.layers.len() {
            return Err(Error::Internal(format!(
                "stored manifest {} does not list the image's layers",
                image.manifest_digest
            )));
        }
        // What each layer went up as: (digest, size, media type).
        let sent: Mutex<Vec<Option<(String, u64, String)>>> =
            Mutex::new(vec![None; image.layers.len()]);
        let store = &self.images;
        let session_ref = &session;
        transfer::run_parallel(
            image.layers.len(),
            transfer::UPLOADS,
            progress,
            |i, reporter| {
                let stored = &image.layers[i];
                let id = short(stored);
                // Uncompressed layers go up gzip'd at the fast level, as docker sends them.
                let (digest, size, media_type) = match gzip_media_type(&media_types[i]) {
                    Some(gzip_type) => {
                        let (digest, size) = store.gzip_variant(stored)?;
                        (digest, size, gzip_type.to_string())
                    }
                    None => {
                        let path = store.blob_path(stored)?;
                        let size = std::fs::metadata(&path)
                            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
                            .len();
                        (stored.clone(), size, media_types[i].clone())
                    }
                };
                if let Ok(mut sent) = sent.lock() {
                    sent[i] = Some((digest.clone(), size, media_type));
                }
                if session_ref.has_blob(&digest)? {
                    reporter.send(Progress::of(&id, "Layer already exists"));
                    return Ok(0);
                }
                let candidates = sources.get(&digest).map(Vec::as_slice).unwrap_or_default();
                if let Some(from) = candidates
                    .iter()
                    .find(|from| session_ref.mount_blob(&digest, from))
                {
                    reporter.send(Progress::of(&id, format!("Mounted from {from}")));
                    return Ok(0);
                }
                let path = store.blob_path(&digest)?;
                let file = std::fs::File::open(&path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                let reader =
                    ProgressReader::new(file, reporter.clone(), &id, "Pushing", Some(size));
                session_ref.push_blob(&digest, size, reader)?;
                reporter.send(Progress::of(&id, "Pushed"));
                Ok(size)
            },
        )?;
        let sent: Vec<(String, u64, String)> = sent
            .into_inner()
            .map_err(|_| Error::Internal("a push worker panicked".into()))?
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Internal("a layer was not pushed".into()))?;
        if !session.has_blob(&id)? {
            let path = self.images.blob_path(&id)?;
            let file = std::fs::File::open(&path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            let size = file
                .metadata()
                .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
                .len();
            session.push_blob(&id, size, file)?;
        }
        for blob in sent.iter().map(|(digest, ..)| digest).chain([&id]) {
            self.db
                .add_blob_source(blob, session.registry(), session.repository())?;
        }
        // The manifest as stored, unless layers went up compressed: then it names those blobs.
        let bytes = if sent
            .iter()
            .zip(&image.layers)
            .all(|((sent, ..), stored)| sent == stored)
        {
            bytes
        } else {
            let mut manifest = value.clone();
            if let Some(layers) = manifest["layers"].as_array_mut() {
                for (layer, (digest, size, media_type)) in layers.iter_mut().zip(&sent) {
                    layer["digest"] = digest.as_str().into();
                    layer["size"] = (*size).into();
                    layer["mediaType"] = media_type.as_str().into();
                }
            }
            serde_json::to_vec(&manifest).map_err(|e| Error::json("writing the manifest", e))?
        };
        let digest = session.push_manifest(tag, &bytes, &media_type)?;
        progress(Progress::line(format!(
            "{tag}: digest: {digest} size: {}",
            bytes.len()
        )));
        Ok((tag.to_string(), digest, bytes.len()))
    }

    /// `berth login`: checks the credentials against the registry, then stores them.
    pub fn login(&self, server: Option<&str>, user: &str, password: &str) -> Result<String, Error> {
        let server = registry::normalize_registry(server.unwrap_or("docker.io"));
        registry::check_login(&self.daemon_config()?.registry, &server, user, password)?;
        registry::credentials::store(&server, user, password)?;
        Ok(server)
    }

    /// The API's `POST /auth`: checks the credentials against the registry without storing
    /// them (the client stores them). Ok(Err(message)) when the registry refused them.
    pub fn check_registry_login(
        &self,
        server: Option<&str>,
        user: &str,
        password: &str,
    ) -> Result<Result<String, String>, Error> {
        let server = registry::normalize_registry(server.unwrap_or("docker.io"));
        match registry::check_login(&self.daemon_config()?.registry, &server, user, password) {
            Ok(()) => Ok(Ok(server)),
            Err(registry::Error::Unauthorized(m)) => Ok(Err(m)),
            Err(e) => Err(e.into()),
        }
    }

    /// `berth logout`: forgets the credentials; Ok(false) when there were none.
    pub fn logout(&self, server: Option<&str>) -> Result<(String, bool), Error> {
        let server = registry::normalize_registry(server.unwrap_or("docker.io"));
        let removed = registry::credentials::remove(&server)?;
        Ok((server, removed))
    }
}
