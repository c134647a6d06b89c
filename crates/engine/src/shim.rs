//! `berth shim`: the per-container monitor. One single-threaded process per running container
//! (a re-exec of the berth binary, in its own session) that mounts the rootfs, creates the
//! container through the OCI runtime, holds its stdio, writes its log, records its exit status,
//! applies the restart policy, and exits when the container is done for good.
//!
//! It talks to the process that started it over a SEQPACKET socket (fd 3): one [`Message`]
//! when the container is running (with the pty master attached for `-t`) or failed to start,
//! and one when it exited. That process may die at any time; the shim carries on.

use std::io::{IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};

use crate::attach;
use crate::db::ContainerRecord;
use crate::logs::{LogWriter, Stream};
use crate::types::State;
use crate::{Engine, Error, rootfs};

/// What the shim tells its starter.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    /// The container runs; `pid` is its init process. A pty master fd rides along for `-t`.
    Started { pid: i32 },
    /// Start failed; nothing runs. `exit_code` is Docker's (125, 126, 127).
    Failed { message: String, exit_code: i32 },
    /// The container exited for good with this code.
    Exited { code: i32 },
}

/// The file descriptors of an attached client, as the shim receives them.
#[derive(Default)]
pub struct AttachFds {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

pub(crate) fn send(sock: BorrowedFd<'_>, message: &Message, fd: Option<RawFd>) {
    let body = serde_json::to_vec(message).unwrap_or_default();
    let iov = [IoSlice::new(&body)];
    let fds;
    let cmsgs: &[ControlMessage<'_>] = match fd {
        Some(fd) => {
            fds = [fd];
            &[ControlMessage::ScmRights(&fds)]
        }
        None => &[],
    };
    let _ = sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None);
}

/// Receives one message (and a passed fd, if any). `None` when the peer is gone.
pub fn receive(sock: BorrowedFd<'_>) -> Option<(Message, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, fd) = loop {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let fd = msg.cmsgs().ok()?.find_map(|c| match c {
                    ControlMessageOwned::ScmRights(fds) => {
                        // SAFETY: the kernel just installed this fd in our table for us.
                        fds.first().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                    }
                    _ => None,
                });
                break (msg.bytes, fd);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    };
    if n == 0 {
        return None;
    }
    serde_json::from_slice(&buf[..n]).ok().map(|m| (m, fd))
}

static SIGCHLD_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = SIGCHLD_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a valid 1-byte static.
        unsafe { libc::write(fd, b"c".as_ptr().cast(), 1) };
    }
}

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
            send(
                sync.as_fd(),
                &Message::Failed {
                    message: e.to_string(),
                    exit_code: 125,
                },
                None,
            );
            return 1;
        }
    };
    let mut shim = Shim {
        engine,
        id: id.to_string(),
        sync: Some(sync),
        attach,
        attach_server: None,
        first: true,
    };
    shim.run()
}

struct Shim {
    engine: Engine,
    id: String,
    sync: Option<OwnedFd>,
    attach: AttachFds,
    /// The attach socket, bound once the container first runs, removed when the shim is done.
    attach_server: Option<AttachServer>,
    first: bool,
}

/// A started container process and the fds the shim serves for it.
struct Running {
    pid: i32,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pty: Option<OwnedFd>,
    /// Where attach clients' stdin goes (`-i`): the write end of the container's stdin pipe,
    /// or a dup of the pty master. Held for the container's life, so stdin stays open.
    stdin_writer: Option<OwnedFd>,
}

impl Shim {
    fn tell(&self, message: &Message, fd: Option<RawFd>) {
        if let Some(sync) = &self.sync {
            send(sync.as_fd(), message, fd);
        }
    }

    fn record(&self) -> Option<ContainerRecord> {
        self.engine.db.container(&self.id).ok().flatten()
    }

    fn run(&mut self) -> i32 {
        let Some(mut rec) = self.record() else {
            self.tell(
                &Message::Failed {
                    message: format!("No such container: {}", self.id),
                    exit_code: 125,
                },
                None,
            );
            return 1;
        };
        rec.shim_pid = std::process::id() as i32;
        rec.shim_start = crate::proc::start_time(rec.shim_pid).unwrap_or(0);
        match self
            .engine
            .db
            .claim_shim(&self.id, rec.shim_pid, rec.shim_start)
        {
            Ok(true) => {}
            Ok(false) => {
                self.tell(
                    &Message::Failed {
                        message: format!("container {} is already starting or running", self.id),
                        exit_code: 125,
                    },
                    None,
                );
                return 1;
            }
            Err(e) => {
                self.tell(
                    &Message::Failed {
                        message: e.to_string(),
                        exit_code: 125,
                    },
                    None,
                );
                return 1;
            }
        }
        rec.manually_stopped = false;
        rec.error.clear();
        let mut backoff = Duration::from_millis(100);
        let exit_code = loop {
            let started_at = Instant::now();
            let running = match self.start(&mut rec) {
                Ok(r) => r,
                Err(e) => {
                    rec.state = if self.first {
                        State::Created
                    } else {
                        State::Exited
                    };
                    rec.error = e.to_string();
                    rec.exit_code = if self.first {
                        e.exit_code() as i64
                    } else {
                        rec.exit_code
                    };
                    rec.pid = 0;
                    rec.shim_pid = 0;
                    let _ = self.engine.db.update_container(&rec);
                    self.close_attach_server();
                    self.teardown(&rec);
                    self.tell(
                        &Message::Failed {
                            message: e.to_string(),
                            exit_code: e.exit_code(),
                        },
                        None,
                    );
                    if rec.config.host_config.auto_remove {
                        let _ = self.engine.destroy(&self.id);
                    }
                    return 1;
                }
            };
            self.engine.container_event(&rec, "start", &[]);
            if self.attach_server.is_none() {
                let run_dir = self.engine.container_run_dir(&self.id);
                // Without it the container still runs; only `attach` is refused.
                self.attach_server = AttachServer::bind(&run_dir).ok();
            }
            if self.first {
                self.tell(
                    &Message::Started { pid: running.pid },
                    running.pty.as_ref().map(|p| p.as_raw_fd()),
                );
                self.first = false;
            }
            let health = crate::health::Monitor::new(rec.config.config.healthcheck.as_ref());
            let code = self.serve(running, health);
            crate::timing::mark("shim: container exited");
            // The record may have changed meanwhile (stop, rename): reload before writing.
            rec = self.record().unwrap_or(rec);
            rec.exit_code = code as i64;
            rec.finished_at = crate::containers::now();
            rec.pid = 0;
            rec.oom_killed =
                berth_runtime::stats::oom_killed(&crate::containers::cgroup_path(&self.id));
            if rec.oom_killed {
                self.engine.container_event(&rec, "oom", &[]);
            }
            self.engine
                .container_event(&rec, "die", &[("exitCode", code.to_string())]);
            let _ = self
                .engine
                .runtime_for(&rec)
                .map(|rt| rt.delete(&self.engine.runtime_state_root(), &self.id, true));
            if !rec.restart_wanted(code as i64) {
                rec.state = State::Exited;
                rec.shim_pid = 0;
                let _ = self.engine.db.update_container(&rec);
                if let Some(server) = &mut self.attach_server {
                    server.finish(code);
                }
                break code;
            }
            rec.state = State::Restarting;
            rec.restart_count += 1;
            let _ = self.engine.db.update_container(&rec);
            if let Some(server) = &mut self.attach_server {
                server.finish(code);
            }
            // Docker's back-off: 100 ms doubling up to a minute, reset after 10 s of running.
            if started_at.elapsed() >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            if !self.sleep_unless_stopped(backoff) {
                rec = self.record().unwrap_or(rec);
                rec.state = State::Exited;
                rec.shim_pid = 0;
                let _ = self.engine.db.update_container(&rec);
                break code;
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        };
        crate::timing::mark("shim: exit recorded, runtime state deleted");
        self.close_attach_server();
        self.teardown(&rec);
        if rec.config.host_config.auto_remove {
            let _ = self.engine.destroy(&self.id);
        }
        crate::timing::mark("shim: torn down");
        self.tell(&Message::Exited { code: exit_code }, None);
        0
    }

    /// Sleeps for the restart back-off; false when a stop arrived meanwhile.
    fn sleep_unless_stopped(&self, total: Duration) -> bool {
        let end = Instant::now() + total;
        while Instant::now() < end {
            if self.record().is_none_or(|r| r.manually_stopped) {
                return false;
            }
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
        }
        self.record().is_some_and(|r| !r.manually_stopped)
    }

    fn close_attach_server(&mut self) {
        if let Some(server) = self.attach_server.take() {
            let _ = std::fs::remove_file(&server.path);
        }
    }

    /// Unmounts the rootfs once the container is done for good.
    fn teardown(&self, rec: &ContainerRecord) {
        rootfs::unmount(&self.engine.container_run_dir(&self.id).join("rootfs"));
        crate::timing::mark("shim: rootfs unmounted");
        self.engine.release_volume_mounts(&self.id);
        self.engine.teardown_container_network(rec);
        crate::timing::mark("shim: network released");
    }

    /// Prepares the rootfs and spec, creates and starts the container, and records it running.
    fn start(&mut self, rec: &mut ContainerRecord) -> Result<Running, Error> {
        let engine = &self.engine;
        let run_dir = engine.container_run_dir(&self.id);
        let dir = engine.container_dir(&self.id);
        let rootfs_dir = run_dir.join("rootfs");
        let lowers = engine.images.layer_dirs(&rec.image_id)?;
        std::fs::create_dir_all(dir.join("upper"))
            .and_then(|_| std::fs::create_dir_all(dir.join("work")))
            .map_err(|e| Error::io("creating the container's overlay dirs", e))?;
        let volatile = rec.config.host_config.auto_remove;
        rootfs::mount_overlay(
            &lowers,
            &dir.join("upper"),
            &dir.join("work"),
            &rootfs_dir,
            volatile,
        )?;
        crate::timing::mark("shim: rootfs mounted");
        let spec = crate::lifecycle::build_spec(engine, rec, &rootfs_dir)?;
        let bundle = run_dir.join("config.json");
        let json = serde_json::to_vec(&spec).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(&bundle, json).map_err(|e| Error::io("writing the OCI bundle", e))?;
        crate::timing::mark("shim: spec written");

        let tty = rec.config.config.tty;
        let console = if tty {
            Some(bind_console_socket(&run_dir)?)
        } else {
            None
        };
        let (stdout_r, stdout_w) = if tty {
            (None, None)
        } else {
            pipe().map(|(r, w)| (Some(r), Some(w)))?
        };
        let (stderr_r, stderr_w) = if tty {
            (None, None)
        } else {
            pipe().map(|(r, w)| (Some(r), Some(w)))?
        };
        // Non-tty stdin of the starting client (`run -i`, `start -ai`) goes straight to the
        // container: no copy, and its EOF arrives as EOF (Docker's StdinOnce). Without one
        // (`run -di`) the shim holds the pipe open for attach clients.
        let open_stdin = rec.config.config.open_stdin;
        let (stdin, mut stdin_writer) = match self.attach.stdin.take() {
            Some(client) if !tty && open_stdin => (Some(client), None),
            client => {
                self.attach.stdin = client;
                if !tty && open_stdin {
                    pipe().map(|(r, w)| (Some(r), Some(w)))?
                } else {
                    (None, None)
                }
            }
        };
        let runtime = engine.runtime_for(rec)?;
        let state_root = engine.runtime_state_root();
        // A previous run's runtime state (a restart, or a killed shim) must go first.
        let _ = runtime.delete(&state_root, &self.id, true);
        let pid = runtime.create(berth_runtime::oci::CreateOptions {
            id: self.id.clone(),
            bundle: run_dir.clone(),
            state_root: state_root.clone(),
            stdin,
            stdout: stdout_w,
            stderr: stderr_w,
            console_socket: console.as_ref().map(|_| run_dir.join("console.sock")),
        })?;
        crate::timing::mark("shim: created");
        let pty = match &console {
            Some(listener) => Some(receive_pty(listener)?),
            None => None,
        };
        // The initial window size, before the process runs (its first `stty size` must not see
        // 0x0): taken from the attached client's terminal; the client follows resizes after.
        if let Some(pty) = &pty {
            let client = self.attach.stdout.as_ref().or(self.attach.stdin.as_ref());
            if let Some(client) = client {
                // SAFETY: winsize is plain old data; all zeroes is a valid value.
                let mut size: libc::winsize = unsafe { std::mem::zeroed() };
                // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a valid winsize on fds we hold.
                unsafe {
                    if libc::ioctl(client.as_raw_fd(), libc::TIOCGWINSZ, &mut size) == 0 {
                        libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size);
                    }
                }
            }
        }
        if let Err(e) = runtime.start(&state_root, &self.id) {
            let _ = runtime.delete(&state_root, &self.id, true);
            return Err(e.into());
        }
        if let (Some(pty), true) = (&pty, open_stdin) {
            stdin_writer = pty.try_clone().ok();
        }
        if let Some(writer) = &stdin_writer {
            set_nonblocking(writer.as_raw_fd());
        }
        rec.state = State::Running;
        rec.oom_killed = false;
        rec.pid = pid;
        rec.started_at = crate::containers::now();
        rec.error.clear();
        engine.db.update_container(rec)?;
        crate::timing::mark("shim: started and recorded");
        Ok(Running {
            pid,
            stdout: stdout_r,
            stderr: stderr_r,
            pty,
            stdin_writer,
        })
    }

    /// Copies the container's output to the log, the starting client and the attach
    /// clients, and attach clients' stdin to the container, until its init exits; runs the
    /// health check's probes (`health`) on the same loop. Returns Docker's exit code
    /// (128+signal when killed).
    fn serve(&mut self, running: Running, mut health: Option<crate::health::Monitor>) -> i32 {
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
        let mut log = LogWriter::open(&self.engine.log_path(&self.id)).ok();
        let mut client = Client {
            out: self.attach.stdout.take(),
            err: self.attach.stderr.take(),
            server: self.attach_server.take(),
        };
        // For a tty, the client's stdin (if any) is copied into the pty.
        let mut tty_in = if running.pty.is_some() {
            self.attach.stdin.take()
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
            monitor.publish_start(&self.engine, &self.id);
        }
        // Attach clients' stdin bytes not yet taken by the container.
        let mut pending_stdin: Vec<u8> = Vec::new();
        // Free what the start path used before settling in for the container's lifetime.
        self.engine.db.shrink_memory();
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
                && monitor.tick(&self.engine, &self.id)
            {
                busy = true;
                if !monitor.probing() {
                    // A probe's exec faulted in much of the binary and SQLite: give them
                    // back at once (a short interval never leaves a quiet second).
                    self.engine.db.shrink_memory();
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
        if let Some(log) = &mut log {
            log.flush_partial();
        }
        // Keep the client's fds for a restart.
        self.attach.stdout = client.out;
        self.attach.stderr = client.err;
        self.attach_server = client.server;
        exit.unwrap_or(255)
    }
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

/// Attach clients may queue this much stdin before the shim stops reading them.
const STDIN_BUFFER_LIMIT: usize = 64 * 1024;
/// A client this far behind on output is dropped: it must never hold back the container.
const CLIENT_BUFFER_LIMIT: usize = 1 << 20;

/// Where the container's output goes besides the log: the starting client's fds and the
/// attach socket's clients.
struct Client {
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    server: Option<AttachServer>,
}

impl Client {
    fn forward(&mut self, data: &[u8], stream: Stream, log: &mut Option<LogWriter>) {
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

/// The shim's end of the attach socket (see [`crate::attach`]).
struct AttachServer {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<AttachClient>,
}

struct AttachClient {
    socket: UnixStream,
    /// Output the client has not taken yet; bounded by [`CLIENT_BUFFER_LIMIT`].
    pending: Vec<u8>,
    input: attach::Decoder,
    /// The client said it is done: it goes once its pending output is written.
    done: bool,
    /// Gone or too slow: dropped at the end of the loop's round.
    gone: bool,
}

impl AttachServer {
    /// Binds `attach.sock` in the run dir, root only; a stale one of a dead shim goes first.
    fn bind(run_dir: &Path) -> Result<AttachServer, Error> {
        let path = run_dir.join(attach::SOCKET_NAME);
        let _ = std::fs::remove_file(&path);
        let (_dir, short) = attach::short_socket_path(run_dir, attach::SOCKET_NAME)
            .map_err(|e| Error::io("opening the container's run dir", e))?;
        let listener =
            UnixListener::bind(&short).map_err(|e| Error::io("binding the attach socket", e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("restricting the attach socket", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("setting up the attach socket", e))?;
        Ok(AttachServer {
            listener,
            path,
            clients: Vec::new(),
        })
    }

    fn accept(&mut self) {
        while let Ok((socket, _)) = self.listener.accept() {
            if socket.set_nonblocking(true).is_ok() {
                self.clients.push(AttachClient {
                    socket,
                    pending: Vec::new(),
                    input: attach::Decoder::default(),
                    done: false,
                    gone: false,
                });
            }
        }
    }

    /// Sends one chunk of output to every client; drops those that are gone or too slow.
    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let frame = attach::frame(kind, data);
        for c in self.clients.iter_mut().filter(|c| !c.gone) {
            c.gone = !c.queue(&frame);
        }
    }

    /// The container exited: gives each client its remaining output and the exit code (a
    /// bounded wait for slow ones), then lets them go.
    fn finish(&mut self, code: i32) {
        let exit = attach::frame(attach::EXIT, &code.to_be_bytes());
        for mut c in std::mem::take(&mut self.clients) {
            if c.gone {
                continue;
            }
            let _ = c.socket.set_nonblocking(false);
            let _ = c.socket.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = c
                .socket
                .write_all(&c.pending)
                .and_then(|_| c.socket.write_all(&exit));
        }
    }
}

impl AttachClient {
    /// Queues a frame for the client, writing what it takes now. False when it must go.
    fn queue(&mut self, frame: &[u8]) -> bool {
        if !self.pending.is_empty() {
            self.pending.extend_from_slice(frame);
            return self.pending.len() <= CLIENT_BUFFER_LIMIT;
        }
        match (&self.socket).write(frame) {
            Ok(n) => self.pending.extend_from_slice(&frame[n..]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.pending.extend_from_slice(frame)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                self.pending.extend_from_slice(frame)
            }
            Err(_) => return false,
        }
        true
    }

    /// Writes pending output, reads input frames. False when the client must go.
    fn serve(
        &mut self,
        revents: libc::c_short,
        buf: &mut [u8],
        stdin: &mut Vec<u8>,
        stdin_open: bool,
        pty: Option<&OwnedFd>,
    ) -> bool {
        if !self.pending.is_empty() {
            match (&self.socket).write(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                    if self.pending.is_empty() {
                        self.pending = Vec::new();
                    }
                }
                Err(e) if try_again_later(&e) => {}
                Err(_) => return false,
            }
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && !self.done {
            match (&self.socket).read(buf) {
                Ok(0) => return false,
                Ok(n) => self.input.push(&buf[..n]),
                Err(e) if try_again_later(&e) => {}
                Err(_) => return false,
            }
            loop {
                match self.input.next_frame() {
                    Err(_) => return false,
                    Ok(None) => break,
                    Ok(Some((attach::STDIN, data))) if stdin_open => stdin.extend_from_slice(&data),
                    Ok(Some((attach::STDIN_EOF, _))) => self.done = true,
                    Ok(Some((attach::RESIZE, size))) => {
                        if let (Some(pty), Some(size)) = (pty, size.first_chunk::<4>()) {
                            let size = libc::winsize {
                                ws_row: u16::from_be_bytes([size[0], size[1]]),
                                ws_col: u16::from_be_bytes([size[2], size[3]]),
                                ws_xpixel: 0,
                                ws_ypixel: 0,
                            };
                            // SAFETY: TIOCSWINSZ reads a valid winsize; we hold the master.
                            unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size) };
                        }
                    }
                    Ok(Some(_)) => {}
                }
            }
        } else if self.done && revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            return false;
        }
        !(self.done && self.pending.is_empty())
    }
}

/// Drops the code and read-only data pages the start path faulted in (engine, runtime,
/// SQLite: most of the binary) from this process's memory; the copy loop re-faults the few it
/// uses. Only private, non-writable file mappings that hold no anonymous (written) pages are
/// touched: their contents are exactly the file's, which the kernel re-reads from the page
/// cache. (A RELRO mapping, whose GOT was written by the dynamic loader, is left alone.)
/// Keeps an idle shim's RSS small.
fn drop_startup_text() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let perms = fields.next().unwrap_or("");
            let file_backed = line.contains('/');
            let readonly_private =
                perms.starts_with('r') && &perms[1..2] == "-" && perms.ends_with('p');
            current = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(s), Ok(e)) if file_backed && readonly_private => Some((s, e)),
                _ => None,
            };
            continue;
        }
        if first == "Anonymous:"
            && let Some((start, end)) = current.take()
            && fields.next() == Some("0")
        {
            // SAFETY: MADV_DONTNEED on a private, non-writable file mapping with no
            // anonymous pages only discards page table entries; the same contents are
            // re-read from the file on the next access.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
}

/// Releases the stack pages below the current frame that the start path's deep calls
/// touched. Pages below the stack pointer hold nothing live; a margin covers the red zone and
/// the calls the copy loop makes.
#[inline(never)]
fn drop_unused_stack() {
    const MARGIN: usize = 64 * 1024;
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let Some(line) = maps.lines().find(|l| l.ends_with("[stack]")) else {
        return;
    };
    let Some(start) = line
        .split('-')
        .next()
        .and_then(|s| usize::from_str_radix(s, 16).ok())
    else {
        return;
    };
    let page = 4096;
    let end = (sp.saturating_sub(MARGIN)) & !(page - 1);
    if end > start {
        // SAFETY: [start, end) lies below the live part of this thread's stack (the current
        // frame's address minus a 64 KiB margin); discarding it drops only dead data.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

fn forward(
    data: &[u8],
    stream: Stream,
    log: &mut Option<LogWriter>,
    out: &mut Option<OwnedFd>,
    err: &mut Option<OwnedFd>,
) {
    if let Some(log) = log {
        log.write(stream, data);
    }
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

fn write_all(fd: RawFd, mut data: &[u8]) -> std::io::Result<()> {
    // SAFETY: the fd stays open for this call; ManuallyDrop keeps File from closing it.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    while !data.is_empty() {
        match file.write(data) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reaps every exited child; returns the init's exit code once it has exited. Other children
/// (health probes, orphans the shim adopted as subreaper) go to `other` with their code.
fn reap(init: i32, mut other: impl FnMut(i32, i32)) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == init {
            result = Some(berth_runtime::oci::exit_code(status));
        } else {
            other(pid, berth_runtime::oci::exit_code(status));
        }
    }
}

fn wait_blocking(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid with a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    berth_runtime::oci::exit_code(status)
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Internal(format!("pipe: {e}")))
}

/// A non-blocking socket's "nothing now" (or a signal): not the client's end.
fn try_again_later(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on an fd we hold.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Binds the console socket the runtime connects to with the pty master. Bound by a relative
/// name from inside the run dir: a unix socket path is limited to 108 bytes.
pub(crate) fn bind_console_socket(dir: &Path) -> Result<UnixListener, Error> {
    let path = dir.join("console.sock");
    let _ = std::fs::remove_file(&path);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    std::env::set_current_dir(dir).map_err(|e| Error::io("entering the run dir", e))?;
    let listener = UnixListener::bind("console.sock");
    let _ = std::env::set_current_dir(cwd);
    listener.map_err(|e| Error::io("binding the console socket", e))
}

/// Accepts the runtime's connection and takes the pty master it sends.
pub(crate) fn receive_pty(listener: &UnixListener) -> Result<OwnedFd, Error> {
    listener.set_nonblocking(true).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => return Err(Error::io("waiting for the container's terminal", e)),
        }
    };
    stream.set_nonblocking(false).ok();
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::Internal(format!("receiving the pty master: {e}")))?;
    for c in msg.cmsgs().map_err(|e| Error::Internal(e.to_string()))? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel installed this fd for us; we take ownership once.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    let _ = (&stream).read(&mut buf);
    Err(Error::Internal("the runtime sent no pty master".into()))
}
