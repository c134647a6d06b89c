//! Registry operations: pull, push, login, logout. The registry crate talks to the registry; this
//! module moves content between it and the image store and keeps the names in the database.
//!
//! Pull order keeps the store consistent: every blob goes through tmp/ and is renamed into place
//! only after its digest matched; the manifest is stored and the image registered only once all
//! its blobs are present; the name is set last. A failed pull leaves no image and no name (blobs
//! already downloaded stay as unreferenced content until the next gc, and are reused by a retry).

use berth_registry::{self as registry, Platform, PulledManifest, Session};

use crate::{Engine, Error, reference};

/// One progress line, shaped like Docker's JSON progress messages (`{"id":..,"status":..}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub id: Option<String>,
    pub status: String,
}

impl Progress {
    fn line(status: impl Into<String>) -> Progress {
        Progress { id: None, status: status.into() }
    }
    fn of(id: impl Into<String>, status: impl Into<String>) -> Progress {
        Progress { id: Some(id.into()), status: status.into() }
    }
}

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

impl From<registry::Error> for Error {
    fn from(e: registry::Error) -> Self {
        match e {
            registry::Error::NotFound(m) => Error::NotFound(m),
            registry::Error::InvalidArgument(m) => Error::InvalidArgument(m),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// The first 12 hex digits of a digest, as Docker shows layers.
fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex[..hex.len().min(12)].to_string()
}

impl Engine {
    /// `berth pull NAME[:TAG|@DIGEST]` (or every tag with `all_tags`).
    pub fn pull_image(
        &self,
        name: &str,
        options: &PullOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Pulled>, Error> {
        let normalized = reference::normalize(name)?;
        let parsed = registry::parse_reference(&normalized)?;
        let platform = match &options.platform {
            Some(p) => Platform::parse(p)?,
            None => Platform::host(),
        };
        let session = Session::open(&parsed)?;
        let (repo, _) = reference::split(&normalized);
        if options.all_tags {
            let last = name.rsplit('/').next().unwrap_or(name);
            if last.contains(':') || name.contains('@') {
                return Err(Error::InvalidArgument("tag can't be used with --all-tags/-a".into()));
            }
            let mut tags = session.tags()?;
            tags.sort();
            let mut out = Vec::new();
            for tag in tags {
                out.push(self.pull_one(&session, repo, parsed.repository(), &tag, &platform, progress)?);
            }
            progress(Progress::line(format!("Status: Downloaded all tags of {repo}")));
            return Ok(out);
        }
        let tag_or_digest = parsed.digest().or(parsed.tag()).unwrap_or("latest").to_string();
        Ok(vec![self.pull_one(&session, repo, parsed.repository(), &tag_or_digest, &platform, progress)?])
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
        let name = if by_digest { format!("{repo}@{tag_or_digest}") } else { format!("{repo}:{tag_or_digest}") };
        progress(Progress::of(tag_or_digest, format!("Pulling from {remote_path}")));
        let manifest = session.manifest(tag_or_digest, platform)?;
        let mut fetched = false;
        for layer in &manifest.layers {
            if self.images.blob_path(&layer.digest)?.exists() {
                progress(Progress::of(short(&layer.digest), "Already exists"));
                continue;
            }
            self.fetch_blob(session, &layer.digest)?;
            fetched = true;
            progress(Progress::of(short(&layer.digest), "Pull complete"));
        }
        if !self.images.blob_path(&manifest.config.digest)?.exists() {
            self.fetch_blob(session, &manifest.config.digest)?;
            fetched = true;
        }
        let id = self.register(&manifest)?;
        let previous = self.db.tag(&name)?;
        let downloaded = fetched || previous.as_deref() != Some(id.as_str());
        if previous.as_deref() != Some(id.as_str()) {
            self.db.set_tag(&name, &id)?;
        }
        progress(Progress::line(format!("Digest: {}", manifest.digest)));
        progress(Progress::line(if downloaded {
            format!("Status: Downloaded newer image for {name}")
        } else {
            format!("Status: Image is up to date for {name}")
        }));
        Ok(Pulled { name, id, manifest_digest: manifest.digest, downloaded })
    }

    /// Downloads one blob into the store; its digest is checked before it is renamed into place.
    fn fetch_blob(&self, session: &Session, digest: &str) -> Result<(), Error> {
        let reader = session.blob(digest)?;
        self.images.put_blob_from(reader, digest).map_err(|e| Error::Internal(format!("downloading {digest}: {e}")))?;
        Ok(())
    }

    /// Stores the manifest blob and registers the image (all its blobs are present by now).
    fn register(&self, manifest: &PulledManifest) -> Result<String, Error> {
        let stored = self.images.put_blob(&manifest.bytes)?;
        if stored != manifest.digest {
            return Err(Error::Internal(format!("manifest digest mismatch: expected {}, stored {stored}", manifest.digest)));
        }
        let id = self.images.add_manifest(&stored)?;
        let image = self.images.image(&id)?;
        if image.config.rootfs.diff_ids.len() != image.layers.len() {
            return Err(Error::Internal(format!(
                "bad image {id}: its config has {} diff_ids but its manifest {} layers",
                image.config.rootfs.diff_ids.len(),
                image.layers.len()
            )));
        }
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.db.add_image(&id, &created)?;
        Ok(id)
    }

    /// `berth push NAME[:TAG]`: blobs the registry lacks (HEAD first), then the manifest as
    /// stored. Layers go as berth stores them: imported layers are uncompressed tars with the OCI
    /// media type `application/vnd.oci.image.layer.v1.tar`; pulled layers keep their compression.
    /// Returns (tag, manifest digest, manifest size).
    pub fn push_image(&self, name: &str, progress: &mut dyn FnMut(Progress)) -> Result<(String, String, usize), Error> {
        let normalized = reference::normalize(name)?;
        if normalized.contains('@') {
            return Err(Error::InvalidArgument(format!("cannot push a digest reference: {name}")));
        }
        let id = self
            .db
            .tag(&normalized)?
            .ok_or_else(|| Error::NotFound(format!("An image does not exist locally with the tag: {}", reference::split(&normalized).0)))?;
        let image = self.images.image(&id)?;
        let manifest_path = self.images.blob_path(&image.manifest_digest)?;
        let bytes = std::fs::read(&manifest_path).map_err(|e| Error::io(format!("reading {}", manifest_path.display()), e))?;
        if registry::sha256_digest(&bytes) != image.manifest_digest {
            return Err(Error::Internal(format!("stored manifest {} does not match its digest", image.manifest_digest)));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Internal(format!("stored manifest: {e}")))?;
        let media_type = value["mediaType"].as_str().unwrap_or(registry::MEDIA_OCI_MANIFEST).to_string();
        let parsed = registry::parse_reference(&normalized)?;
        let (repo, tag) = reference::split(&normalized);
        progress(Progress::line(format!("The push refers to repository [{repo}]")));
        let session = Session::open(&parsed)?;
        let mut blobs: Vec<(String, bool)> = image.layers.iter().map(|l| (l.clone(), true)).collect();
        blobs.push((id.clone(), false));
        for (digest, is_layer) in blobs {
            let path = self.images.blob_path(&digest)?;
            if session.has_blob(&digest)? {
                if is_layer {
                    progress(Progress::of(short(&digest), "Layer already exists"));
                }
                continue;
            }
            let file = std::fs::File::open(&path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            let size = file.metadata().map_err(|e| Error::io(format!("stat {}", path.display()), e))?.len();
            session.push_blob(&digest, size, file)?;
            if is_layer {
                progress(Progress::of(short(&digest), "Pushed"));
            }
        }
        let digest = session.push_manifest(tag, &bytes, &media_type)?;
        progress(Progress::line(format!("{tag}: digest: {digest} size: {}", bytes.len())));
        Ok((tag.to_string(), digest, bytes.len()))
    }

    /// `berth login`: checks the credentials against the registry, then stores them.
    pub fn login(&self, server: Option<&str>, user: &str, password: &str) -> Result<String, Error> {
        let server = registry::normalize_registry(server.unwrap_or("docker.io"));
        registry::check_login(&server, user, password)?;
        registry::credentials::store(&server, user, password)?;
        Ok(server)
    }

    /// `berth logout`: forgets the credentials; Ok(false) when there were none.
    pub fn logout(&self, server: Option<&str>) -> Result<(String, bool), Error> {
        let server = registry::normalize_registry(server.unwrap_or("docker.io"));
        let removed = registry::credentials::remove(&server)?;
        Ok((server, removed))
    }
}
