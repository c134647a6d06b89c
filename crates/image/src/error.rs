//! The crate's error type. Every variant says what failed and where (path, digest or entry).

use std::path::PathBuf;

/// Errors of the image store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation on the store failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The import input is not a readable tar stream (garbage, truncated, bad checksum, ...).
    #[error("invalid or truncated tar input: {}", printable(&.0.to_string()))]
    InvalidTar(#[source] std::io::Error),
    /// The import input was empty.
    #[error("invalid tar input: the input is empty")]
    EmptyInput,
    /// The input or a layer blob uses a compression this build cannot read.
    #[error("unsupported compression: {0} (supported: uncompressed tar, gzip)")]
    UnsupportedCompression(String),
    /// A string that should be an image id or digest is not one.
    #[error("invalid digest or image id {0:?}: want \"sha256:<64 hex>\" or 64 hex characters")]
    InvalidDigest(String),
    /// No image with this id is in the store.
    #[error("image {0} not found in the image store")]
    ImageNotFound(String),
    /// A blob referenced by an image is missing from blobs/sha256/.
    #[error("blob {digest} (referenced by image {image}) is missing from {path}")]
    BlobMissing {
        digest: String,
        image: String,
        path: PathBuf,
    },
    /// Content does not hash to the digest it should have.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A JSON document in the store (config, manifest, image record) is invalid.
    #[error("invalid JSON in {what} ({path}): {source}")]
    Json {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// An image's manifest and config disagree or are otherwise unusable.
    #[error("image {image} is inconsistent: {reason}")]
    BadImage { image: String, reason: String },
    /// A tar entry would escape the layer directory or is otherwise unsafe to extract.
    #[error("unsafe tar entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: String },
    /// Extracting a layer failed.
    #[error("unpacking layer {layer} into {dir}: {source}")]
    Unpack {
        layer: String,
        dir: PathBuf,
        #[source]
        source: Box<Error>,
    },
    /// A `--change` instruction is invalid (message as Docker prints it).
    #[error("{0}")]
    Change(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for `map_err(|e| Error::io(op, path, e))`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T, Error>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T, Error> {
        self.map_err(|e| Error::io(op, path, e))
    }
}

impl<T> IoContext<T> for nix::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T, Error> {
        self.map_err(|e| Error::io(op, path, std::io::Error::from(e)))
    }
}

/// `text` fit for an error message: the tar crate quotes a bad header's bytes, which of
/// random input are unprintable noise (and terminal escapes). Each such character becomes '?',
/// and the text is cut at 120 characters.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(120)
        .collect()
}
