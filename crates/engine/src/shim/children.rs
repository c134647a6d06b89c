//! The shim's children: the container's init, health probes, and orphans it adopted as
//! subreaper. SIGCHLD wakes the poll loop through a pipe.

use std::sync::atomic::{AtomicI32, Ordering};

pub(super) static SIGCHLD_PIPE: AtomicI32 = AtomicI32::new(-1);

pub(super) extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = SIGCHLD_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a valid 1-byte static.
        unsafe { libc::write(fd, b"c".as_ptr().cast(), 1) };
    }
}

/// Reaps every exited child; returns the init's exit code once it has exited. Other children
/// (health probes, orphans the shim adopted as subreaper) go to `other` with their code.
pub(super) fn reap(init: i32, mut other: impl FnMut(i32, i32)) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == init {
            result = Some(crate::sandbox::exit_code(status));
        } else {
            other(pid, crate::sandbox::exit_code(status));
        }
    }
}

pub(super) fn wait_blocking(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid with a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    crate::sandbox::exit_code(status)
}
