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
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};

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
                    // SAFETY: the kernel just installed this fd in our table for us.
                    ControlMessageOwned::ScmRights(fds) => {
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
        first: true,
    };
    shim.run()
}

struct Shim {
    engine: Engine,
    id: String,
    sync: Option<OwnedFd>,
    attach: AttachFds,
    first: bool,
}

/// A started container process and the fds the shim serves for it.
struct Running {
    pid: i32,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pty: Option<OwnedFd>,
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
            if self.first {
                self.tell(
                    &Message::Started { pid: running.pid },
                    running.pty.as_ref().map(|p| p.as_raw_fd()),
                );
                self.first = false;
            }
            let code = self.serve(running);
            crate::timing::mark("shim: container exited");
            // The record may have changed meanwhile (stop, rename): reload before writing.
            rec = self.record().unwrap_or(rec);
            rec.exit_code = code as i64;
            rec.finished_at = crate::containers::now();
            rec.pid = 0;
            rec.oom_killed = berth_runtime::stats::oom_killed(&format!("/berth/{}", self.id));
            if rec.oom_killed {
                self.engine.container_event(&rec, "oom", &[]);
            }
            self.engine
                .container_event(&rec, "die", &[("exitCode", code.to_string())]);
            let _ = self
                .engine
                .runtime_for(&rec)
                .map(|rt| rt.delete(&self.engine.runtime_state_root(), &self.id, true));
            if !self.should_restart(&rec, code) {
                rec.state = State::Exited;
                rec.shim_pid = 0;
                let _ = self.engine.db.update_container(&rec);
                break code;
            }
            rec.state = State::Restarting;
            rec.restart_count += 1;
            let _ = self.engine.db.update_container(&rec);
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
        self.teardown(&rec);
        if rec.config.host_config.auto_remove {
            let _ = self.engine.destroy(&self.id);
        }
        crate::timing::mark("shim: torn down");
        self.tell(&Message::Exited { code: exit_code }, None);
        0
    }

    fn should_restart(&self, rec: &ContainerRecord, code: i32) -> bool {
        if rec.manually_stopped {
            return false;
        }
        let policy = &rec.config.host_config.restart_policy;
        match policy.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                code != 0
                    && (policy.maximum_retry_count <= 0
                        || rec.restart_count < policy.maximum_retry_count)
            }
            _ => false,
        }
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
        // Non-tty stdin goes straight to the container: no copy, and EOF arrives as EOF.
        let stdin = if !tty && rec.config.config.open_stdin {
            self.attach.stdin.take()
        } else {
            None
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
        })
    }

    /// Copies the container's output to the log and the attached client until its init exits;
    /// returns Docker's exit code (128+signal when killed).
    fn serve(&mut self, running: Running) -> i32 {
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
        let mut out = self.attach.stdout.take();
        let mut err = self.attach.stderr.take();
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
        loop {
            if exit.is_none() {
                exit = reap(running.pid);
            }
            if exit.is_some() {
                // Drain what is still buffered, without waiting on stray holders of the pipes.
                for (fd, stream) in &sources {
                    set_nonblocking(fd.as_raw_fd());
                    loop {
                        match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                            Ok(n) if n > 0 => {
                                forward(&buf[..n], *stream, &mut log, &mut out, &mut err)
                            }
                            _ => break,
                        }
                    }
                }
                break;
            }
            let mut pfds: Vec<libc::pollfd> = sources
                .iter()
                .map(|(fd, _)| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            pfds.push(libc::pollfd {
                fd: sig_r.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            if let Some(fd) = &tty_in {
                pfds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            // After work, wake once more after a quiet second to trim; when trimmed, sleep
            // until something happens (output, input, SIGCHLD) without touching memory.
            let timeout = if busy { 1000 } else { -1 };
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
            for (i, (fd, stream)) in sources.iter().enumerate() {
                if pfds[i].revents == 0 {
                    continue;
                }
                match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => forward(&buf[..n], *stream, &mut log, &mut out, &mut err),
                    Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                    _ => closed.push(i),
                }
            }
            let sig_index = sources.len();
            if pfds[sig_index].revents != 0 {
                let mut drain = [0u8; 64];
                while matches!(nix::unistd::read(sig_r.as_raw_fd(), &mut drain), Ok(n) if n > 0) {}
            }
            if let (Some(input), Some(master)) = (&tty_in, &pty) {
                if pfds.get(sig_index + 1).is_some_and(|p| p.revents != 0) {
                    match nix::unistd::read(input.as_raw_fd(), &mut buf) {
                        Ok(n) if n > 0 => {
                            let _ = write_all(master.as_raw_fd(), &buf[..n]);
                        }
                        Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                        _ => tty_in = None,
                    }
                }
            }
            for i in closed.into_iter().rev() {
                sources.remove(i);
            }
        }
        SIGCHLD_PIPE.store(-1, Ordering::Relaxed);
        if let Some(log) = &mut log {
            log.flush_partial();
        }
        // Keep the client's fds for a restart.
        self.attach.stdout = out;
        self.attach.stderr = err;
        exit.unwrap_or(255)
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
        if first == "Anonymous:" {
            if let Some((start, end)) = current.take() {
                if fields.next() == Some("0") {
                    // SAFETY: MADV_DONTNEED on a private, non-writable file mapping with no
                    // anonymous pages only discards page table entries; the same contents are
                    // re-read from the file on the next access.
                    unsafe {
                        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
                    };
                }
            }
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
    if let Some(fd) = target {
        if write_all(fd.as_raw_fd(), data).is_err() {
            // The client went away; the container carries on.
            *target = None;
        }
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

/// Reaps every exited child; returns the init's exit code once it has exited.
fn reap(init: i32) -> Option<i32> {
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
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel installed this fd for us; we take ownership once.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    let _ = (&stream).read(&mut buf);
    Err(Error::Internal("the runtime sent no pty master".into()))
}
