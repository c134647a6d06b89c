//! The engine's error type. Each variant maps to a Docker status (404/409/400/500) for the API
//! and to Docker's exit codes for the CLI (125 engine error, 126 cannot invoke, 127 not found,
//! 1 a refused filter).

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
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// A bad `--filter` / `filters=`: 400 (404 for a `before`/`since` object that does not exist).
    #[error(transparent)]
    Filter(#[from] crate::filters::FilterError),
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
        use crate::sandbox::SandboxError;
        match self {
            Error::NotFound(_) | Error::Filter(FilterError::NotFound(_)) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::InvalidArgument(_)
            | Error::Sandbox(SandboxError::Refused(_))
            | Error::Filter(_) => ErrorKind::Invalid,
            Error::CannotRun { .. } => ErrorKind::CannotRun,
            Error::Image(e) => image_error_kind(e),
            Error::Internal(_) | Error::Io { .. } | Error::Sandbox(SandboxError::Failed(_)) => {
                ErrorKind::Internal
            }
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
}
