//! `berth shim`: the per-container monitor. One single-threaded process per running container
//! (a re-exec of the berth binary, in its own session) that mounts the rootfs, creates the
//! container through the OCI runtime, holds its stdio, writes its log, records its exit status,
//! applies the restart policy, and exits when the container is done for good.
//!
//! It talks to the process that started it over a SEQPACKET socket (fd 3): one [`Message`]
//! when the container is running (with the pty master attached for `-t`) or failed to start,
//! and one when it exited. That process may die at any time; the shim carries on.
//!
//! One concern per file: [`protocol`] (the messages to the starter), `run_loop` (start,
//! restart, teardown), `serve` (the poll loop that copies the container's stdio),
//! `backoff` (the restart policy's timing), `attach_server` (the attach socket's clients),
//! `children` (reaping), `memory` (an idle shim's RSS), and the fd helpers `fds` and `pty`,
//! which `exec` shares.

use std::os::fd::{AsFd, OwnedFd};

use crate::Engine;

/// The shim <-> starter protocol, spoken by the shim and by whoever starts one (lifecycle).
pub use crate::shim_protocol as protocol;

mod attach_server;
mod backoff;
mod children;
mod memory;
mod run_loop;
mod serve;

use protocol::send;
pub use protocol::{AttachFds, Message, receive};
use run_loop::Shim;

/// Entry point of `berth shim ID`. Returns the shim's own exit code.
pub fn run(id: &str, sync: OwnedFd, attach: AttachFds) -> i32 {
    // SAFETY: plain prctl/signal calls at start-up, before any other thread or child exists.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    crate::timing::mark("shim: exec'd");
    let engine = match Engine::open() {
        Ok(e) => e,
        Err(e) => {
            send(sync.as_fd(), &Message::failed(&e), None);
            return 1;
        }
    };
    Shim::new(engine, id, sync, attach).run()
}
