//! The engine's error type. Each variant maps to a Docker status (404/409/400/500) for the API
//! and to Docker's exit codes for the CLI (125 engine error, 126 cannot invoke, 127 not found,
//! 1 a refused filter).

mod sandbox;
mod store;

pub use sandbox::{BoxError, SandboxError};
pub use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such container/image/...: 404.
    #[error("{0}")]
    NotFound(String),
    /// Name in use, container running, image in use: 409.
    #[error("{0}")]
    Conflict(String),
    /// A bad value from the user: 400.
    #[error("{0}")]
    InvalidArgument(String),
    /// The container's command cannot be found (127) or cannot be invoked (126).
    #[error("{message}")]
    CannotRun { message: String, exit_code: i32 },
    #[error("{0}")]
    Internal(String),
    /// A file or process operation failed; what was being done, and the system's error.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The image store's error, kept whole: its kind decides the status (a missing image is
    /// a 404, a bad archive a 400).
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// The container backend's error: settings it refuses are the user's (400), its own
    /// failures ours (500).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The state store's error, kept whole.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad `--filter` / `filters=`: 400 (404 for a `before`/`since` object that does not exist).
    #[error(transparent)]
    Filter(#[from] crate::filters::FilterError),
    /// The registry client's error, kept whole: a missing repository, tag, manifest or blob is a
    /// 404, a bad reference a 400.
    #[error(transparent)]
    Registry(#[from] berth_registry::Error),
    /// A `save`/`load` archive's error: a malformed archive is a 400; a store error keeps the
    /// image store's kind.
    #[error(transparent)]
    Archive(#[from] berth_image::archive::ArchiveError),
    /// The network crate's error: a bad value is a 400.
    #[error(transparent)]
    Net(#[from] berth_net::Error),
}

/// What an [`Error`] means to a client: the one thing the API's status codes and the CLI's
/// exit codes are chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404
    NotFound,
    /// 409
    Conflict,
    /// 400
    Invalid,
    /// 400 through the API; exit code 126/127 from the CLI
    CannotRun,
    /// 500
    Internal,
}

impl Error {
    /// What this error means to a client.
    pub fn kind(&self) -> ErrorKind {
        use crate::filters::FilterError;
        match self {
            Error::NotFound(_) | Error::Filter(FilterError::NotFound(_)) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::InvalidArgument(_)
            | Error::Sandbox(SandboxError::Refused(_))
            | Error::Filter(_) => ErrorKind::Invalid,
            Error::CannotRun { .. } => ErrorKind::CannotRun,
            Error::Image(e) => image_error_kind(e),
            Error::Registry(e) => registry_error_kind(e),
            Error::Archive(e) => archive_error_kind(e),
            Error::Net(e) => net_error_kind(e),
            Error::Internal(_)
            | Error::Io { .. }
            | Error::Store(_)
            | Error::Sandbox(SandboxError::Failed(_)) => ErrorKind::Internal,
        }
    }

    /// The exit code a CLI command returns for this error, as the docker CLI does. A filter
    /// the daemon refuses is the docker CLI's plain failure (1); one it cannot even parse is a
    /// flag error (125).
    pub fn exit_code(&self) -> i32 {
        use crate::filters::FilterError;
        match self {
            Error::CannotRun { exit_code, .. } => *exit_code,
            Error::Filter(FilterError::BadFormat(_)) => 125,
            Error::Filter(_) => 1,
            _ => 125,
        }
    }

    pub fn io(context: impl std::fmt::Display, err: std::io::Error) -> Error {
        Error::Io {
            context: context.to_string(),
            source: err,
        }
    }
}

/// A missing image is the client's 404 and bad input its 400; a broken store is ours.
fn image_error_kind(e: &berth_image::Error) -> ErrorKind {
    use berth_image::Error as E;
    match e {
        E::ImageNotFound(_) => ErrorKind::NotFound,
        E::InvalidTar(_)
        | E::EmptyInput
        | E::UnsupportedCompression(_)
        | E::InvalidDigest(_)
        | E::UnsafeEntry { .. }
        | E::Change(_) => ErrorKind::Invalid,
        E::Unpack { source, .. } => image_error_kind(source),
        _ => ErrorKind::Internal,
    }
}

/// A missing repository, tag, manifest or blob is a 404 and a bad reference a 400. Refused
/// credentials, bad content and transport trouble stay 500 (the API has no 401 kind yet).
fn registry_error_kind(e: &berth_registry::Error) -> ErrorKind {
    use berth_registry::Error as E;
    match e {
        E::NotFound(_) => ErrorKind::NotFound,
        E::InvalidArgument(_) => ErrorKind::Invalid,
        E::Unauthorized(_) | E::BadContent(_) | E::Transport(_) | E::Io { .. } => {
            ErrorKind::Internal
        }
    }
}

/// A malformed archive is the client's 400; the store's errors keep their own kind.
fn archive_error_kind(e: &berth_image::archive::ArchiveError) -> ErrorKind {
    use berth_image::archive::ArchiveError as E;
    match e {
        E::Invalid(_) | E::Malformed { .. } => ErrorKind::Invalid,
        E::Store(inner) => image_error_kind(inner),
        E::Write(_) => ErrorKind::Internal,
    }
}

/// A bad network value is a 400; an exhausted address pool or a failed system call is ours.
fn net_error_kind(e: &berth_net::Error) -> ErrorKind {
    match e {
        berth_net::Error::Invalid(_) => ErrorKind::Invalid,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_the_image_stores_errors() {
        let missing = Error::from(berth_image::Error::ImageNotFound("sha256:ab".into()));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(
            missing.to_string(),
            "image sha256:ab not found in the image store"
        );
        let junk = Error::from(berth_image::Error::EmptyInput);
        assert_eq!(junk.kind(), ErrorKind::Invalid);
        let io = Error::io("reading x", std::io::Error::other("boom"));
        assert_eq!(io.kind(), ErrorKind::Internal);
        assert_eq!(io.to_string(), "reading x: boom");
        assert!(std::error::Error::source(&io).is_some());
    }

    #[test]
    fn kinds_survive_the_other_crates_errors() {
        let missing = Error::from(berth_registry::Error::NotFound("manifest unknown".into()));
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(missing.to_string(), "manifest unknown");
        let bad_ref = Error::from(berth_registry::Error::InvalidArgument("bad ref".into()));
        assert_eq!(bad_ref.kind(), ErrorKind::Invalid);
        let transport = Error::from(berth_registry::Error::Transport("reset".into()));
        assert_eq!(transport.kind(), ErrorKind::Internal);

        use berth_image::archive::ArchiveError;
        let stored = Error::from(ArchiveError::Store(berth_image::Error::ImageNotFound(
            "sha256:ab".into(),
        )));
        assert_eq!(stored.kind(), ErrorKind::NotFound);
        assert!(matches!(stored, Error::Archive(ArchiveError::Store(_))));
        let junk = Error::from(ArchiveError::Invalid("no manifest.json".into()));
        assert_eq!(junk.kind(), ErrorKind::Invalid);
        assert_eq!(junk.to_string(), "invalid image archive: no manifest.json");

        let net = Error::from(berth_net::Error::Invalid("bad subnet".into()));
        assert_eq!(net.kind(), ErrorKind::Invalid);
    }
}
