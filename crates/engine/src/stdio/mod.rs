//! The fds a container's process is given, shared by the shim (a container's init) and exec
//! (a process joining it): plain pipes and fd helpers ([`fds`]) and the terminal's console
//! socket ([`pty`]). Below both, so neither imports the other for them.

pub(crate) mod fds;
pub(crate) mod pty;
