//! The engine's error type. Each variant maps to a Docker status (404/409/400/500) for the API
//! and to Docker's exit codes for the CLI (125 engine error, 126 cannot invoke, 127 not found).

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
}

impl Error {
    /// The exit code a CLI command returns for this error, as the docker CLI does.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CannotRun { exit_code, .. } => *exit_code,
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
