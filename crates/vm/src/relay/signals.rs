//! The signals the relay passes on to the guest's main process, caught through a self-pipe:
//! the handler only writes the signal's number to a pipe (async-signal-safe), a thread reads
//! it. Hand-written rather than a crate: it is twenty lines and `signal-hook` is not among the
//! workspace's dependencies. Handlers reset to the default in QEMU when it execs.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// Every catchable signal a container's init would get from `docker kill -s`, a terminal or
/// the engine: all but SIGKILL and SIGSTOP (uncatchable), SIGCHLD (QEMU's, ours), SIGPIPE
/// (writes fail with EPIPE instead), job-control and fault signals.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGWINCH,
];

/// The pipe's write end, for the handler.
static PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = PIPE.load(Ordering::Relaxed);
    let byte = signal as u8;
    // SAFETY: write(2) is async-signal-safe; the byte lives for the call. A full pipe
    // drops the signal (the pipe is non-blocking), which only happens under a flood.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
}

/// The read end of the signal pipe.
pub struct Signals {
    pipe: File,
}

impl Signals {
    /// Catches [`FORWARDED`] from now on.
    pub fn install() -> io::Result<Signals> {
        let (read, write): (OwnedFd, OwnedFd) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .map_err(io::Error::from)?;
        // The read end blocks: only the handler's writes must never wait.
        nix::fcntl::fcntl(
            read.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
        )
        .map_err(io::Error::from)?;
        PIPE.store(write.into_raw_fd(), Ordering::Relaxed);
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for &signal in FORWARDED {
            // SAFETY: the handler only calls write(2) on a pipe that stays open for the
            // process's life (its fd is never closed).
            unsafe { sigaction(signal, &action) }.map_err(io::Error::from)?;
        }
        // SAFETY: the read end was just made and is owned by nothing else.
        let pipe = unsafe { File::from_raw_fd(read.into_raw_fd()) };
        Ok(Signals { pipe })
    }

    /// The next signal caught (blocks); none once the pipe is broken.
    pub fn wait(&mut self) -> Option<i32> {
        let mut byte = [0u8; 1];
        loop {
            match self.pipe.read(&mut byte) {
                Ok(1) => return Some(byte[0] as i32),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return None,
            }
        }
    }
}
