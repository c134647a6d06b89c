//! berth-machine: `berth machine`, Docker hosts in VMs with docker-machine's verbs.
//!
//! Owns: a machine's state on the host (`<BERTH_ROOT>/machines/<name>/`: `config.json`, the
//! persistent disk, `certs/`; `<BERTH_RUN>/machines/<name>/`: the supervising process's record,
//! sockets and logs), the per-machine lock, the reconciliation every command does first (a
//! recorded process that is gone or not ours means Stopped, so a `kill -9` anywhere is repaired
//! by the next command), the machine's TLS certificates, the readiness probe (`/_ping` over
//! mutual TLS, never a sleep), and the [`MachineDriver`] trait with one file per driver under
//! [`drivers`] (QEMU through berth's own VM relay first).
//!
//! Must not: boot guests or speak the guest protocol itself (that is `berth-vm`'s relay and
//! exec client), nor touch the container engine's state: inside a machine, berth is just
//! another engine reached over its API.

pub mod api_client;
pub mod certs;
pub mod config;
pub mod disk;
pub mod driver;
pub mod drivers;
mod error;
mod lock;
pub mod machine;
pub mod name;
pub mod paths;
pub mod process;
pub mod size;
pub mod store;

pub use driver::{ExecRequest, MachineDriver, State};
pub use error::MachineError;
pub use machine::Machine;
pub use store::Machines;
