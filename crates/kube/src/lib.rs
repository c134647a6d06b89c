//! berth-kube: Kubernetes on berth, for the real `kubectl`.
//!
//! Owns: the Kubernetes API (a listener of `berth serve`: discovery, OpenAPI, the object store
//! with resourceVersions and watches, patch and apply, server-side tables), the controllers that
//! keep desired state (deployments, replica sets, jobs, services), and the [`kubelet`]: the one
//! place that turns a Pod into berth containers and reads their status back. `berth kube play`
//! uses the kubelet without a server.
//!
//! Must not: touch the engine's state root or copy its policy. A pod's containers are ordinary
//! berth containers made through `berth_engine::Engine`, so `berth ps` sees them.

pub mod kubelet;
