//! Seccomp profiles as OCI `LinuxSeccomp`s, one module per job: [`default_profile`] (Docker's
//! default profile, resolved for this machine and the container's capabilities), [`profile`] (a
//! user's `--security-opt seccomp=FILE`, Docker's JSON format, resolved the same way) and
//! [`libcontainer`] (libcontainer reads masked argument comparisons differently from runc and
//! crun: a profile it is going to load must go through [`adapt_for_libcontainer`] first).

mod default_profile;
mod libcontainer;
mod profile;

pub use default_profile::docker_default;
pub use libcontainer::adapt_for_libcontainer;
#[cfg(test)]
pub(crate) use profile::tests as profile_tests;
pub use profile::{ProfileError, parse_profile};
