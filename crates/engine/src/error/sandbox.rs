//! What a sandbox operation fails with, sorted by what it means to a client: settings the
//! backend refuses (the user's bad value) or a backend that failed. The backend's own error
//! is kept as the source. Defined here, below the sandbox, so the engine's error can carry it
//! without the two importing each other; `sandbox` re-exports it.

/// A backend's error, kept whole.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The container's settings cannot run as given: a bad value from the user (400).
    #[error("{0}")]
    Refused(#[source] BoxError),
    /// The backend failed (500).
    #[error("{0}")]
    Failed(#[source] BoxError),
    /// The container's command could not start (its exit code: 127 not found, 126 not
    /// executable), found by a backend that only learns it when the process starts (a
    /// micro-VM's agent).
    #[error("{message}")]
    CannotRun { message: String, exit_code: i32 },
}
