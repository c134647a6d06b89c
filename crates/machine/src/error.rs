//! What can go wrong with a machine; the CLI maps every kind to docker-machine's exit code 1.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// docker-machine's words for a taken name.
    #[error("Host already exists: {0:?}")]
    Exists(String),
    #[error("Host does not exist: {0:?}")]
    NotFound(String),
    #[error(
        "Invalid hostname specified: {0:?}. Allowed hostname chars are: 0-9a-zA-Z . - (starting with a letter or digit, at most 63)"
    )]
    BadName(String),
    #[error("invalid {what} {value:?}: {reason}")]
    BadSize {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("unknown machine driver {0:?} (available: qemu)")]
    UnknownDriver(String),
    #[error("{0}")]
    Unsupported(String),
    /// A tool the driver needs is not installed.
    #[error("{program} not found: {hint}")]
    MissingTool { program: String, hint: String },
    #[error("{command} failed: {detail}")]
    ToolFailed { command: String, detail: String },
    #[error("machine {name:?} is running: stop it first, or remove it with -f")]
    Running { name: String },
    /// docker-machine's words for a start of a running machine, a stop of a stopped one.
    #[error("Machine {name:?} is already {state}.")]
    AlreadyInState { name: String, state: &'static str },
    #[error("machine {name:?} is not running")]
    NotRunning { name: String },
    #[error("machine {name:?} did not come up: {reason}\n--- serial log (last lines) ---\n{log}")]
    BootFailed {
        name: String,
        reason: String,
        log: String,
    },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("making the machine's certificates: {0}")]
    Certificate(#[from] berth_pki::PkiError),
    #[error("the machine's TLS setup: {0}")]
    Tls(String),
    #[error("loading the image into the machine: {0}")]
    ImageLoad(String),
    #[error("talking to the machine's VM relay: {0}")]
    Relay(String),
}

impl MachineError {
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> MachineError {
        let path = path.into();
        move |source| MachineError::Io { what, path, source }
    }
}
