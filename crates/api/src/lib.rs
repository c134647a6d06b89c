//! berth-api: the Docker Engine REST API over the berth engine, served by `berth serve` on a
//! unix socket (and, with mutual TLS, on TCP), so the real docker CLI, docker-compose and bollard
//! drive berth.
//!
//! Browsers are not clients: a request with an `Origin` header, a cross-site one, or (on a
//! plain TCP listener) one for a host name that could be a DNS rebinding is refused unless
//! `berth serve` allows it (`guard`), and a JSON endpoint refuses a body that is not
//! `application/json` (`json_body`), so a web page cannot create a container.
//!
//! Owns: HTTP routing (any `/v1.xx` prefix or none), the translation between Docker's JSON and
//! query parameters and the engine's calls, stream framing (stdcopy), the 101 hijack of attach
//! and exec start, and the server's own in-memory bookkeeping (pending attaches, execs, the
//! exit codes of the containers it started).
//!
//! Must not: hold engine logic or touch the state root. The engine is blocking (SQLite, shim
//! processes), so every call runs on tokio's blocking pool through [`engine::call`]. It must
//! never call libcontainer in this multi-threaded process: containers start through the engine's
//! `berth shim`, execs through a `berth exec` child.

#![recursion_limit = "256"]

mod archive;
mod body;
mod build;
mod commit;
mod containers;
mod engine;
mod error;
mod events;
mod exec;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod images;
mod json_body;
mod listen;
mod networks;
mod query;
pub mod registry_auth;
mod registry_queries;
mod routes;
mod state;
mod streams;
mod swarm;
mod system;
mod volumes;

pub use guard::AccessPolicy;
pub use listen::{Endpoint, ServeOptions, TlsFiles};

/// Runs the API server until SIGTERM/SIGINT; then stops accepting, lets open requests finish
/// (for a short while) and returns. Containers keep running.
pub fn serve(options: ServeOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))?;
    runtime.block_on(listen::run(options))
}
