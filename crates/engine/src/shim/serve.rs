//! The shim's poll loop for one run of the container: copies its output to the log, the
//! starting client and the attach clients, attach clients' stdin to it, runs health probes,
//! and reaps until its init exits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;

use super::attach_server::{AttachServer, STDIN_BUFFER_LIMIT};
use super::children::{SIGCHLD_PIPE, on_sigchld, reap, wait_blocking};
use super::memory::{drop_startup_text, drop_unused_stack};
use crate::Engine;
use crate::attach;
use crate::logs::{LogWriter, Stream};
use crate::shim_protocol::AttachFds;
use crate::stdio::fds::{pipe, set_nonblocking, write_all};

/// Copies the container's output to the log, the starting client and the attach
/// clients, and attach clients' stdin to the container, until its init exits; runs the
/// health check's probes (`health`) on the same loop. Returns Docker's exit code
/// (128+signal when killed).
pub(super) fn serve(
    engine: &Engine,
    id: &str,
    attach: &mut AttachFds,
    attach_server: &mut Option<AttachServer>,
    running: Running,
    mut health: Option<crate::health::Monitor>,
) -> i32 {
    let (sig_r, sig_w) = match pipe() {
        Ok(p) => p,
        Err(_) => return wait_blocking(running.pid),
    };
    set_nonblocking(sig_r.as_raw_fd());
    set_nonblocking(sig_w.as_raw_fd());
    SIGCHLD_PIPE.store(sig_w.as_raw_fd(), Ordering::Relaxed);
    // SAFETY: installs an async-signal-safe handler (it only calls write(2)).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigchld as *const () as usize;
        action.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
        libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut());
    }
    let mut log = running.log;
    let mut client = Client {
        out: attach.stdout.take(),
        err: attach.stderr.take(),
        server: attach_server.take(),
    };
    // For a tty, the client's stdin (if any) is copied into the pty.
    let mut tty_in = if running.pty.is_some() {
        attach.stdin.take()
    } else {
        None
    };
    let mut sources: Vec<(OwnedFd, Stream)> = Vec::new();
    if let Some(fd) = running.stdout {
        sources.push((fd, Stream::Stdout));
    }
    if let Some(fd) = running.stderr {
        sources.push((fd, Stream::Stderr));
    }
    let pty = running.pty;
    if let Some(p) = &pty {
        // SAFETY: dup of an fd we own; the copy is owned by `sources`.
        let dup = unsafe { OwnedFd::from_raw_fd(libc::dup(p.as_raw_fd())) };
        sources.push((dup, Stream::Stdout));
    }
    let mut stdin_writer = running.stdin_writer;
    // Only a container with a health check has a monitor: nothing more for the others.
    if let Some(monitor) = &health {
        monitor.publish_start(engine, id);
    }
    // Attach clients' stdin bytes not yet taken by the container.
    let mut pending_stdin: Vec<u8> = Vec::new();
    // Free what the start path used before settling in for the container's lifetime.
    engine.db.shrink_memory();
    // SAFETY: malloc_trim only releases free heap memory back to the kernel.
    unsafe { libc::malloc_trim(0) };
    drop_unused_stack();
    drop_startup_text();
    let mut buf = vec![0u8; 32 * 1024];
    let mut exit: Option<i32> = None;
    // Set when the loop did work since the last trim; a quiet second then trims again, so
    // an idle container's shim holds only the pages poll() needs.
    // Starts set: the loop's first rounds touch pages of their own; trim them too.
    let mut busy = true;
    let mut pfds: Vec<libc::pollfd> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    loop {
        if exit.is_none() {
            exit = reap(running.pid, |pid, code| {
                if let Some(monitor) = &mut health {
                    monitor.reaped(pid, code);
                }
            });
        }
        if exit.is_some() {
            // Drain what is still buffered, without waiting on stray holders of the pipes.
            for (fd, stream) in &sources {
                set_nonblocking(fd.as_raw_fd());
                loop {
                    match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                        Ok(n) if n > 0 => client.forward(&buf[..n], *stream, &mut log),
                        _ => break,
                    }
                }
            }
            break;
        }
        if let Some(monitor) = &mut health
            && monitor.tick(engine, id)
        {
            busy = true;
            if !monitor.probing() {
                // A probe's exec faulted in much of the binary and SQLite: give them
                // back at once (a short interval never leaves a quiet second).
                engine.db.shrink_memory();
                // SAFETY: malloc_trim only releases free heap memory to the kernel.
                unsafe { libc::malloc_trim(0) };
                drop_startup_text();
            }
        }
        pfds.clear();
        slots.clear();
        let mut watch = |fd: RawFd, events: libc::c_short, slot: Slot| {
            pfds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            slots.push(slot);
        };
        for (i, (fd, _)) in sources.iter().enumerate() {
            watch(fd.as_raw_fd(), libc::POLLIN, Slot::Source(i));
        }
        watch(sig_r.as_raw_fd(), libc::POLLIN, Slot::Signal);
        if let Some(fd) = health.as_ref().and_then(|m| m.pipe()) {
            watch(fd, libc::POLLIN, Slot::Probe);
        }
        if let Some(fd) = &tty_in {
            watch(fd.as_raw_fd(), libc::POLLIN, Slot::TtyIn);
        }
        if let (Some(fd), false) = (&stdin_writer, pending_stdin.is_empty()) {
            watch(fd.as_raw_fd(), libc::POLLOUT, Slot::StdinWriter);
        }
        if let Some(server) = &client.server {
            watch(server.listener.as_raw_fd(), libc::POLLIN, Slot::Listener);
            for (i, c) in server.clients.iter().enumerate() {
                // A container that does not read its stdin holds its clients back.
                let mut events = 0;
                if !c.done && pending_stdin.len() < STDIN_BUFFER_LIMIT {
                    events |= libc::POLLIN;
                }
                if !c.pending.is_empty() {
                    events |= libc::POLLOUT;
                }
                watch(c.socket.as_raw_fd(), events, Slot::Client(i));
            }
        }
        // After work, wake once more after a quiet second to trim; when trimmed, sleep
        // until something happens (output, input, SIGCHLD) without touching memory.
        let mut timeout = if busy { 1000 } else { -1 };
        if let Some(monitor) = &health {
            let due = monitor.wait_ms();
            timeout = if timeout < 0 { due } else { timeout.min(due) };
        }
        // SAFETY: pfds is a valid array of pollfd for the duration of the call.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            continue;
        }
        if n == 0 {
            if busy {
                // SAFETY: malloc_trim only releases free heap memory back to the kernel.
                unsafe { libc::malloc_trim(0) };
                drop_startup_text();
                busy = false;
            }
            continue;
        }
        busy = true;
        let mut closed = Vec::new();
        for (pfd, slot) in pfds.iter().zip(&slots) {
            if pfd.revents == 0 {
                continue;
            }
            match *slot {
                Slot::Source(i) => {
                    let (fd, stream) = &sources[i];
                    match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                        Ok(n) if n > 0 => client.forward(&buf[..n], *stream, &mut log),
                        Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                        _ => closed.push(i),
                    }
                }
                Slot::Signal => {
                    let mut drain = [0u8; 64];
                    while matches!(nix::unistd::read(sig_r.as_raw_fd(), &mut drain), Ok(n) if n > 0)
                    {
                    }
                }
                Slot::TtyIn => {
                    let (Some(input), Some(master)) = (&tty_in, &pty) else {
                        continue;
                    };
                    match nix::unistd::read(input.as_raw_fd(), &mut buf) {
                        Ok(n) if n > 0 => {
                            let _ = write_all(master.as_raw_fd(), &buf[..n]);
                        }
                        Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                        _ => tty_in = None,
                    }
                }
                Slot::StdinWriter => {}
                Slot::Probe => {
                    if let Some(monitor) = &mut health {
                        monitor.read_output();
                    }
                }
                Slot::Listener => {
                    if let Some(server) = &mut client.server {
                        server.accept();
                    }
                }
                Slot::Client(i) => {
                    let Some(server) = &mut client.server else {
                        continue;
                    };
                    // Indices stay valid in this round: clients are only marked gone here.
                    let Some(c) = server.clients.get_mut(i).filter(|c| !c.gone) else {
                        continue;
                    };
                    c.gone = !c.serve(
                        pfd.revents,
                        &mut buf,
                        &mut pending_stdin,
                        stdin_writer.is_some(),
                        pty.as_ref(),
                    );
                }
            }
        }
        if !pending_stdin.is_empty() {
            if let Some(writer) = &stdin_writer {
                match nix::unistd::write(writer, &pending_stdin) {
                    Ok(n) => {
                        pending_stdin.drain(..n);
                    }
                    Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                    Err(_) => {
                        // The container closed its stdin: nothing more can reach it.
                        stdin_writer = None;
                        pending_stdin = Vec::new();
                    }
                }
            } else {
                pending_stdin = Vec::new();
            }
            if pending_stdin.is_empty() {
                pending_stdin = Vec::new();
            }
        }
        if let Some(server) = &mut client.server {
            server.clients.retain(|c| !c.gone);
            if server.clients.is_empty() {
                server.clients = Vec::new();
            }
        }
        for i in closed.into_iter().rev() {
            sources.remove(i);
        }
    }
    if let Some(monitor) = &mut health {
        monitor.stop();
    }
    SIGCHLD_PIPE.store(-1, Ordering::Relaxed);
    {
        log.flush_partial();
    }
    // Keep the client's fds for a restart.
    attach.stdout = client.out;
    attach.stderr = client.err;
    *attach_server = client.server;
    exit.unwrap_or(255)
}

/// A started container process and the fds the shim serves for it.
pub(super) struct Running {
    pub(super) pid: i32,
    pub(super) stdout: Option<OwnedFd>,
    pub(super) stderr: Option<OwnedFd>,
    pub(super) pty: Option<OwnedFd>,
    /// Where attach clients' stdin goes (`-i`): the write end of the container's stdin pipe,
    /// or a dup of the pty master. Held for the container's life, so stdin stays open.
    pub(super) stdin_writer: Option<OwnedFd>,
    /// The container's log driver, opened before the container started.
    pub(super) log: LogWriter,
}

/// What one entry of the shim's poll set is.
#[derive(Clone, Copy)]
enum Slot {
    Source(usize),
    Signal,
    TtyIn,
    StdinWriter,
    /// A health probe's output.
    Probe,
    Listener,
    Client(usize),
}

/// Where the container's output goes besides the log: the starting client's fds and the
/// attach socket's clients.
struct Client {
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    server: Option<AttachServer>,
}

impl Client {
    fn forward(&mut self, data: &[u8], stream: Stream, log: &mut LogWriter) {
        forward(data, stream, log, &mut self.out, &mut self.err);
        if let Some(server) = &mut self.server {
            let kind = match stream {
                Stream::Stdout => attach::STDOUT,
                Stream::Stderr => attach::STDERR,
            };
            server.broadcast(kind, data);
        }
    }
}

fn forward(
    data: &[u8],
    stream: Stream,
    log: &mut LogWriter,
    out: &mut Option<OwnedFd>,
    err: &mut Option<OwnedFd>,
) {
    log.write(stream, data);
    let target = match stream {
        Stream::Stdout => out,
        Stream::Stderr => err,
    };
    if let Some(fd) = target
        && write_all(fd.as_raw_fd(), data).is_err()
    {
        // The client went away; the container carries on.
        *target = None;
    }
}
