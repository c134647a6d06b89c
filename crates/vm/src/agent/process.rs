//! Starting a container process in the guest and relaying it: fork (a container's main
//! process into a PID namespace of its own, whose PID 1 it is; its execs join it); in the
//! child a new session, its stdio (a pty that becomes the controlling terminal, or pipes), the root
//! (chroot), the working directory, the user, then execve of each `PATH` candidate; a
//! close-on-exec pipe tells the parent why the exec failed, in Docker's words. The parent
//! relays output as frames, stdin, signals and resizes to it, and sends its Exit once it has
//! exited and its output is drained.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::channel::Sender;
use super::reaper;
use super::rootfs::inside;
use crate::config::{GuestProcess, Started};
use crate::protocol::Kind;

/// The default `PATH` when the process's environment has none (Docker's).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Started processes whose Exit frame is not sent yet.
static UNREPORTED: AtomicUsize = AtomicUsize::new(0);

/// How many started processes have not had their Exit sent: power-off waits for them, so the
/// host learns how its processes ended (a stop's 137 or 143) before the guest is gone.
pub fn unreported_exits() -> usize {
    UNREPORTED.load(Ordering::SeqCst)
}

/// The running processes by stream.
#[derive(Default)]
pub struct Streams {
    map: Mutex<HashMap<u32, Handle>>,
}

struct Handle {
    pid: i32,
    stdin: Option<mpsc::Sender<Vec<u8>>>,
    pty: Option<Arc<File>>,
}

impl Streams {
    /// Bytes for the stream's stdin; empty closes it.
    pub fn stdin(&self, stream: u32, bytes: Vec<u8>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let Some(handle) = map.get_mut(&stream) else {
            return;
        };
        let closing = bytes.is_empty();
        if let Some(stdin) = &handle.stdin {
            let _ = stdin.send(bytes);
        }
        if closing {
            handle.stdin = None;
        }
    }

    pub fn signal(&self, stream: u32, signal: i32) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = map.get(&stream) {
            // SAFETY: kill(2) on a pid this agent started and has not reaped yet (the handle
            // goes before its Exit is sent).
            unsafe {
                libc::kill(handle.pid, signal);
            }
        }
    }

    pub fn resize(&self, stream: u32, rows: u16, columns: u16) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pty) = map.get(&stream).and_then(|h| h.pty.as_ref()) {
            set_size(pty.as_raw_fd(), rows, columns);
        }
    }

    fn remove(&self, stream: u32) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&stream);
    }
}

/// Starts `process` on `stream` in `root`, answering Started or Failed (+ Exit). When it has
/// exited and its output is drained, Exit is sent and `on_exit` runs (after `before_drain`,
/// which the main process uses to end every other process so no straggler holds its output
/// open).
pub fn start(
    stream: u32,
    process: &GuestProcess,
    root: &Path,
    sender: &Sender,
    streams: &Arc<Streams>,
    before_drain: Option<Box<dyn FnOnce() + Send>>,
    on_exit: Box<dyn FnOnce(i32) + Send>,
) {
    let namespace = if root == Path::new("/") {
        // A machine's processes (berth serve, a shell) are the guest's own.
        PidNamespace::Guest
    } else if stream == crate::protocol::MAIN_STREAM {
        PidNamespace::New
    } else {
        let main = streams
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&crate::protocol::MAIN_STREAM)
            .map(|h| h.pid);
        main.map_or(PidNamespace::Guest, PidNamespace::JoinOf)
    };
    let spawned = match spawn(process, root, namespace) {
        Ok(spawned) => spawned,
        Err(failure) => {
            sender.failed(stream, failure.message, failure.exit_code);
            on_exit(failure.exit_code);
            return;
        }
    };
    sender.json(Kind::Started, stream, &Started { pid: spawned.pid });
    UNREPORTED.fetch_add(1, Ordering::SeqCst);
    super::boot::trace("started");

    let mut outputs: Vec<JoinHandle<()>> = Vec::new();
    let mut stdin_sender = None;
    let mut pty = None;
    match spawned.io {
        ParentIo::Pty(master) => {
            let master = Arc::new(File::from(master));
            outputs.push(relay_output(master.clone(), Kind::Stdout, stream, sender));
            if process.stdin {
                stdin_sender = Some(relay_input(StdinTarget::Pty(master.clone())));
            }
            pty = Some(master);
        }
        ParentIo::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            outputs.push(relay_output(
                Arc::new(File::from(stdout)),
                Kind::Stdout,
                stream,
                sender,
            ));
            outputs.push(relay_output(
                Arc::new(File::from(stderr)),
                Kind::Stderr,
                stream,
                sender,
            ));
            if let Some(stdin) = stdin {
                stdin_sender = Some(relay_input(StdinTarget::Pipe(File::from(stdin))));
            }
        }
    }
    streams
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            stream,
            Handle {
                pid: spawned.pid,
                stdin: stdin_sender,
                pty,
            },
        );

    let sender = sender.clone();
    let streams = streams.clone();
    let exited = spawned.exited;
    std::thread::spawn(move || {
        let code = exited.recv().unwrap_or(255);
        super::boot::trace("exited");
        if let Some(before_drain) = before_drain {
            before_drain();
        }
        for output in outputs {
            let _ = output.join();
        }
        streams.remove(stream);
        sender.send(&crate::protocol::Frame::int(Kind::Exit, stream, code));
        UNREPORTED.fetch_sub(1, Ordering::SeqCst);
        on_exit(code);
    });
}

/// Which PID namespace a process starts in. A container's main process is PID 1 of its own,
/// as in a container: a signal it has no handler for does nothing (a `stop` of `sleep` waits
/// and kills, 137), its end ends every process in it, and its /proc shows only them. Its execs
/// join it.
#[derive(Clone, Copy)]
enum PidNamespace {
    Guest,
    New,
    JoinOf(i32),
}

/// Why a process did not start.
pub struct Failure {
    pub message: String,
    pub exit_code: i32,
}

struct Spawned {
    pid: i32,
    io: ParentIo,
    exited: mpsc::Receiver<i32>,
}

enum ParentIo {
    Pty(OwnedFd),
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
}

enum ChildIo {
    Pty(OwnedFd),
    Pipes {
        stdin: Option<OwnedFd>,
        null: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
}

/// Where the child failed, written with its errno to the error pipe.
#[repr(u8)]
#[derive(Clone, Copy)]
enum Stage {
    Root = 1,
    Cwd = 2,
    User = 3,
    Exec = 4,
    Terminal = 5,
    Proc = 6,
}

/// Everything the child needs, built before the fork: after it the child only makes system
/// calls (another thread may hold the allocator's lock at the moment of the fork).
struct Prepared {
    argv: Vec<CString>,
    env: Vec<CString>,
    candidates: Vec<CString>,
    root: Option<CString>,
    /// Where a process that starts a PID namespace mounts that namespace's /proc.
    proc_mount: Option<CString>,
    cwd: CString,
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
}

fn c_string(text: &str) -> Result<CString, Failure> {
    CString::new(text).map_err(|_| Failure {
        message: format!("{text:?} contains a NUL byte"),
        exit_code: 125,
    })
}

fn prepare(
    process: &GuestProcess,
    root: &Path,
    namespace: PidNamespace,
) -> Result<Prepared, Failure> {
    let program = process.args.first().ok_or_else(|| Failure {
        message: "no command specified".to_string(),
        exit_code: 125,
    })?;
    let argv = process
        .args
        .iter()
        .map(|a| c_string(a))
        .collect::<Result<Vec<_>, _>>()?;
    let env = process
        .env
        .iter()
        .map(|e| c_string(e))
        .collect::<Result<Vec<_>, _>>()?;
    let candidates = if program.contains('/') {
        vec![c_string(program)?]
    } else {
        let path = process
            .env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .map(|dir| if dir.is_empty() { "." } else { dir })
            .map(|dir| c_string(&format!("{}/{program}", dir.trim_end_matches('/'))))
            .collect::<Result<Vec<_>, _>>()?
    };
    let cwd = if process.cwd.is_empty() {
        "/"
    } else {
        &process.cwd
    };
    // Docker creates a missing working directory (runc does, in the container's root).
    let _ = std::fs::create_dir_all(inside(root, cwd));
    let proc_mount = match namespace {
        PidNamespace::New if root != Path::new("/") => {
            Some(c_string(&inside(root, "/proc").to_string_lossy())?)
        }
        _ => None,
    };
    let root = if root == Path::new("/") {
        None
    } else {
        Some(c_string(&root.to_string_lossy())?)
    };
    Ok(Prepared {
        argv,
        env,
        candidates,
        root,
        proc_mount,
        cwd: c_string(cwd)?,
        uid: process.uid,
        gid: process.gid,
        groups: process.additional_gids.clone(),
    })
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Failure> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Failure {
        message: format!("pipe: {e}"),
        exit_code: 125,
    })
}

fn spawn(process: &GuestProcess, root: &Path, namespace: PidNamespace) -> Result<Spawned, Failure> {
    let prepared = prepare(process, root, namespace)?;
    let setup_error = |what: &str, e: std::io::Error| Failure {
        message: format!("{what}: {e}"),
        exit_code: 125,
    };
    let (parent_io, child_io) = if process.terminal {
        let (master, slave) = open_pty(root).map_err(|e| setup_error("opening a pty", e))?;
        if let Some((rows, columns)) = process.console_size {
            set_size(master.as_raw_fd(), rows, columns);
        }
        (ParentIo::Pty(master), ChildIo::Pty(slave))
    } else {
        let (stdin_read, stdin_write) = if process.stdin {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        } else {
            (None, None)
        };
        let (stdout_read, stdout_write) = pipe()?;
        let (stderr_read, stderr_write) = pipe()?;
        let null = File::open("/dev/null").map_err(|e| setup_error("/dev/null", e))?;
        (
            ParentIo::Pipes {
                stdin: stdin_write,
                stdout: stdout_read,
                stderr: stderr_read,
            },
            ChildIo::Pipes {
                stdin: stdin_read,
                null: null.into(),
                stdout: stdout_write,
                stderr: stderr_write,
            },
        )
    };
    let (error_read, error_write) = pipe()?;

    // An exec joins the main process's PID namespace, the main process gets a new one: this
    // thread's children are made in it until it switches back (only the frame loop's thread
    // starts processes). glibc's fork, never a raw clone(CLONE_NEWPID): the agent has other
    // threads (DNS, output), and a raw clone's child can inherit a lock one of them held
    // (malloc's, stdio's) and hang before its execve.
    let joined = match namespace {
        PidNamespace::JoinOf(main) => enter_pid_namespace_of(main),
        PidNamespace::New => enter_new_pid_namespace()
            .map_err(|e| setup_error("making the process's PID namespace", e))?
            .into(),
        PidNamespace::Guest => None,
    };
    let mut table = reaper::lock();
    // SAFETY: fork(2) through glibc (its atfork handlers keep malloc and stdio usable in the
    // child); the child only runs `child`, which makes system calls on data prepared before
    // the fork and ends in execve or _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: in the child, see `child`.
        unsafe { child(&prepared, &child_io, error_write.as_raw_fd()) }
    }
    if let Some(own) = joined {
        let _ = nix::sched::setns(own, nix::sched::CloneFlags::CLONE_NEWPID);
    }
    if pid < 0 {
        return Err(setup_error("fork", std::io::Error::last_os_error()));
    }
    let exited = table.register(pid);
    drop(table);
    drop(child_io);
    drop(error_write);

    let mut report = Vec::new();
    let _ = File::from(error_read).read_to_end(&mut report);
    if report.len() == 5 {
        let errno = i32::from_le_bytes(report[1..5].try_into().expect("4 bytes"));
        // The child exits at once; the reaper collects it, nobody waits for the code.
        return Err(failure(report[0], errno, process, root));
    }
    Ok(Spawned {
        pid,
        io: parent_io,
        exited,
    })
}

/// Makes this thread's next children start in `pid`'s PID namespace; returns the agent's own
/// namespace to switch back to. `None` (the children stay in the guest's) when `pid` is gone.
/// Makes this thread's next child PID 1 of a new PID namespace; returns the namespace to go
/// back to.
fn enter_new_pid_namespace() -> std::io::Result<File> {
    let own = File::open("/proc/thread-self/ns/pid_for_children")?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).map_err(std::io::Error::from)?;
    Ok(own)
}

fn enter_pid_namespace_of(pid: i32) -> Option<File> {
    let own = File::open("/proc/self/ns/pid").ok()?;
    let theirs = File::open(format!("/proc/{pid}/ns/pid")).ok()?;
    nix::sched::setns(theirs, nix::sched::CloneFlags::CLONE_NEWPID).ok()?;
    Some(own)
}

/// Docker's message and exit code for a child that failed at `stage`.
fn failure(stage: u8, errno: i32, process: &GuestProcess, root: &Path) -> Failure {
    let error = std::io::Error::from_raw_os_error(errno);
    let text = error.to_string();
    // "No such file or directory (os error 2)" -> "no such file or directory"
    let plain = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    let program = process.args.first().cloned().unwrap_or_default();
    let (message, exit_code) = match stage {
        s if s == Stage::Exec as u8 => match errno {
            libc::ENOENT | libc::ENOTDIR if !program.contains('/') => (
                format!("exec: \"{program}\": executable file not found in $PATH"),
                127,
            ),
            libc::ENOENT | libc::ENOTDIR => {
                (format!("exec: \"{program}\": stat {program}: {plain}"), 127)
            }
            libc::EACCES => (format!("exec: \"{program}\": permission denied"), 126),
            _ => (format!("exec: \"{program}\": {plain}"), 126),
        },
        s if s == Stage::Cwd as u8 => (
            format!(
                "chdir to cwd (\"{}\") set in config.json failed: {plain}",
                process.cwd
            ),
            125,
        ),
        s if s == Stage::Root as u8 => (format!("chroot {}: {plain}", root.display()), 125),
        s if s == Stage::User as u8 => (
            format!(
                "setting user {}:{} failed: {plain}",
                process.uid, process.gid
            ),
            125,
        ),
        s if s == Stage::Proc as u8 => (format!("mounting the container's /proc: {plain}"), 125),
        _ => (format!("setting up the terminal: {plain}"), 125),
    };
    Failure { message, exit_code }
}

/// The forked child: never returns.
///
/// # Safety
/// Only called in a freshly forked child of a multi-threaded process: it must not allocate
/// or take locks, and it does not (system calls on prepared data only).
unsafe fn child(prepared: &Prepared, io: &ChildIo, error_fd: RawFd) -> ! {
    // SAFETY: system calls on live buffers prepared before the fork, in the forked child.
    unsafe {
        let fail = |stage: Stage, errno: i32| -> ! {
            let mut report = [0u8; 5];
            report[0] = stage as u8;
            report[1..5].copy_from_slice(&errno.to_le_bytes());
            libc::write(
                error_fd,
                report.as_ptr() as *const libc::c_void,
                report.len(),
            );
            libc::_exit(127)
        };
        let errno = || *libc::__errno_location();
        // The agent's signal dispositions (Rust ignores SIGPIPE) and mask are not the
        // process's.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for signal in 1..32 {
            libc::signal(signal, libc::SIG_DFL);
        }
        libc::setsid();
        match io {
            ChildIo::Pty(slave) => {
                let slave = slave.as_raw_fd();
                if libc::ioctl(slave, libc::TIOCSCTTY, 0) != 0 {
                    fail(Stage::Terminal, errno());
                }
                for target in 0..3 {
                    libc::dup2(slave, target);
                }
            }
            ChildIo::Pipes {
                stdin,
                null,
                stdout,
                stderr,
            } => {
                let input = stdin.as_ref().unwrap_or(null).as_raw_fd();
                libc::dup2(input, 0);
                libc::dup2(stdout.as_raw_fd(), 1);
                libc::dup2(stderr.as_raw_fd(), 2);
            }
        }
        // Every other descriptor of the agent (the port, other processes' ptys) closes at exec.
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if let Some(target) = &prepared.proc_mount
            && libc::mount(
                c"proc".as_ptr(),
                target.as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ) != 0
        {
            fail(Stage::Proc, errno());
        }
        if let Some(root) = &prepared.root
            && libc::chroot(root.as_ptr()) != 0
        {
            fail(Stage::Root, errno());
        }
        if libc::chdir(prepared.cwd.as_ptr()) != 0 {
            fail(Stage::Cwd, errno());
        }
        if libc::setgroups(prepared.groups.len(), prepared.groups.as_ptr()) != 0
            || libc::setgid(prepared.gid) != 0
            || libc::setuid(prepared.uid) != 0
        {
            fail(Stage::User, errno());
        }
        let mut argv: [*const libc::c_char; 256] = [std::ptr::null(); 256];
        let mut envp: [*const libc::c_char; 1024] = [std::ptr::null(); 1024];
        for (slot, arg) in argv.iter_mut().zip(prepared.argv.iter().take(255)) {
            *slot = arg.as_ptr();
        }
        for (slot, var) in envp.iter_mut().zip(prepared.env.iter().take(1023)) {
            *slot = var.as_ptr();
        }
        let mut saved = libc::ENOENT;
        for candidate in &prepared.candidates {
            libc::execve(candidate.as_ptr(), argv.as_ptr(), envp.as_ptr());
            match errno() {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => saved = libc::EACCES,
                other => {
                    saved = other;
                    break;
                }
            }
        }
        fail(Stage::Exec, saved)
    }
}

/// A pty from the root's own devpts instance (so the process's `tty` names a node in its
/// /dev/pts): the master, and the slave opened through it (TIOCGPTPEER).
fn open_pty(root: &Path) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let ptmx = if root == Path::new("/") {
        "/dev/ptmx".into()
    } else {
        inside(root, "/dev/pts/ptmx")
    };
    let master = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&ptmx)?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int; TIOCGPTPEER returns a new descriptor.
    let slave = unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor TIOCGPTPEER just returned, owned by nothing else.
    Ok((master.into(), unsafe { OwnedFd::from_raw_fd(slave) }))
}

fn set_size(fd: RawFd, rows: u16, columns: u16) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ takes a pointer to a winsize.
    unsafe {
        libc::ioctl(fd, libc::TIOCSWINSZ, &size);
    }
}

/// Relays `source` as `kind` frames until its end (a pty reports the end as EIO), then sends
/// the empty frame that says so.
fn relay_output(source: Arc<File>, kind: Kind, stream: u32, sender: &Sender) -> JoinHandle<()> {
    let sender = sender.clone();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            match (&*source).read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => sender.data(kind, stream, &buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        sender.data(kind, stream, &[]);
    })
}

enum StdinTarget {
    Pipe(File),
    Pty(Arc<File>),
}

/// A thread that writes what the host sends to the process's stdin (a process that does not
/// read must not stall the agent's frame loop); an empty chunk closes a pipe, and on a pty
/// sends end-of-file (^D), as closing a terminal's input would.
fn relay_input(target: StdinTarget) -> mpsc::Sender<Vec<u8>> {
    let (send, receive) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for chunk in receive {
            let result = match (&target, chunk.is_empty()) {
                (StdinTarget::Pipe(_), true) => break,
                (StdinTarget::Pty(pty), true) => (&**pty).write_all(&[4]),
                (StdinTarget::Pipe(pipe), false) => (&*pipe).write_all(&chunk),
                (StdinTarget::Pty(pty), false) => (&**pty).write_all(&chunk),
            };
            if result.is_err() {
                break;
            }
        }
    });
    send
}
