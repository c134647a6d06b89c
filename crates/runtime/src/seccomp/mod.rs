//! Seccomp profiles as OCI `LinuxSeccomp`s: Docker's default one, and a user's.
//!
//! Docker's default profile:
//!
//! The profile is the one moby ships as `profiles/seccomp/default.json` (the syscall names and
//! argument conditions are Docker's; the representation here is our own): everything not listed
//! fails with `EPERM`, a large group of harmless syscalls is allowed, a few are allowed only with
//! particular arguments, and some groups are allowed only when the container holds the matching
//! capability. Like Docker, the profile is resolved for the architecture the engine runs on:
//! groups that only concern other architectures are left out, and the capability conditions
//! ("includes"/"excludes") are evaluated against the capability set passed in.
//!
//! Syscall names unknown to the libseccomp that loads the filter are harmless: libcontainer (like
//! runc and crun) skips a name it cannot resolve. Debian 12's libseccomp 2.5.4 (+deb12u1) knows
//! every name used here, up to `futex_requeue` (kernel 6.7), so nothing had to be left out.
//!
//! libcontainer reads masked argument comparisons differently from runc and crun; a profile it
//! is going to load must go through [`adapt_for_libcontainer`] first.
//!
//! A user's profile (`--security-opt seccomp=FILE`) is read by [`parse_profile`] and resolved the
//! same way. One module per job: [`default_profile`] (Docker's rules), [`profile`] (a user's JSON
//! profile), [`libcontainer`] (what libcontainer must be given).

mod default_profile;
mod libcontainer;
mod profile;

pub use default_profile::docker_default;
pub use libcontainer::adapt_for_libcontainer;
#[cfg(test)]
pub(crate) use profile::tests as profile_tests;
pub use profile::{ProfileError, parse_profile};
