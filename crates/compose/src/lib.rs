//! berth-compose: `berth compose`, the Compose Specification run natively.
//!
//! Owns: finding and loading a project (files, `-f` merges, `.env`, interpolation, profiles,
//! `extends`, `include`), the project model, and the plan that turns it into engine calls (networks,
//! volumes, containers with Compose's labels, in dependency order).
//!
//! Must not: start processes or touch the state root itself; every container, network and volume
//! is made through `berth_engine::Engine`, the same calls the CLI and the Docker API use.

pub mod build;
pub mod canonical;
pub mod containers;
pub mod down;
pub mod error;
pub mod files;
pub mod interpolate;
pub mod labels;
pub mod loader;
pub mod loc;
mod merge;
pub mod model;
pub mod node;
mod read;
pub mod request;
pub mod up;
pub mod watch;

pub use error::Error;
pub use loader::{LoadOptions, load};
pub use model::Project;
