//! One repository on one registry: manifests, blobs, tags, through `oci-client`, with a private
//! current-thread tokio runtime so the API stays blocking.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

use crate::{Endpoint, RegistryConfig};
use crate::{
    Error, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, Platform,
    Result, credentials, registry_of, sha256_digest,
};

/// Manifest types sent in Accept.
const ACCEPTED: &[&str] = &[
    MEDIA_DOCKER_MANIFEST,
    MEDIA_DOCKER_LIST,
    MEDIA_OCI_MANIFEST,
    MEDIA_OCI_INDEX,
];

/// A blob a manifest refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobRef {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// An image manifest (never a list), exactly as the registry served it.
#[derive(Debug, Clone)]
pub struct PulledManifest {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, checked against the digest the user asked for.
    pub digest: String,
    pub media_type: String,
    pub config: BlobRef,
    pub layers: Vec<BlobRef>,
}

pub struct Session {
    rt: tokio::runtime::Runtime,
    client: Client,
    auth: RegistryAuth,
    registry: String,
    repository: String,
    /// Where requests go, in the order a manifest is looked for (docker.io's mirrors first).
    endpoints: Vec<Endpoint>,
    /// The endpoint that answered the last manifest request; blobs come from the same one.
    current: AtomicUsize,
}

pub(crate) fn install_crypto() {
    // reqwest's rustls without a built-in provider: use ring (no cmake/aws-lc build).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Two workers drive the network for every thread of a pull or push: each transfer blocks its
/// own caller thread on its stream, so several layers move at once (`Session` is `Sync`).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the registry client", e))
}

fn scheme(config: &RegistryConfig, registry: &str) -> &'static str {
    if config.is_insecure(registry) {
        "http"
    } else {
        "https"
    }
}

impl Session {
    /// Opens a session for the repository of `reference`, with the credentials stored for its
    /// registry (anonymous when none).
    pub fn open(reference: &Reference) -> Result<Session> {
        Session::open_as(reference, None)
    }

    /// Like [`Session::open`], with `credentials` (user, password) in place of the stored ones
    /// when given (the API's `X-Registry-Auth`).
    pub fn open_as(
        reference: &Reference,
        credentials: Option<(String, String)>,
    ) -> Result<Session> {
        Session::open_for_push(reference, credentials, &RegistryConfig::default())
    }

    /// A session for pulling: docker.io's mirrors in `config` are tried before docker.io, and
    /// insecure registries are spoken to over plain HTTP.
    pub fn open_for_pull(
        reference: &Reference,
        credentials: Option<(String, String)>,
        config: &RegistryConfig,
    ) -> Result<Session> {
        Session::open_endpoints(
            reference,
            credentials,
            config.endpoints(reference.registry()),
        )
    }

    /// A session for pushing (or anything that must reach the registry itself, never a mirror).
    pub fn open_for_push(
        reference: &Reference,
        credentials: Option<(String, String)>,
        config: &RegistryConfig,
    ) -> Result<Session> {
        let registry = reference.registry();
        let own = Endpoint {
            host: registry.to_string(),
            plain_http: config.is_insecure(registry),
            mirror: false,
        };
        Session::open_endpoints(reference, credentials, vec![own])
    }

    fn open_endpoints(
        reference: &Reference,
        credentials: Option<(String, String)>,
        endpoints: Vec<Endpoint>,
    ) -> Result<Session> {
        install_crypto();
        let registry = reference.registry().to_string();
        let plain: Vec<String> = endpoints
            .iter()
            .filter(|e| e.plain_http)
            .map(|e| e.host.clone())
            .collect();
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain),
            platform_resolver: None,
            use_monolithic_push: true,
            connect_timeout: Some(std::time::Duration::from_secs(15)),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| Error::Transport(e.to_string()))?;
        let stored = match credentials {
            Some(given) => Some(given),
            None => credentials::get(&registry_of(reference))?,
        };
        let auth = match stored {
            Some((user, pass)) => RegistryAuth::Basic(user, pass),
            None => RegistryAuth::Anonymous,
        };
        let rt = runtime()?;
        let session = Session {
            rt,
            client,
            auth,
            registry,
            repository: reference.repository().to_string(),
            endpoints,
            current: AtomicUsize::new(0),
        };
        let first = session.tagged("latest");
        session.rt.block_on(
            session
                .client
                .store_auth_if_needed(first.resolve_registry(), &session.auth),
        );
        Ok(session)
    }

    /// The host requests go to now (`docker.io`, a mirror's `127.0.0.1:5000`).
    fn host(&self) -> &str {
        self.endpoints
            .get(self.current.load(Ordering::Relaxed))
            .map_or(self.registry.as_str(), |e| e.host.as_str())
    }

    fn tagged(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.host().to_string(),
            self.repository.clone(),
            tag.to_string(),
        )
    }

    fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.host().to_string(),
            self.repository.clone(),
            digest.to_string(),
        )
    }

    /// `tag` or `sha256:...`.
    fn reference(&self, tag_or_digest: &str) -> Reference {
        if tag_or_digest.contains(':') {
            self.by_digest(tag_or_digest)
        } else {
            self.tagged(tag_or_digest)
        }
    }

    fn display(&self, tag_or_digest: &str) -> String {
        let sep = if tag_or_digest.contains(':') {
            '@'
        } else {
            ':'
        };
        let repo = self
            .repository
            .strip_prefix("library/")
            .filter(|_| self.registry == "docker.io");
        match repo {
            Some(r) => format!("{r}{sep}{tag_or_digest}"),
            None => format!("{}/{}{sep}{tag_or_digest}", self.registry, self.repository),
        }
    }

    /// Every tag of the repository.
    pub fn tags(&self) -> Result<Vec<String>> {
        let r = self.tagged("latest");
        let resp = self
            .rt
            .block_on(self.client.list_tags(&r, &self.auth, None, None))
            .map_err(|e| {
                map_err(
                    e,
                    &format!("listing the tags of {}/{}", self.registry, self.repository),
                )
            })?;
        Ok(resp.tags)
    }

    /// The repository as Docker shows it: `busybox` for docker.io's `library/busybox`, else
    /// with its registry (`127.0.0.1:5000/bb`).
    fn familiar_name(&self) -> String {
        match self
            .repository
            .strip_prefix("library/")
            .filter(|_| self.registry == "docker.io")
        {
            Some(r) => r.to_string(),
            None if self.registry == "docker.io" => self.repository.clone(),
            None => format!("{}/{}", self.registry, self.repository),
        }
    }

    /// A manifest fetch's failure in dockerd's words: a denied, unknown repository or unknown
    /// manifest is "not found" (dockerd's 404), with the registry's own error after it.
    fn manifest_error(&self, e: OciDistributionError, what: &str) -> Error {
        if let OciDistributionError::RegistryError { envelope, .. } = &e
            && let Some(first) = envelope.errors.first()
        {
            let cause = error_message(first);
            match first.code {
                OciErrorCode::Denied => {
                    return Error::NotFound(format!(
                        "pull access denied for {}, repository does not exist or may require 'docker login': {cause}",
                        self.familiar_name()
                    ));
                }
                OciErrorCode::ManifestUnknown => {
                    return Error::NotFound(format!("manifest for {what} not found: {cause}"));
                }
                OciErrorCode::NameUnknown => {
                    return Error::NotFound(format!(
                        "repository {} not found: {cause}",
                        self.familiar_name()
                    ));
                }
                _ => {}
            }
        }
        match map_err(e, what) {
            Error::NotFound(m) => Error::NotFound(format!("manifest for {what} not found: {m}")),
            other => other,
        }
    }

    async fn raw_manifest(&self, r: &Reference, what: &str) -> Result<(Vec<u8>, String)> {
        let (body, _) = self
            .client
            .pull_manifest_raw(r, &self.auth, ACCEPTED)
            .await
            .map_err(|e| self.manifest_error(e, what))?;
        let digest = sha256_digest(&body);
        if let Some(wanted) = r.digest()
            && wanted != digest
        {
            return Err(Error::BadContent(format!(
                "manifest for {what}: digest mismatch: expected {wanted}, got {digest}"
            )));
        }
        Ok((body.to_vec(), digest))
    }

    /// The image manifest for `tag_or_digest`; from a manifest list or index, the entry for
    /// `platform`.
    pub fn manifest(&self, tag_or_digest: &str, platform: &Platform) -> Result<PulledManifest> {
        self.on_first_endpoint_with(|| self.manifest_here(tag_or_digest, platform))
    }

    /// Runs `fetch` against each endpoint in turn until one answers (a mirror that lacks the
    /// content or cannot be reached gives way to the next; the registry's own answer is final),
    /// and stays on that endpoint for what follows (the blobs of that manifest).
    fn on_first_endpoint_with<T>(&self, fetch: impl Fn() -> Result<T>) -> Result<T> {
        let mut failure = None;
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            self.current.store(i, Ordering::Relaxed);
            if i > 0 {
                let r = self.tagged("latest");
                self.rt.block_on(
                    self.client
                        .store_auth_if_needed(r.resolve_registry(), &self.auth),
                );
            }
            match fetch() {
                Ok(found) => return Ok(found),
                Err(e) if endpoint.mirror => failure = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(failure.unwrap_or_else(|| {
            Error::Transport(format!("no endpoint to pull {} from", self.registry))
        }))
    }

    /// [`Session::manifest`] from the current endpoint.
    fn manifest_here(&self, tag_or_digest: &str, platform: &Platform) -> Result<PulledManifest> {
        let what = self.display(tag_or_digest);
        let r = self.reference(tag_or_digest);
        self.rt.block_on(async {
            let (bytes, digest) = self.raw_manifest(&r, &what).await?;
            let value = parse(&bytes, &what)?;
            let kind = kind_of(&value);
            if kind == MEDIA_DOCKER_LIST || kind == MEDIA_OCI_INDEX {
                let chosen = choose(&value, platform).ok_or_else(|| {
                    Error::NotFound(format!(
                        "no matching manifest for {platform} in the manifest list entries of {what}"
                    ))
                })?;
                let (bytes, digest) = self.raw_manifest(&self.by_digest(&chosen), &what).await?;
                let value = parse(&bytes, &what)?;
                let kind = kind_of(&value);
                if kind == MEDIA_DOCKER_LIST || kind == MEDIA_OCI_INDEX {
                    return Err(Error::BadContent(format!(
                        "{what}: a manifest list inside a manifest list"
                    )));
                }
                return image_manifest(bytes, digest, &value, &kind, &what);
            }
            image_manifest(bytes, digest, &value, &kind, &what)
        })
    }

    /// The manifest (or manifest list / index) `tag_or_digest` names, as the registry serves
    /// it: its bytes, digest and media type (`docker manifest inspect`, `/distribution`).
    /// Looks on each endpoint in turn (docker.io's mirrors first), as [`Session::manifest`].
    pub fn top_manifest(&self, tag_or_digest: &str) -> Result<(Vec<u8>, String, String)> {
        let what = self.display(tag_or_digest);
        self.on_first_endpoint_with(|| {
            let r = self.reference(tag_or_digest);
            self.rt.block_on(async {
                let (bytes, digest) = self.raw_manifest(&r, &what).await?;
                let kind = kind_of(&parse(&bytes, &what)?);
                Ok((bytes, digest, kind))
            })
        })
    }

    /// A small blob (an image config) read whole; its digest is checked.
    pub fn small_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        self.blob(digest)?
            .take(16 * 1024 * 1024)
            .read_to_end(&mut data)
            .map_err(|e| Error::Transport(format!("blob {digest}: {e}")))?;
        if sha256_digest(&data) != digest {
            return Err(Error::BadContent(format!("blob {digest}: digest mismatch")));
        }
        Ok(data)
    }

    /// Starts downloading a blob. The reader fails at the end when the content does not match
    /// `digest`; callers verify it again before using it.
    pub fn blob(&self, digest: &str) -> Result<BlobReader<'_>> {
        let r = self.by_digest(digest);
        let what = format!("blob {digest}");
        let sized = self
            .rt
            .block_on(self.client.pull_blob_stream(&r, digest))
            .map_err(|e| map_err(e, &what))?;
        Ok(BlobReader::new(self, sized))
    }

    /// Asks the registry to mount a blob it already holds in `from_repository` into this
    /// repository (cross-repository blob mount): true when it did. Any refusal (unknown blob,
    /// no permission on the source, a registry that starts an upload instead) is false, and the
    /// caller uploads the blob.
    pub fn mount_blob(&self, digest: &str, from_repository: &str) -> bool {
        let target = self.tagged("latest");
        let source = Reference::with_tag(
            self.host().to_string(),
            from_repository.to_string(),
            "latest".into(),
        );
        self.rt
            .block_on(self.client.mount_blob(&target, &source, digest))
            .is_ok()
    }

    /// The registry host this session talks to, as references spell it (`127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path on the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Starts downloading a blob of `size` bytes without checking its digest on the way: for
    /// callers that hash the content themselves anyway (the image store does, before anything
    /// becomes visible), so it is hashed once, not twice. Asks for the whole byte range, which a
    /// registry answers with 206 and oci-client then passes through unhashed; a registry that
    /// ignores ranges answers 200 and the content is checked here as well.
    pub fn blob_unchecked(&self, digest: &str, size: u64) -> Result<BlobReader<'_>> {
        if size == 0 {
            return self.blob(digest);
        }
        let r = self.by_digest(digest);
        let what = format!("blob {digest}");
        let response = self
            .rt
            .block_on(
                self.client
                    .pull_blob_stream_partial(&r, digest, 0, Some(size)),
            )
            .map_err(|e| map_err(e, &what))?;
        let sized = match response {
            oci_client::client::BlobResponse::Full(s)
            | oci_client::client::BlobResponse::Partial(s) => s,
        };
        Ok(BlobReader::new(self, sized))
    }

    /// Whether the registry has the blob in this repository (HEAD).
    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        let r = self.by_digest(digest);
        self.rt
            .block_on(self.client.blob_exists(&r, digest))
            .map_err(|e| map_err(e, &format!("checking blob {digest}")))
    }

    /// Uploads a blob from a reader (streamed, one monolithic PUT); the registry checks the digest.
    pub fn push_blob(
        &self,
        digest: &str,
        size: u64,
        file: impl Read + Send + 'static,
    ) -> Result<()> {
        let r = self.tagged("latest");
        let stream = futures_util::stream::unfold(Some(file), |state| async move {
            let mut file = state?;
            let mut buf = vec![0u8; 1 << 20];
            match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(OciDistributionError::IoError(e)), None)),
            }
        });
        self.rt
            .block_on(self.client.push_blob_stream(&r, stream, digest, Some(size)))
            .map_err(|e| map_err(e, &format!("pushing blob {digest}")))?;
        Ok(())
    }

    /// Uploads a manifest under `tag`; returns its digest.
    pub fn push_manifest(&self, tag: &str, bytes: &[u8], media_type: &str) -> Result<String> {
        let r = self.tagged(tag);
        let content_type = media_type
            .parse()
            .map_err(|_| Error::BadContent(format!("bad manifest media type {media_type:?}")))?;
        self.rt
            .block_on(
                self.client
                    .push_manifest_raw(&r, bytes.to_vec(), content_type),
            )
            .map_err(|e| map_err(e, &format!("pushing the manifest of {}", self.display(tag))))?;
        Ok(sha256_digest(bytes))
    }
}

/// A blocking reader over a blob download.
pub struct BlobReader<'a> {
    session: &'a Session,
    stream: BoxStream<'static, std::io::Result<bytes::Bytes>>,
    buf: bytes::Bytes,
    len: Option<u64>,
    /// The stream ended: never poll it again (oci-client's verifying stream would check the
    /// digest a second time, over nothing, and fail).
    ended: bool,
}

impl<'a> BlobReader<'a> {
    fn new(session: &'a Session, sized: oci_client::client::SizedStream) -> BlobReader<'a> {
        BlobReader {
            session,
            stream: sized.stream,
            buf: bytes::Bytes::new(),
            len: sized.content_length,
            ended: false,
        }
    }

    /// The blob's length as the registry announced it (Content-Length), when it did.
    pub fn announced_len(&self) -> Option<u64> {
        self.len
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.session.rt.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.buf = chunk,
                Some(Err(e)) => return Err(e),
                None => {
                    self.ended = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}

fn parse(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::BadContent(format!("malformed manifest for {what}: {e}")))
}

fn kind_of(value: &Value) -> String {
    if let Some(m) = value.get("mediaType").and_then(Value::as_str) {
        return m.to_string();
    }
    if value.get("manifests").is_some() {
        MEDIA_OCI_INDEX.to_string()
    } else if value.get("layers").is_some() {
        MEDIA_OCI_MANIFEST.to_string()
    } else {
        String::new()
    }
}

fn choose(index: &Value, platform: &Platform) -> Option<String> {
    let entries = index.get("manifests")?.as_array()?;
    let matches = |e: &&Value| {
        let p = &e["platform"];
        p["os"].as_str() == Some(platform.os.as_str())
            && p["architecture"].as_str() == Some(platform.architecture.as_str())
            && platform
                .variant
                .as_deref()
                .is_none_or(|v| p["variant"].as_str() == Some(v))
    };
    entries
        .iter()
        .find(matches)
        .and_then(|e| e["digest"].as_str())
        .map(str::to_string)
}

fn blob_ref(v: &Value, what: &str) -> Result<BlobRef> {
    let digest = v["digest"].as_str().unwrap_or_default();
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::BadContent(format!(
            "manifest for {what}: unsupported or invalid digest {digest:?}"
        )));
    }
    Ok(BlobRef {
        media_type: v["mediaType"].as_str().unwrap_or_default().to_string(),
        digest: digest.to_string(),
        size: v["size"].as_u64().unwrap_or(0),
    })
}

fn image_manifest(
    bytes: Vec<u8>,
    digest: String,
    value: &Value,
    kind: &str,
    what: &str,
) -> Result<PulledManifest> {
    if value["schemaVersion"].as_u64() == Some(1) {
        return Err(Error::BadContent(format!(
            "{what}: Docker image manifest schema 1 is not supported"
        )));
    }
    if kind != MEDIA_DOCKER_MANIFEST && kind != MEDIA_OCI_MANIFEST {
        return Err(Error::BadContent(format!(
            "{what}: unsupported manifest media type {kind:?}"
        )));
    }
    let config = blob_ref(&value["config"], what)?;
    let layers = value["layers"]
        .as_array()
        .ok_or_else(|| Error::BadContent(format!("manifest for {what} has no layers list")))?
        .iter()
        .map(|l| blob_ref(l, what))
        .collect::<Result<Vec<_>>>()?;
    Ok(PulledManifest {
        bytes,
        digest,
        media_type: kind.to_string(),
        config,
        layers,
    })
}

/// One registry error as dockerd prints it (distribution's `errcode.Error`): the code in lower
/// case with spaces, then the registry's message (`manifest unknown: manifest unknown`).
fn error_message(e: &oci_client::errors::OciError) -> String {
    let code = match e.code {
        OciErrorCode::ManifestUnknown => "manifest unknown".to_string(),
        OciErrorCode::NameUnknown => "name unknown".to_string(),
        OciErrorCode::BlobUnknown => "blob unknown".to_string(),
        _ => format!("{:?}", e.code).to_lowercase(),
    };
    if e.message.is_empty() {
        code
    } else {
        format!("{code}: {}", e.message)
    }
}

fn codes_message(envelope: &oci_client::errors::OciEnvelope) -> String {
    envelope
        .errors
        .iter()
        .map(error_message)
        .collect::<Vec<_>>()
        .join("; ")
}

/// oci-client's errors as berth's, with Docker-like wording.
fn map_err(e: OciDistributionError, what: &str) -> Error {
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => {
            Error::Unauthorized(format!("{what}: unauthorized: authentication required"))
        }
        OciDistributionError::ImageManifestNotFoundError(m) => Error::NotFound(m),
        OciDistributionError::RegistryError { envelope, .. } => {
            let msg = codes_message(&envelope);
            let code = |c: fn(&OciErrorCode) -> bool| envelope.errors.iter().any(|e| c(&e.code));
            if code(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                Error::Unauthorized(format!("{what}: unauthorized: {msg}"))
            } else if code(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                Error::NotFound(msg)
            } else {
                Error::Transport(format!("{what}: {msg}"))
            }
        }
        OciDistributionError::ServerError {
            code: 404, message, ..
        } => Error::NotFound(format!("not found {}", message.trim())),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => Error::Unauthorized(format!("{what}: unauthorized: authentication required")),
        OciDistributionError::DigestError(d) => Error::BadContent(format!("{what}: {d}")),
        OciDistributionError::RequestError(r)
            if matches!(r.status().map(|s| s.as_u16()), Some(401 | 403)) =>
        {
            Error::Unauthorized(format!("{what}: unauthorized: authentication required"))
        }
        OciDistributionError::RequestError(r) if r.status().map(|s| s.as_u16()) == Some(404) => {
            Error::NotFound(format!("{what}: not found"))
        }
        OciDistributionError::RequestError(r) => {
            let mut msg = r.to_string();
            let mut source = std::error::Error::source(&r);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            Error::Transport(format!("{what}: {msg}"))
        }
        other => Error::Transport(format!("{what}: {other}")),
    }
}

/// `docker login`'s check: GET /v2/ and, when challenged, prove the credentials (basic auth, or a
/// token from the bearer realm).
pub fn check_login(
    config: &RegistryConfig,
    registry: &str,
    user: &str,
    password: &str,
) -> Result<()> {
    install_crypto();
    let host = if crate::normalize_registry(registry) == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    let url = format!("{}://{host}/v2/", scheme(config, registry));
    let rt = runtime()?;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| Error::Transport(e.to_string()))?;
    let transport = |e: reqwest::Error| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        Error::Transport(format!("logging in to {registry}: {msg}"))
    };
    let denied = || Error::Unauthorized("unauthorized: incorrect username or password".into());
    rt.block_on(async {
        let res = client.get(&url).send().await.map_err(transport)?;
        if res.status().is_success() {
            return Ok(());
        }
        if res.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Err(Error::Transport(format!(
                "logging in to {registry}: {url} answered {}",
                res.status()
            )));
        }
        let challenge = res
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let params = challenge_params(&challenge);
        let res = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let realm = params
                .iter()
                .find(|(k, _)| k == "realm")
                .map(|(_, v)| v.clone())
                .ok_or_else(denied)?;
            let mut query = vec![("account".to_string(), user.to_string())];
            if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
                query.push(("service".into(), s.clone()));
            }
            client
                .get(&realm)
                .query(&query)
                .basic_auth(user, Some(password))
                .send()
                .await
                .map_err(transport)?
        } else {
            client
                .get(&url)
                .basic_auth(user, Some(password))
                .send()
                .await
                .map_err(transport)?
        };
        if res.status().is_success() {
            Ok(())
        } else {
            Err(denied())
        }
    })
}

/// `Bearer realm="x",service="y"` -> [(realm, x), (service, y)].
fn challenge_params(header: &str) -> Vec<(String, String)> {
    let rest = header.split_once(' ').map(|(_, r)| r).unwrap_or("");
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || c.is_whitespace())
            .take_while(|c| *c != '=')
            .collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                value.push(c);
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="x:y""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn picks_the_platform_from_an_index() {
        let index: Value = serde_json::json!({"manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "amd64"}},
        ]});
        assert_eq!(
            choose(&index, &Platform::parse("linux/amd64").unwrap()).as_deref(),
            Some("sha256:b")
        );
        assert_eq!(
            choose(&index, &Platform::parse("linux/arm64").unwrap()).as_deref(),
            Some("sha256:a")
        );
        assert_eq!(
            choose(&index, &Platform::parse("linux/arm64/v7").unwrap()),
            None
        );
    }
}
