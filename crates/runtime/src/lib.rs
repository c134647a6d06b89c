//! berth-runtime: turns a prepared rootfs and a container's settings into a running process.
//!
//! Owns: OCI runtime spec generation with Docker's defaults ([`spec`]), Docker's default seccomp
//! profile ([`seccomp`]), the OCI runtime backends ([`oci`]: embedded youki libcontainer, or an
//! external runc/crun/youki binary) and cgroup statistics ([`stats`]).
//!
//! Must not: know about images, names or the state database. It gets a rootfs path and settings.
//! libcontainer clones its caller, so every call into [`oci`] must come from a single-threaded
//! process (the `berth shim`, or the single-threaded CLI for `exec`).

pub mod cgroups;
pub mod oci;
pub mod seccomp;
pub mod spec;
pub mod stats;
