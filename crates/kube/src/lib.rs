//! berth-kube: Kubernetes on berth, for the real `kubectl`.
//!
//! Owns: the Kubernetes API (a listener of `berth serve`: discovery, OpenAPI, the object store
//! with resourceVersions and watches, patch and apply, server-side tables), the controllers that
//! keep desired state (deployments, replica sets, jobs, services), and the [`kubelet`]: the one
//! place that turns a Pod into berth containers and reads their status back. `berth kube play`
//! uses the kubelet without a server.
//!
//! Must not: touch the engine's state root or copy its policy. A pod's containers are ordinary
//! berth containers made through `berth_engine::Engine`, so `berth ps` sees them. The API's own
//! files (its object store, its CA) live in the directory [`kube_dir`] names.

pub mod certs;
pub mod controllers;
pub mod discovery;
pub mod error;
pub mod kinds;
pub mod kubeconfig;
pub mod kubelet;
pub mod metrics;
pub mod node;
pub mod objects;
pub mod openapi;
pub mod openapi_proto;
pub mod patch;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod table;

mod defaults;
mod validate;

pub use error::KubeError;
pub use server::KubeServer;

/// Where the Kubernetes API keeps its files: `kube/` under the engine's state root.
pub fn kube_dir(engine: &berth_engine::Engine) -> std::path::PathBuf {
    engine.root().join("kube")
}
