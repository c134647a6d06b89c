//! berth-registry: the OCI distribution client (pull/push of manifests and blobs, bearer-token and
//! basic auth, Docker's `config.json` credentials), built on the `oci-client` crate.
//!
//! Owns: talking to registries over HTTP(S), picking a platform from a manifest list / index,
//! checking every manifest's and blob's digest as it arrives, and the credentials file
//! (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
//!
//! Must not: know about the engine, its database or its image store. It hands back bytes and
//! readers; the engine decides where they go. The API is blocking: each [`Session`] drives its own
//! small tokio runtime, so callers stay synchronous.

mod config;
pub mod credentials;
pub mod http;
pub mod search;
mod session;

pub use config::{Endpoint, RegistryConfig};
pub use session::{BlobReader, BlobRef, PulledManifest, Session, check_login};

/// Manifest media types berth understands.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository, tag, manifest or blob does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The registry refused the credentials (or wants some).
    #[error("{0}")]
    Unauthorized(String),
    /// A bad reference or option from the user.
    #[error("{0}")]
    InvalidArgument(String),
    /// Content that does not match its digest, or a manifest berth cannot use.
    #[error("{0}")]
    BadContent(String),
    /// Network, TLS or protocol trouble.
    #[error("{0}")]
    Transport(String),
    /// A local file (the credentials file, a download's destination) or the client's runtime
    /// failed; the system's or the parser's error is kept as the source.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// An [`Error::Io`]: what was being done, and why it failed.
    pub(crate) fn io(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Io {
            context: context.into(),
            source: source.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Splits a user's image reference the way Docker does: the first component is a registry host
/// when it contains '.' or ':' or is `localhost`; otherwise the registry is docker.io (and a
/// one-component name gets `library/`). No tag and no digest means `:latest`.
pub fn parse_reference(reference: &str) -> Result<oci_client::Reference> {
    oci_client::Reference::try_from(reference.trim())
        .map_err(|e| Error::InvalidArgument(format!("invalid reference format: {reference}: {e}")))
}

/// The registry host a reference talks to, as credentials are keyed (docker.io for Docker Hub).
pub fn registry_of(reference: &oci_client::Reference) -> String {
    normalize_registry(reference.registry())
}

/// `https://index.docker.io/v1/`, `index.docker.io`, `docker.io` -> `docker.io`; other hosts are
/// kept without scheme and trailing path.
pub fn normalize_registry(host: &str) -> String {
    let h = host.trim();
    let h = h
        .strip_prefix("https://")
        .or_else(|| h.strip_prefix("http://"))
        .unwrap_or(h);
    let h = h.split('/').next().unwrap_or(h);
    match h {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

/// Plain HTTP for localhost, 127.0.0.1, ::1 and the registries listed (comma separated) in
/// `$BERTH_INSECURE_REGISTRIES`, as Docker's insecure-registries; HTTPS for everything else.
pub fn is_insecure(registry: &str) -> bool {
    RegistryConfig::default().is_insecure(registry)
}

fn host_part(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(registry)
}

/// `os/arch[/variant]` as `--platform` takes it; empty parts default to linux and the host arch.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: None,
        }
    }

    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let bad = || {
            Error::InvalidArgument(format!(
                "invalid platform {text:?}: expected os/arch[/variant]"
            ))
        };
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: Some(variant.to_string()),
                })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// "sha256:<hex>" of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_docker() {
        let r = parse_reference("busybox").unwrap();
        assert_eq!(registry_of(&r), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        let r = parse_reference("127.0.0.1:5000/bb:1").unwrap();
        assert_eq!(registry_of(&r), "127.0.0.1:5000");
        assert_eq!(r.repository(), "bb");
        assert_eq!(r.tag(), Some("1"));
        let r = parse_reference("localhost/a/b").unwrap();
        assert_eq!(registry_of(&r), "localhost");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse_reference(&format!("example.com/x@{d}")).unwrap();
        assert_eq!(r.digest(), Some(d.as_str()));
        assert!(parse_reference("UPPER").is_err());
    }

    #[test]
    fn insecure_hosts() {
        assert!(is_insecure("localhost:5000"));
        assert!(is_insecure("127.0.0.1:5000"));
        assert!(is_insecure("127.0.0.1"));
        assert!(!is_insecure("docker.io"));
        assert!(!is_insecure("registry.example.com:5000"));
        assert_eq!(
            normalize_registry("https://index.docker.io/v1/"),
            "docker.io"
        );
    }

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!(Platform::parse("linux").is_err());
    }
}
