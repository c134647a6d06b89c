//! The shim's run loop: claims the container, starts it, serves it until it exits, records
//! the exit, restarts it while its policy says so, and tears down once it is done for good.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use super::attach_server::AttachServer;
use super::backoff::{Backoff, sleep_unless_stopped};
use super::serve::{Running, serve};
use crate::shim_protocol::{AttachFds, Message, send};
use crate::stdio::fds::{pipe, set_nonblocking};
use crate::stdio::pty::{bind_console_socket, receive_pty};
use crate::store::ContainerRecord;
use crate::types::State;
use crate::{Engine, Error};

pub(super) struct Shim {
    engine: Engine,
    id: String,
    sync: Option<OwnedFd>,
    attach: AttachFds,
    /// The attach socket, bound once the container first runs, removed when the shim is done.
    attach_server: Option<AttachServer>,
    /// The embedded DNS server (127.0.0.11 in the container's namespace) on a user-defined
    /// network: bound on the first start, kept across restarts, closed before teardown.
    dns: Option<crate::networks::EmbeddedDns>,
    first: bool,
}

impl Shim {
    pub(super) fn new(engine: Engine, id: &str, sync: OwnedFd, attach: AttachFds) -> Shim {
        Shim {
            engine,
            id: id.to_string(),
            sync: Some(sync),
            attach,
            attach_server: None,
            dns: None,
            first: true,
        }
    }

    fn tell(&self, message: &Message, fd: Option<RawFd>) {
        if let Some(sync) = &self.sync {
            send(sync.as_fd(), message, fd);
        }
    }

    fn record(&self) -> Option<ContainerRecord> {
        self.engine.db.container(&self.id).ok().flatten()
    }

    pub(super) fn run(&mut self) -> i32 {
        let Some(mut rec) = self.record() else {
            self.tell(
                &Message::failed(&Error::NotFound(format!("No such container: {}", self.id))),
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
                    &Message::failed(&Error::Conflict(format!(
                        "container {} is already starting or running",
                        self.id
                    ))),
                    None,
                );
                return 1;
            }
            Err(e) => {
                self.tell(&Message::failed(&e), None);
                return 1;
            }
        }
        rec.manually_stopped = false;
        rec.error.clear();
        let mut backoff = Backoff::new();
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
                    self.tell(&Message::failed(&e), None);
                    // Removed meanwhile: what this start made again (directories, mounts,
                    // network) goes too.
                    if rec.config.host_config.auto_remove || self.record().is_none() {
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
            let code = serve(
                &self.engine,
                &self.id,
                &mut self.attach,
                &mut self.attach_server,
                &mut self.dns,
                running,
                health,
            );
            crate::timing::mark("shim: container exited");
            // The record may have changed meanwhile (stop, rename): reload before writing.
            rec = self.record().unwrap_or(rec);
            rec.exit_code = code as i64;
            rec.finished_at = crate::clock::now();
            rec.pid = 0;
            let sandbox = self.engine.sandbox_for(&rec);
            rec.oom_killed = sandbox.oom_killed();
            if rec.oom_killed {
                self.engine.container_event(&rec, "oom", &[]);
            }
            let _ = sandbox.teardown();
            // The exit is recorded before its `die` is logged: a waiter that reads the event
            // (engine::wait) finds the record exited (or restarting) already.
            let die = |engine: &Engine, rec: &ContainerRecord| {
                engine.container_event(rec, "die", &[("exitCode", code.to_string())]);
            };
            if !rec.restart_wanted(code as i64) {
                rec.state = State::Exited;
                rec.shim_pid = 0;
                let _ = self.engine.db.update_container(&rec);
                die(&self.engine, &rec);
                if let Some(server) = &mut self.attach_server {
                    server.finish(code);
                }
                break code;
            }
            rec.state = State::Restarting;
            rec.restart_count += 1;
            let _ = self.engine.db.update_container(&rec);
            die(&self.engine, &rec);
            if let Some(server) = &mut self.attach_server {
                server.finish(code);
            }
            if !sleep_unless_stopped(backoff.next(started_at.elapsed()), || self.record()) {
                rec = self.record().unwrap_or(rec);
                rec.state = State::Exited;
                rec.shim_pid = 0;
                let _ = self.engine.db.update_container(&rec);
                break code;
            }
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
    fn close_attach_server(&mut self) {
        if let Some(server) = self.attach_server.take() {
            let _ = std::fs::remove_file(&server.path);
        }
    }

    /// Unmounts the rootfs once the container is done for good.
    fn teardown(&mut self, rec: &ContainerRecord) {
        // Its sockets hold the namespace: closed first, so the kernel can take it down.
        self.dns = None;
        self.engine.sandbox_for(rec).unmount_rootfs();
        crate::timing::mark("shim: rootfs unmounted");
        self.engine.release_volume_mounts(&self.id);
        self.engine.teardown_container_network(rec);
        crate::timing::mark("shim: network released");
    }

    /// Mounts the rootfs, has the sandbox prepare, create and start the container, and
    /// records it running.
    fn start(&mut self, rec: &mut ContainerRecord) -> Result<Running, Error> {
        let engine = &self.engine;
        // First: a log driver that cannot start (no journal, syslog unreachable) fails the
        // start before anything is mounted.
        let log = engine.open_log(rec)?;
        let run_dir = engine.container_run_dir(&self.id);
        let sandbox = engine.sandbox_for(rec);
        let lowers = engine.images.layer_dirs(&rec.image_id)?;
        let volatile = rec.config.host_config.auto_remove;
        let rootfs_dir = sandbox.mount_rootfs(&lowers, volatile)?;
        crate::timing::mark("shim: rootfs mounted");
        let launch = crate::lifecycle::launch(engine, rec, &rootfs_dir)?;
        // Bound before the process runs; its DNAT loads while the container is created.
        if self.dns.is_none() {
            self.dns = engine.embedded_dns(rec)?;
        }
        sandbox.prepare(rec, launch)?;
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
        let pid = sandbox.create(crate::sandbox::InitIo {
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
        // The process's first lookup must reach the server.
        if let Some(dns) = &mut self.dns {
            dns.ready()?;
        }
        sandbox.start()?;
        if let (Some(pty), true) = (&pty, open_stdin) {
            stdin_writer = pty.try_clone().ok();
        }
        if let Some(writer) = &stdin_writer {
            set_nonblocking(writer.as_raw_fd());
        }
        rec.state = State::Running;
        rec.oom_killed = false;
        rec.pid = pid;
        rec.started_at = crate::clock::now();
        rec.error.clear();
        if !engine.db.update_container(rec)? {
            // Removed while it was starting: nothing may run without a record (nothing could
            // list, stop or remove it). The init is this shim's child, not reaped yet.
            if let Some(init) = sandbox.init_pidfd(pid) {
                let _ = sandbox.signal(init.as_fd(), libc::SIGKILL);
                super::children::wait_blocking(pid);
            }
            let _ = sandbox.teardown();
            return Err(Error::NotFound(format!(
                "No such container: {} (removed while it was starting)",
                self.id
            )));
        }
        crate::timing::mark("shim: started and recorded");
        Ok(Running {
            pid,
            stdout: stdout_r,
            stderr: stderr_r,
            pty,
            stdin_writer,
            log,
        })
    }
}
