//! `exec` for the embedded runtime: a new process joins a running container.
//!
//! Written here rather than through libcontainer's tenant builder because that builder (0.7)
//! rebuilds the spec for the new process without the container's seccomp filter and forces
//! no_new_privs: an exec'd shell would run unconfined, unlike Docker's. This follows runc's
//! order instead: join the init's cgroups and namespaces, fork into its pid namespace, set up
//! stdio (or a pty from the container's devpts), rlimits, the bounding set, the seccomp filter
//! (while CAP_SYS_ADMIN is still held), the user, the capabilities, then exec.
//!
//! Runs in the caller's process, which must be single-threaded (it forks).

use std::ffi::CString;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::unistd::{ForkResult, Gid, Uid, fork};
use oci_spec::runtime::Spec;

use super::{ExecOptions, RuntimeError};

fn err(message: impl Into<String>) -> RuntimeError {
    RuntimeError::Libcontainer(message.into().into())
}

/// A failed step of the join, with the system's error kept as the source.
fn failed(context: impl Into<String>, source: impl Into<crate::Cause>) -> RuntimeError {
    RuntimeError::Join {
        context: context.into(),
        source: source.into(),
    }
}

/// The namespaces to join, in order: the mount namespace last, since it changes what paths mean.
const NAMESPACES: [(&str, CloneFlags); 6] = [
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// Starts `options.args` inside the container whose init is `init_pid` and whose OCI spec is
/// `spec`. Returns the pid of a relay child whose exit status is the process's (128+signal
/// when killed), so the caller can wait for it.
pub fn exec(init_pid: i32, spec: &Spec, options: ExecOptions) -> Result<i32, RuntimeError> {
    // Namespaces we differ in from the init (a host-network container shares ours).
    let mut namespaces = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = std::fs::metadata(format!("/proc/{init_pid}/ns/{name}"));
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
        use std::os::unix::fs::MetadataExt;
        match (theirs, ours) {
            (Ok(t), Ok(o)) if t.ino() == o.ino() => continue,
            (Ok(_), _) => {
                let file = std::fs::File::open(format!("/proc/{init_pid}/ns/{name}"))
                    .map_err(|e| failed(format!("opening the container's {name} namespace"), e))?;
                namespaces.push((OwnedFd::from(file), flag));
            }
            (Err(e), _) => return Err(failed(format!("container init {init_pid} is gone"), e)),
        }
    }
    let cgroup_files = cgroup_join_files(init_pid);
    // Compiled (or read from the cache) before forking: the child only loads it.
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(profile) => match super::seccomp_bpf::program(
            profile,
            &super::seccomp_bpf::cache_dir(&options.state_root),
        )? {
            Some(program) => Some(program),
            None => {
                return Err(err(
                    "seccomp profiles with user notification are not supported for exec",
                ));
            }
        },
        None => None,
    };
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| err("the container's spec has no process"))?;
    let args: Vec<CString> = options
        .args
        .iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| err(format!("argument {a:?} contains a NUL byte")))
        })
        .collect::<Result<_, _>>()?;
    let env: Vec<CString> = options
        .env
        .iter()
        .filter_map(|e| CString::new(e.as_bytes()).ok())
        .collect();
    let path_var = options
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let cwd = CString::new(options.cwd.clone().unwrap_or_else(|| "/".into()))
        .map_err(|_| err("bad working directory"))?;
    let console = match &options.console_socket {
        Some(path) => {
            Some(connect_short(path).map_err(|e| failed("connecting the console socket", e))?)
        }
        None => None,
    };
    // Reports a failure before exec from the grandchild; closes (CLOEXEC) on a successful exec.
    let (report_r, report_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| failed("pipe", e))?;
    let stdio = [options.stdin, options.stdout, options.stderr];

    // SAFETY: the caller is single-threaded (documented contract of every OciRuntime call), so
    // the child may allocate and run ordinary code until it execs or exits.
    match unsafe { fork() }.map_err(|e| failed("fork", e))? {
        ForkResult::Parent { child } => {
            drop(report_w);
            drop(stdio);
            drop(console);
            let mut message = Vec::new();
            let mut file = std::fs::File::from(report_r);
            let _ = std::io::Read::read_to_end(&mut file, &mut message);
            if !message.is_empty() {
                let mut status = 0;
                // SAFETY: reaping our own child.
                unsafe { libc::waitpid(child.as_raw(), &mut status, 0) };
                return Err(err(String::from_utf8_lossy(&message).into_owned()));
            }
            Ok(child.as_raw())
        }
        ForkResult::Child => {
            drop(report_r);
            let code = relay(
                &namespaces,
                &cgroup_files,
                || {
                    let failure = in_container(
                        process,
                        seccomp.as_ref(),
                        &options.additional_gids,
                        options.uid,
                        options.gid,
                        options.terminal.then_some(options.console_size),
                        console.as_ref(),
                        stdio,
                        &cwd,
                        &args,
                        &env,
                        &path_var,
                    );
                    let _ = nix::unistd::write(&report_w, failure.as_bytes());
                    127
                },
                &report_w,
            );
            // SAFETY: leaving the forked child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
    }
}

/// In the forked child: joins the cgroups and namespaces, forks the process that will exec
/// (setns into a pid namespace applies to children only), and relays its exit status.
fn relay(
    namespaces: &[(OwnedFd, CloneFlags)],
    cgroup_files: &[String],
    run: impl FnOnce() -> i32,
    report: &OwnedFd,
) -> i32 {
    let me = std::process::id().to_string();
    for file in cgroup_files {
        // Forked: this process has one thread, and "0" in `tasks` moves it without the
        // kernel's grace period (see `cgroup_join_files`).
        let content = if file.ends_with("/tasks") {
            "0"
        } else {
            me.as_str()
        };
        let _ = std::fs::write(file, content);
    }
    for (fd, flag) in namespaces {
        if let Err(e) = nix::sched::setns(fd, *flag) {
            let _ = nix::unistd::write(
                report,
                format!("joining the container's namespace ({flag:?}): {e}").as_bytes(),
            );
            return 126;
        }
    }
    // SAFETY: still single-threaded: see `exec`.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => run(),
        Ok(ForkResult::Parent { child }) => {
            // From here only the exec'ing child reports; this copy of the report pipe would
            // keep the caller waiting for a report until the process ends.
            // SAFETY: closes this relay's copy; the relay only waits and `_exit`s after this,
            // and never touches `report` (whose destructor never runs) again.
            unsafe { libc::close(report.as_raw_fd()) };
            let mut status = 0;
            loop {
                // SAFETY: reaping our own child.
                let r = unsafe { libc::waitpid(child.as_raw(), &mut status, 0) };
                if r == child.as_raw() {
                    break;
                }
                if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    return 255;
                }
            }
            super::exit_code(status)
        }
        Err(e) => {
            let _ = nix::unistd::write(report, format!("fork: {e}").as_bytes());
            126
        }
    }
}

/// The last steps inside the container; returns only with a message on failure.
#[allow(clippy::too_many_arguments)]
fn in_container(
    process: &oci_spec::runtime::Process,
    seccomp: Option<&super::seccomp_bpf::Program>,
    additional_gids: &[u32],
    uid: u32,
    gid: u32,
    // Some: a new pty (with this window size, if known) instead of `stdio`.
    terminal: Option<Option<(u16, u16)>>,
    console: Option<&UnixStream>,
    stdio: [Option<OwnedFd>; 3],
    cwd: &CString,
    args: &[CString],
    env: &[CString],
    path_var: &str,
) -> String {
    let step = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    if let Some(size) = terminal {
        if let Err(e) = attach_new_pty(console, size) {
            return step("setting up the terminal", &e);
        }
    } else {
        for (target, fd) in stdio.iter().enumerate() {
            if let Some(fd) = fd {
                // SAFETY: dup2 onto the standard descriptors of this about-to-exec child.
                unsafe { libc::dup2(fd.as_raw_fd(), target as RawFd) };
            }
        }
    }
    drop(stdio);
    // Nothing of the caller's but stdio reaches the container (a host directory or pipe fd
    // would be a way out): the rest close at exec, while the failure report still works.
    close_from_3_at_exec();
    if let Err(e) = nix::unistd::chdir(cwd.as_c_str()) {
        return step(&format!("chdir to {cwd:?}"), &e);
    }
    for rlimit in process.rlimits().iter().flatten() {
        let limit = libc::rlimit {
            rlim_cur: rlimit.soft(),
            rlim_max: rlimit.hard(),
        };
        // SAFETY: setrlimit with a valid struct; the resource number comes from the spec.
        unsafe { libc::setrlimit(rlimit.typ() as libc::__rlimit_resource_t, &limit) };
    }
    let caps = process.capabilities().clone().unwrap_or_default();
    let syscall = libcontainer::syscall::syscall::create_syscall();
    // Bounding set first (needs CAP_SETPCAP, which we still hold).
    let mut bounding_only = caps.clone();
    bounding_only
        .set_effective(None)
        .set_permitted(None)
        .set_inheritable(None)
        .set_ambient(None);
    if let Err(e) = libcontainer::capabilities::drop_privileges(&bounding_only, syscall.as_ref()) {
        return step("dropping capabilities", &e);
    }
    if process.no_new_privileges() == Some(true) {
        // SAFETY: prctl with constant arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    // The seccomp filter, while CAP_SYS_ADMIN is still held; everything after it (setuid,
    // capset, execve) is allowed by Docker's profile.
    if let Some(Err(e)) = seccomp.map(|p| p.load()) {
        return step("loading the seccomp filter", &e);
    }
    let gids: Vec<Gid> = additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    // SAFETY: prctl with constant arguments: keep the permitted set across setuid for root.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    if let Err(e) = nix::unistd::setgroups(&gids) {
        return step("setgroups", &e);
    }
    if let Err(e) =
        nix::unistd::setresgid(Gid::from_raw(gid), Gid::from_raw(gid), Gid::from_raw(gid))
    {
        return step("setgid", &e);
    }
    if let Err(e) =
        nix::unistd::setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid))
    {
        return step("setuid", &e);
    }
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    // A non-root user gets no effective capabilities, as in Docker.
    let sets = if uid == 0 {
        caps
    } else {
        let mut none = caps.clone();
        let empty = oci_spec::runtime::Capabilities::new();
        none.set_effective(Some(empty.clone()))
            .set_permitted(Some(empty.clone()))
            .set_inheritable(Some(empty.clone()))
            .set_ambient(Some(empty));
        none
    };
    if let Err(e) = libcontainer::capabilities::drop_privileges(&sets, syscall.as_ref()) {
        return step("setting capabilities", &e);
    }
    // exec, searching PATH as execvp does but with the container's PATH.
    let program = args[0].to_string_lossy().into_owned();
    let candidates: Vec<String> = if program.contains('/') {
        vec![program.clone()]
    } else {
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{d}/{program}"))
            .collect()
    };
    let mut last = nix::errno::Errno::ENOENT;
    for candidate in candidates {
        let Ok(path) = CString::new(candidate) else {
            continue;
        };
        let Err(e) = nix::unistd::execve(&path, args, env);
        if e != nix::errno::Errno::ENOENT {
            last = e;
        }
    }
    format!("exec: \"{program}\": {last}")
}

/// Opens a pty from the container's devpts, makes its slave our controlling terminal and
/// stdio, and sends the master to the console socket (the engine relays it to the client).
fn attach_new_pty(console: Option<&UnixStream>, size: Option<(u16, u16)>) -> Result<(), String> {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| e.to_string())?;
    nix::pty::grantpt(&master).map_err(|e| e.to_string())?;
    nix::pty::unlockpt(&master).map_err(|e| e.to_string())?;
    // SAFETY: ptsname is not thread-safe; this child is single-threaded.
    let name = unsafe { nix::pty::ptsname(&master) }.map_err(|e| e.to_string())?;
    nix::unistd::setsid().map_err(|e| e.to_string())?;
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(Path::new(&name))
        .map_err(|e| e.to_string())?;
    // SAFETY: TIOCSCTTY on the slave we just opened, as session leader.
    unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if let Some((rows, cols)) = size {
        let winsize = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our slave with a valid winsize.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &winsize) };
    }
    for target in 0..3 {
        // SAFETY: dup2 onto the standard descriptors of this about-to-exec child.
        unsafe { libc::dup2(slave.as_raw_fd(), target) };
    }
    if let Some(socket) = console {
        let fds = [master.as_raw_fd()];
        let iov = [IoSlice::new(b"pty")];
        sendmsg::<()>(
            socket.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| e.to_string())?;
    }
    // SAFETY: the master now lives in the receiver; our copy closes at exec (CLOEXEC) anyway.
    drop(unsafe { OwnedFd::from_raw_fd(libc::dup(master.as_raw_fd())) });
    Ok(())
}

/// Marks every descriptor above stderr close-on-exec.
fn close_from_3_at_exec() {
    // SAFETY: close_range takes a range and flags; CLOSE_RANGE_CLOEXEC only sets flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return;
    }
    // Kernels before 5.11: one by one, from the list of open descriptors.
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor number; a closed one just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Connects to a unix socket by a name relative to its directory: socket paths are limited to
/// 108 bytes and state directories can be deeper than that.
fn connect_short(path: &Path) -> std::io::Result<UnixStream> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return UnixStream::connect(path);
    };
    let cwd = std::env::current_dir()?;
    std::env::set_current_dir(dir)?;
    let stream = UnixStream::connect(name);
    std::env::set_current_dir(cwd)?;
    stream
}

/// The files to write to join the init's cgroups: in each v1 hierarchy `tasks` (a single-threaded
/// process writing "0" there moves without the global threadgroup lock, whose RCU grace period
/// `cgroup.procs` pays: 5-15 ms a write here), in the v2 tree `cgroup.procs`.
fn cgroup_join_files(init_pid: i32) -> Vec<String> {
    let text = std::fs::read_to_string(format!("/proc/{init_pid}/cgroup")).unwrap_or_default();
    let unified_root = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/unified"
    };
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let base = if controllers.is_empty() {
                unified_root.to_string()
            } else if let Some(name) = controllers.strip_prefix("name=") {
                format!("/sys/fs/cgroup/{name}")
            } else {
                format!("/sys/fs/cgroup/{controllers}")
            };
            let dir = format!("{base}{path}");
            ["tasks", "cgroup.procs"]
                .iter()
                .map(|name| format!("{dir}/{name}"))
                .find(|file| Path::new(file).exists())
        })
        .collect()
}
