//! The client's terminal for `-t`: raw mode while attached, window size forwarded to the
//! container's pty (now and on every SIGWINCH), and a copy loop for `exec -t`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use berth_engine::attach::DetachKeys;
use nix::sys::termios::{self, SetArg, Termios};

/// Puts stdin in raw mode; restores the old mode when dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(old) = &saved {
            let mut raw = old.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(old) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, old);
        }
    }
}

pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd.as_raw_fd()).unwrap_or(false)
}

/// Our terminal's window size (stdout's, else stdin's).
pub fn window_size() -> Option<libc::winsize> {
    // SAFETY: winsize is plain data; all zeroes is a valid value.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ with a valid winsize buffer.
    let found = unsafe {
        libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0
            || libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut size) == 0
    };
    found.then_some(size)
}

/// Follows window-size changes for the lifetime of the process: a thread waits for SIGWINCH
/// (blocked in every thread) and copies the new size to the pty.
pub fn follow_window_size(pty: &OwnedFd) {
    let Ok(pty) = pty.try_clone() else { return };
    on_window_size(move |size| {
        // SAFETY: TIOCSWINSZ with a valid winsize on the pty we hold.
        unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    });
}

/// Calls `apply` with our terminal's window size now and after every SIGWINCH (on a thread
/// that waits for it; the signal is blocked in the calling thread and those it spawns later).
pub fn on_window_size(apply: impl Fn(libc::winsize) + Send + 'static) {
    if let Some(size) = window_size() {
        apply(size);
    }
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGWINCH);
    let _ = set.thread_block();
    std::thread::spawn(move || {
        while set.wait().is_ok() {
            if let Some(size) = window_size() {
                apply(size);
            }
        }
    });
}

/// Copies stdin to the pty and the pty to stdout until the pty closes (`exec -t`), or until
/// the user types `detach_keys` (then returns true; the keys never reach the pty).
pub fn proxy(pty: &OwnedFd, mut detach_keys: Option<DetachKeys>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    let mut stdin_open = true;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: pty.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid pollfd array for the call.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            match nix::unistd::read(pty.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
                }
                Err(nix::errno::Errno::EINTR) => {}
                _ => return false,
            }
        }
        if fds[1].revents != 0 {
            match nix::unistd::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let (input, detached) = match detach_keys.as_mut() {
                        Some(keys) => keys.feed(&buf[..n]),
                        None => (buf[..n].to_vec(), false),
                    };
                    let _ = nix::unistd::write(pty, &input);
                    if detached {
                        return true;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                _ => stdin_open = false,
            }
        }
    }
}

/// The pidfd of the container's init that `--sig-proxy` signals (-1: none).
static PROXY_TARGET: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn forward_signal(signal: libc::c_int) {
    let fd = PROXY_TARGET.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: the fd is the pidfd proxy_signals leaked for the process's lifetime.
        let init = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let _ = berth_engine::proc::signal(init, signal);
    }
}

/// Forwards the signals a user sends an attached `run` (Ctrl-C, kill) to the container's
/// init process, as Docker's `--sig-proxy` does, instead of dying and leaving it running.
/// Through a pidfd: once the init has exited, a reused pid is never signalled.
pub fn proxy_signals(init: std::os::fd::OwnedFd) {
    use std::os::fd::IntoRawFd;
    PROXY_TARGET.store(init.into_raw_fd(), std::sync::atomic::Ordering::Relaxed);
    for signal in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: installs an async-signal-safe handler (it only calls pidfd_send_signal(2)).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// After a detach from an `exec -t` session: a child of this process, in a session of its
/// own, keeps reading the exec's pty (so that the process runs on, never blocked on a full
/// terminal nor hung up by the pty's close) until the process ends.
pub fn keep_draining(pty: &OwnedFd) {
    // This process exits right after; its terminal (a `script`, an ssh session) may close at
    // once and hang up its foreground group, which the child is in until its setsid: ignored
    // from before the fork, so the drain (and with it the exec's process) survives that race.
    // SAFETY: setting SIGHUP's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    // SAFETY: the child makes only async-signal-safe calls (setsid, open, dup2, read, _exit)
    // before it exits, so forking from this (possibly multi-threaded) process is sound.
    if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
        let _ = nix::unistd::setsid();
        // The client's stdio is not the drain's to hold open (a pipe's reader would wait).
        // SAFETY: open of a NUL-terminated literal, dup2 onto this child's own stdio fds.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null >= 0 {
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(pty.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => {}
                Err(nix::errno::Errno::EINTR) => {}
                _ => break,
            }
        }
        // SAFETY: _exit ends the forked child without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
}

/// Takes the pty master a process sends to `listener` (runc's console-socket protocol: one
/// message carrying the fd as SCM_RIGHTS); `None` when nothing came within `timeout` or the
/// message carried no fd, or as soon as `gave_up()` says the sender is gone. The engine has its
/// own for containers; the CLI's `machine ssh` receives from `berth vm-exec` directly.
pub fn receive_pty(
    listener: &std::os::unix::net::UnixListener,
    timeout: std::time::Duration,
    gave_up: impl Fn() -> bool,
) -> Option<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::FromRawFd;
    listener.set_nonblocking(true).ok()?;
    let deadline = std::time::Instant::now() + timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline
                    && !gave_up() =>
            {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            Err(_) => return None,
        }
    };
    stream.set_nonblocking(false).ok()?;
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel installed this fd for this process; it is owned once, here.
            return Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    None
}
