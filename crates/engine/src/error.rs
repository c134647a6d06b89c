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
    /// A bad `--filter` / `filters=`: 400 (404 for a `before`/`since` object that does not exist).
    #[error(transparent)]
    Filter(#[from] crate::filters::FilterError),
}

impl Error {
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
        Error::Internal(format!("{context}: {err}"))
    }
}

impl From<berth_image::Error> for Error {
    fn from(e: berth_image::Error) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<berth_runtime::oci::RuntimeError> for Error {
    fn from(e: berth_runtime::oci::RuntimeError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<berth_runtime::spec::SpecError> for Error {
    fn from(e: berth_runtime::spec::SpecError) -> Self {
        Error::InvalidArgument(e.to_string())
    }
}
