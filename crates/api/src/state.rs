//! What the server itself remembers between requests (never persisted: the engine's database is
//! the state; this is only about connections the server holds).
//!
//! - pending attaches: `docker run` attaches *before* it starts, so the attach request leaves
//!   its pipes here and the start request hands them to the container's shim;
//! - the pty of each `-t` container this server started (for `resize`);
//! - execs (Docker's exec objects live in the daemon's memory too).

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

/// The server ends of an attach, waiting for the container's start.
pub struct PendingAttach {
    /// The container reads its stdin from this (None: stdin not attached).
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// The body of `POST /containers/{id}/exec` (Docker's ExecConfig; unknown fields ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub privileged: bool,
    pub detach: bool,
    /// The keys that detach a client from this exec's stream (Docker's default when empty).
    pub detach_keys: String,
}

/// One exec object (`POST /containers/{id}/exec`).
#[derive(Clone)]
pub struct ExecEntry {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub running: bool,
    pub exit_code: Option<i32>,
    pub pid: i32,
    /// When it finished (finished execs are forgotten after a while).
    pub finished: Option<std::time::Instant>,
    /// The server's end of a `-t` exec's terminal (for resize).
    pub pty: Option<Arc<OwnedFd>>,
}

#[derive(Default)]
pub struct Inner {
    pub pending_attach: HashMap<String, PendingAttach>,
    pub ptys: HashMap<String, Arc<OwnedFd>>,
    pub execs: HashMap<String, ExecEntry>,
}

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Mutex<Inner>>,
}

impl AppState {
    pub fn new() -> AppState {
        AppState {
            inner: Arc::default(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
