//! berth-runtime: turns a prepared rootfs and a container's settings into a running process.
//!
//! Owns: OCI runtime spec generation with Docker's defaults ([`spec`]), Linux capabilities as
//! Docker names and combines them ([`capabilities`]), Docker's default seccomp profile and the
//! reading of a user's ([`seccomp`]), the OCI runtime backends ([`oci`]: embedded youki
//! libcontainer, or an external runc/crun/youki binary), cgroup work outside the runtime
//! ([`cgroups`], [`cgroup_host`]) and cgroup statistics ([`stats`]).
//!
//! Arrows inside the crate point down: `spec` -> `seccomp` -> `capabilities`, `kernel`;
//! `cgroups` -> `spec`; `spec`, `cgroups` -> `cgroup_host`.
//!
//! Must not: know about images, names or the state database. It gets a rootfs path and settings.
//! libcontainer clones its caller, so every call into [`oci`] must come from a single-threaded
//! process (the `berth shim`, or the single-threaded CLI for `exec`).

/// The cause kept in an error's source when the failing library's error types differ
/// (libcontainer, libcgroups, libseccomp, nix).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

pub mod capabilities;
pub mod cgroup_host;
pub mod cgroups;
pub mod kernel;
pub mod oci;
pub mod seccomp;
pub mod spec;
pub mod stats;
