//! Starting, stopping, signalling, waiting for and pausing containers. Start spawns a
//! `berth shim` (this same binary) that owns the container from then on; everything else
//! signals the container or asks its sandbox, and reads the result from the database.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

use crate::sandbox::{Launch, Mount};
use crate::shim_protocol::{self as protocol, Message};
use crate::store::ContainerRecord;
use crate::types::State;
use crate::{Engine, Error, user};

/// The client's stdio to hand to the container's shim (`run` without `-d`, `start -a`).
#[derive(Clone, Copy)]
pub struct Attach<'a> {
    pub stdin: Option<BorrowedFd<'a>>,
    pub stdout: Option<BorrowedFd<'a>>,
    pub stderr: Option<BorrowedFd<'a>>,
}

/// A container the caller started; the channel to its shim stays open until it exits.
pub struct Started {
    pub pid: i32,
    /// A pidfd on the container's init: signals sent through it never reach a reused pid.
    pub init: Option<OwnedFd>,
    pub shim_pid: i32,
    /// The pty master of a `-t` container, for window-size changes.
    pub pty: Option<OwnedFd>,
    channel: OwnedFd,
}

impl Started {
    /// Blocks until the container exits for good; returns its exit code. `None` if the shim
    /// died without saying (the next command repairs the state).
    pub fn wait(self) -> Option<i32> {
        crate::timing::mark("run: waiting for exit");
        let code = match protocol::receive(self.channel.as_fd()) {
            Some((Message::Exited { code }, _)) => Some(code),
            _ => None,
        };
        // Reap the shim if it is our child (it is, unless we were re-exec'd in between).
        // SAFETY: waitpid on the shim we spawned; it exits right after closing the channel.
        unsafe {
            let mut status = 0;
            libc::waitpid(self.shim_pid, &mut status, 0);
        }
        code
    }
}

const SHIM_FD_BASE: i32 = 3;

impl Engine {
    /// Starts a created or stopped container: spawns its shim and waits until the container
    /// runs (or failed to start, with Docker's exit code in the error). `None`: it runs already.
    ///
    /// Docker's `--rm` policy for a start that fails (every front end gets it here, as dockerd
    /// applies it in its start): the container is removed, with its anonymous volumes, and the
    /// start's error returned.
    pub fn start_container(
        &self,
        name_or_id: &str,
        attach: Option<Attach<'_>>,
    ) -> Result<Option<Started>, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        let started = self.start_record(&rec, attach);
        if started.is_err() && rec.config.host_config.auto_remove {
            let _ = self.remove_container(&rec.id, true);
        }
        started
    }

    fn start_record(
        &self,
        rec: &ContainerRecord,
        attach: Option<Attach<'_>>,
    ) -> Result<Option<Started>, Error> {
        match rec.state {
            State::Running | State::Restarting => return Ok(None),
            State::Paused => {
                return Err(Error::Conflict(
                    "cannot start a paused container, try unpause instead".into(),
                ));
            }
            _ => {}
        }
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| Error::sys("socketpair", e))?;
        // A long-running `berth serve` whose binary was replaced (an upgrade, a rebuild) starts
        // shims of its own version through /proc/self/exe.
        let exe = std::env::current_exe()
            .ok()
            .filter(|p| p.exists())
            .unwrap_or_else(|| "/proc/self/exe".into());
        let mut cmd = Command::new(exe);
        cmd.arg("shim").arg(&rec.id);
        cmd.env("BERTH_ROOT", &self.root)
            .env("BERTH_RUN", &self.run);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // fds the shim gets: 3 = channel, 4/5/6 = the client's stdin/stdout/stderr. Copied above
        // 10 first: Command replaces the child's 0/1/2 with /dev/null before pre_exec runs, and
        // the targets 3..6 may be taken.
        let lift = |fd: Option<BorrowedFd<'_>>| -> Result<Option<OwnedFd>, Error> {
            fd.map(|f| {
                // SAFETY: F_DUPFD_CLOEXEC on a borrowed, open fd returns a new fd we own.
                let new = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
                if new < 0 {
                    return Err(Error::io(
                        "duplicating the client's stdio",
                        std::io::Error::last_os_error(),
                    ));
                }
                // SAFETY: `new` is a fresh fd owned by nobody else.
                Ok(unsafe { OwnedFd::from_raw_fd(new) })
            })
            .transpose()
        };
        let lifted = [
            lift(Some(theirs.as_fd()))?,
            lift(attach.and_then(|a| a.stdin))?,
            lift(attach.and_then(|a| a.stdout))?,
            lift(attach.and_then(|a| a.stderr))?,
        ];
        let fds: [i32; 4] =
            std::array::from_fn(|i| lifted[i].as_ref().map_or(-1, |f| f.as_raw_fd()));
        let flags: Vec<&str> = ["--stdin", "--stdout", "--stderr"]
            .iter()
            .zip(&fds[1..])
            .filter(|(_, fd)| **fd >= 0)
            .map(|(f, _)| *f)
            .collect();
        cmd.args(flags);
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe calls (setsid, dup2).
        unsafe {
            cmd.pre_exec(move || {
                libc::setsid();
                for (i, fd) in fds.iter().enumerate() {
                    if *fd >= 0 {
                        libc::dup2(*fd, SHIM_FD_BASE + i as i32);
                    }
                }
                Ok(())
            });
        }
        crate::timing::mark("start: spawning shim");
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("starting the berth shim", e))?;
        drop(lifted);
        drop(theirs);
        match protocol::receive(ours.as_fd()) {
            Some((Message::Started { pid }, pty)) => Ok(Some(Started {
                pid,
                init: self.sandbox_for(rec).init_pidfd(pid),
                shim_pid: child.id() as i32,
                pty,
                channel: ours,
            })),
            Some((
                Message::Failed {
                    message,
                    exit_code,
                    kind,
                },
                _,
            )) => {
                let mut child = child;
                let _ = child.wait();
                // Another start won the race: the container runs, as this caller wanted.
                if self
                    .db
                    .container(&rec.id)?
                    .is_some_and(|now| now.state.has_shim() || now.shim_pid != 0)
                {
                    return Ok(None);
                }
                Err(Error::from_parts(message, exit_code, kind))
            }
            _ => {
                let mut child = child;
                let _ = child.wait();
                Err(Error::Internal(
                    "the berth shim exited before the container started".into(),
                ))
            }
        }
    }

    /// `berth stop [-t N]`: the stop signal, then SIGKILL after the timeout; returns when the
    /// shim has recorded the exit.
    pub(crate) fn stop_container_unlogged(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        if !rec.state.has_shim() {
            return Ok(());
        }
        self.db.set_manually_stopped(&rec.id, true)?;
        if rec.state == State::Paused {
            let _ = self.sandbox_for(&rec).resume();
        }
        let signal = rec
            .config
            .config
            .stop_signal
            .as_deref()
            .map(parse_signal)
            .transpose()?
            .unwrap_or(libc::SIGTERM);
        let timeout = timeout.or(rec.config.config.stop_timeout).unwrap_or(10);
        // None in the restart back-off: nothing runs to signal.
        if let Some(init) = self.init_pidfd(&rec) {
            let _ = self.sandbox_for(&rec).signal(init.as_fd(), signal);
            let grace = u64::try_from(timeout).ok().map(Duration::from_secs);
            crate::proc::poll_readable(&[&init], grace);
        }
        self.kill_until_shim_exits(&rec.id);
        Ok(())
    }

    /// A pidfd on the container's init while `rec.pid` is still a process of this container
    /// (see [`crate::sandbox::Sandbox::init_pidfd`]); never for pid 0 or a reused pid.
    pub(crate) fn init_pidfd(&self, rec: &ContainerRecord) -> Option<OwnedFd> {
        self.sandbox_for(rec).init_pidfd(rec.pid)
    }

    /// After a stop was recorded (manually_stopped): SIGKILLs the container's init until its
    /// shim has exited, at most ~10 s. A shim in its restart back-off sees the stop and exits
    /// without starting again; one that was starting a new init as the stop came gets that
    /// init killed on the next round.
    pub(crate) fn kill_until_shim_exits(&self, id: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let Ok(Some(rec)) = self.db.container(id) else {
                return;
            };
            let Some(shim) = crate::proc::checked_pidfd(rec.shim_pid, rec.shim_start) else {
                return;
            };
            if let Some(init) = self.init_pidfd(&rec) {
                let _ = self.sandbox_for(&rec).signal(init.as_fd(), libc::SIGKILL);
            }
            if crate::proc::poll_readable(&[&shim], Some(Duration::from_millis(200)))[0] {
                return;
            }
        }
    }

    /// `berth kill [-s SIG]`
    pub(crate) fn kill_container_unlogged(
        &self,
        name_or_id: &str,
        signal: &str,
    ) -> Result<(), Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        let signal = parse_signal(signal)?;
        if rec.state == State::Paused {
            // A frozen process takes no signal until it thaws: dockerd refuses, as here.
            return Err(Error::Conflict(format!(
                "Cannot kill container: {}: Container {} is paused. Unpause the container before stopping or killing",
                name_or_id, rec.id
            )));
        }
        if rec.state != State::Running {
            return Err(Error::Conflict(format!(
                "Cannot kill container: {}: container {} is not running",
                name_or_id, rec.id
            )));
        }
        if signal == libc::SIGKILL {
            // Docker: a kill stops the restart policy like a stop does.
            self.db.set_manually_stopped(&rec.id, true)?;
        }
        let not_running = || {
            Error::Conflict(format!(
                "Cannot kill container: {}: container {} is not running",
                name_or_id, rec.id
            ))
        };
        let init = self.init_pidfd(&rec).ok_or_else(not_running)?;
        match self.sandbox_for(&rec).signal(init.as_fd(), signal) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(not_running()),
            Err(e) => {
                return Err(Error::io(format!("cannot kill container {}", rec.id), e));
            }
        }
        if signal == libc::SIGKILL {
            self.kill_until_shim_exits(&rec.id);
        }
        Ok(())
    }

    /// `berth restart`
    pub fn restart_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<(), Error> {
        self.stop_container(name_or_id, timeout)?;
        self.start_container(name_or_id, None).map(|_| ())
    }

    /// `berth pause` (cgroup freezer)
    pub(crate) fn pause_container_unlogged(&self, name_or_id: &str) -> Result<(), Error> {
        self.repair();
        let mut rec = self.container(name_or_id)?;
        match rec.state {
            State::Running => {}
            State::Paused => {
                return Err(Error::Conflict(format!(
                    "Container {} is already paused",
                    rec.id
                )));
            }
            State::Restarting => return Err(restarting(&rec.id)),
            _ => {
                return Err(Error::Conflict(format!(
                    "Container {} is not running",
                    rec.id
                )));
            }
        }
        self.sandbox_for(&rec).pause()?;
        rec.state = State::Paused;
        self.db.update_container(&rec).map(|_| ())
    }

    /// `berth unpause`
    pub(crate) fn unpause_container_unlogged(&self, name_or_id: &str) -> Result<(), Error> {
        self.repair();
        let mut rec = self.container(name_or_id)?;
        if rec.state != State::Paused {
            return Err(Error::Conflict(format!(
                "Container {} is not paused",
                rec.id
            )));
        }
        self.sandbox_for(&rec).resume()?;
        rec.state = State::Running;
        self.db.update_container(&rec).map(|_| ())
    }
}

/// dockerd's refusal of an action that needs a running container while a restart policy is
/// between two runs of it.
pub(crate) fn restarting(id: &str) -> Error {
    Error::Conflict(format!(
        "Container {id} is restarting, wait until the container is running"
    ))
}

/// A signal by name ("TERM", "SIGTERM", "sigkill") or number.
pub fn parse_signal(s: &str) -> Result<i32, Error> {
    if let Ok(n) = s.parse::<i32>()
        && (1..=64).contains(&n)
    {
        return Ok(n);
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| Error::InvalidArgument(format!("Invalid signal: {s}")))
}

/// Opens `path` inside `root` with every symlink resolved within `root` (openat2
/// RESOLVE_IN_ROOT), and returns its metadata.
pub(crate) fn stat_in_root(root: &Path, path: &str) -> Option<std::fs::Metadata> {
    let root_fd = std::fs::File::open(root).ok()?;
    let c_path = std::ffi::CString::new(path).ok()?;
    // SAFETY: open_how is plain old data; all zeroes is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT;
    // SAFETY: openat2 with a valid dirfd, NUL-terminated path and open_how of the right size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root_fd.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    } as i32;
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a new descriptor we own.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.metadata().ok()
}

/// Whether `path` (absolute, in the container) is provided by one of `mounts` rather than by
/// the rootfs: a command on a bind-mounted directory (`-v /usr:/usr:ro python3`) exists only
/// once the runtime has mounted it. A bind's source is looked at on the host.
fn provided_by_mount(mounts: &[Mount], path: &str) -> bool {
    mounts.iter().any(|m| {
        let (destination, source) = match m {
            Mount::Bind {
                source,
                destination,
                ..
            } => (destination, Some(source)),
            Mount::Tmpfs { destination, .. } => (destination, None),
        };
        let Some(rest) = path.strip_prefix(destination.trim_end_matches('/')) else {
            return false;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return false;
        }
        source.is_some_and(|s| s.join(rest.trim_start_matches('/')).exists())
    })
}

/// Docker's errors for a command that cannot run: 127 not found, 126 not executable. A
/// command on one of the container's `mounts` is left for the runtime to run.
pub(crate) fn check_executable(
    rootfs: &Path,
    argv0: &str,
    env: &[String],
    mounts: &[Mount],
) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let candidates: Vec<String> = if argv0.contains('/') {
        vec![argv0.to_string()]
    } else {
        let path = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{argv0}", d.trim_end_matches('/')))
            .collect()
    };
    for candidate in &candidates {
        if provided_by_mount(mounts, candidate) {
            return Ok(());
        }
        if let Some(meta) = stat_in_root(rootfs, candidate) {
            if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
                if argv0.contains('/') {
                    return Err(Error::CannotRun {
                        message: format!("exec: \"{argv0}\": permission denied"),
                        exit_code: 126,
                    });
                }
                continue;
            }
            return Ok(());
        }
    }
    Err(if argv0.contains('/') {
        Error::CannotRun {
            message: format!("exec: \"{argv0}\": stat {argv0}: no such file or directory"),
            exit_code: 127,
        }
    } else {
        Error::CannotRun {
            message: format!("exec: \"{argv0}\": executable file not found in $PATH"),
            exit_code: 127,
        }
    })
}

/// The label of a RUN step's container listing `RUN --mount=type=secret,env=NAME`s as
/// `[[NAME, host file]]`: [`secret_env`] reads them into the process's environment at start,
/// so a secret's bytes never enter the stored container record.
pub(crate) const SECRET_ENV_LABEL: &str = "berth.build.secret-env";

/// The `NAME=value`s a step container's [`SECRET_ENV_LABEL`] names (none for any other).
pub(crate) fn secret_env(
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> Vec<String> {
    let Some(listed) = labels.and_then(|l| l.get(SECRET_ENV_LABEL)) else {
        return Vec::new();
    };
    let pairs: Vec<(String, std::path::PathBuf)> = serde_json::from_str(listed).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(name, file)| {
            let value = std::fs::read(file).ok()?;
            Some(format!("{name}={}", String::from_utf8_lossy(&value)))
        })
        .collect()
}

/// What a start of `rec` gives its sandbox, with its rootfs mounted at `rootfs_dir`: the
/// command, environment and user resolved in the image, the mounts made, the working directory
/// made, and the network set up. Docker's 126/127 for a command that cannot run come from here,
/// before the network is.
pub(crate) fn launch(
    engine: &Engine,
    rec: &ContainerRecord,
    rootfs_dir: &Path,
) -> Result<Launch, Error> {
    let c = &rec.config.config;
    let (network_files, hostname) = engine.network_identity(rec)?;
    let user = user::resolve_with_groups(
        rootfs_dir,
        &c.user,
        rec.config.host_config.group_add.as_deref(),
    )?;
    let args: Vec<String> = c
        .entrypoint
        .iter()
        .chain(c.cmd.iter())
        .flatten()
        .cloned()
        .collect();
    let mut env: Vec<String> = c.env.clone().unwrap_or_default();
    // Legacy links' variables first: the container's own win (as Docker's).
    let (_, link_env) = engine.legacy_links(rec)?;
    for var in link_env.into_iter().rev() {
        let key = var.split('=').next().unwrap_or_default();
        if !env.iter().any(|e| e.split('=').next() == Some(key)) {
            env.insert(0, var);
        }
    }
    if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
        env.insert(1.min(env.len()), format!("HOSTNAME={hostname}"));
    }
    // A build step's secrets as variables (`RUN --mount=type=secret,env=`), over the rest.
    for var in secret_env(c.labels.as_ref()) {
        let key = var.split('=').next().unwrap_or_default().to_string();
        env.retain(|e| e.split('=').next() != Some(key.as_str()));
        env.push(var);
    }
    if c.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    let Some(argv0) = args.first().cloned() else {
        return Err(Error::InvalidArgument("No command specified".into()));
    };
    let mounts = engine.runtime_mounts(rec, rootfs_dir)?;
    check_executable(rootfs_dir, &argv0, &env, &mounts)?;
    let cwd = if c.working_dir.is_empty() {
        "/".to_string()
    } else {
        c.working_dir.clone()
    };
    if stat_in_root(rootfs_dir, &cwd).is_none() {
        // Docker creates a missing working directory.
        let relative = cwd.trim_start_matches('/');
        let _ = std::fs::create_dir_all(rootfs_dir.join(relative));
    }
    let joins = engine.namespace_joins(rec)?;
    let netns = engine.prepare_container_network(rec, &hostname)?;
    crate::timing::mark("shim: network ready");
    Ok(Launch {
        rootfs: rootfs_dir.to_path_buf(),
        args,
        env,
        cwd,
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids,
        hostname,
        network_files,
        netns,
        mounts,
        pid_ns: joins.pid_ns,
        ipc_ns: joins.ipc_ns,
        shm: joins.shm,
    })
}
