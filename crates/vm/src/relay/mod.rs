//! The host-side relay (`berth vm-relay CONFIG`): it stands in for a container's init. The
//! engine's shim starts it as it would start the init, with the container's stdio (or a
//! console socket for `-t`) as its own. It boots the guest ([`boot`]), serves its control
//! socket ([`control`]) where the sandbox starts the main process and `berth vm-exec` runs
//! execs, relays stdio and every catchable signal ([`signals`]) to the guest's main process,
//! answers the guest's DNS queries from the container's network namespace ([`dns`]), and exits
//! with the main process's exit code once the guest has powered off. QEMU never outlives it:
//! it is killed on every exit path (and has PDEATHSIG besides).

pub mod control;
mod dns;
mod launch;
pub mod signals;

pub use launch::run;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::config::{Failed, GuestExec, GuestRun, Started};
use crate::protocol::{Frame, Kind, MAIN_STREAM};
use crate::terminal::Terminal;
use control::{Reply, Request};

/// How long the guest may take to power off after its main process exited before QEMU is
/// killed: the agent syncs and reboots at once, QEMU exits in milliseconds.
const POWEROFF_GRACE: Duration = Duration::from_secs(5);

/// A running VM as the relay drives it (QEMU in production, a fake in tests).
pub trait Machine: Send {
    /// QEMU's pid.
    fn pid(&self) -> i32;
    /// Whether it has exited, without waiting: its exit status as Docker shows it (the code,
    /// or 128 + the signal that killed it).
    fn exited(&mut self) -> Option<i32>;
    /// Kills it and reaps it.
    fn kill(&mut self);
    /// Stops its vCPUs.
    fn pause(&mut self) -> Result<(), String>;
    /// Lets them run again.
    fn resume(&mut self) -> Result<(), String>;
    /// The last lines of its serial console, for an error message.
    fn serial_tail(&self) -> String;
}

/// Where the main process's stdio goes on the host.
pub enum HostIo {
    /// Plain stdio: the relay's own fds 0, 1, 2 (the container's pipes or /dev/null).
    Pipes {
        stdin: File,
        stdout: File,
        stderr: File,
    },
    /// `-t`: the pty whose master went to the console socket.
    Terminal(Terminal),
}

/// Where the main process stands.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Booting,
    BootFailed(String),
    Up,
    Starting,
    Started(i32),
    StartFailed(Failed),
    Exited(i32),
}

/// A booted guest: the agent's channel (writes, whole frames under the lock) and QEMU.
struct Guest {
    agent: Mutex<UnixStream>,
    machine: Mutex<Box<dyn Machine>>,
}

/// What every relay thread shares.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    guest: OnceLock<Guest>,
    /// QEMU's pid once spawned, for the signal thread while the guest boots.
    qemu_pid: AtomicI32,
    /// exec streams -> the `berth vm-exec` connection that owns each.
    routes: Mutex<HashMap<u32, UnixStream>>,
    next_stream: AtomicU32,
    run: GuestRun,
    io: HostIo,
    stdin_pumping: AtomicBool,
    /// A poweroff was asked for: QEMU's exit is not a crash.
    powering_off: AtomicBool,
    /// A boot failure was answered to a `start`.
    failure_told: AtomicBool,
    /// `start` requests not answered yet: the relay answers them before it exits.
    starts_pending: AtomicU32,
    events: Mutex<mpsc::Sender<Event>>,
}

/// What the main loop waits for.
enum Event {
    /// The main process exited with this code.
    MainExit(i32),
    /// The agent's channel ended.
    AgentClosed,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The relay of one guest, from before its boot to its main process's exit.
pub struct Relay {
    shared: Arc<Shared>,
    events: mpsc::Receiver<Event>,
    id: String,
}

impl Relay {
    /// Serves `listener` (the control socket) and catches the forwarded signals from now on;
    /// the guest boots next ([`Relay::booted`] or [`Relay::boot_failed`]).
    pub fn new(id: &str, run: GuestRun, io: HostIo, listener: UnixListener) -> Relay {
        let (sender, events) = mpsc::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::Booting),
            changed: Condvar::new(),
            guest: OnceLock::new(),
            qemu_pid: AtomicI32::new(0),
            routes: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(MAIN_STREAM + 1),
            run,
            io,
            stdin_pumping: AtomicBool::new(false),
            powering_off: AtomicBool::new(false),
            failure_told: AtomicBool::new(false),
            starts_pending: AtomicU32::new(0),
            events: Mutex::new(sender),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || accept(accepting, listener));
        match signals::Signals::install() {
            Ok(signals) => {
                let forwarding = shared.clone();
                std::thread::spawn(move || forward_signals(forwarding, signals));
            }
            Err(e) => eprintln!("berth vm-relay: catching signals: {e}"),
        }
        Relay {
            shared,
            events,
            id: id.to_string(),
        }
    }

    /// QEMU runs as `pid` (not yet ready): a signal that ends the container kills it.
    pub fn spawned(&self, pid: i32) {
        self.shared.qemu_pid.store(pid, Ordering::SeqCst);
    }

    /// The guest could not boot: said on stderr, and `start` answers with `message` (the
    /// relay waits a little for the sandbox's `start` to take it).
    pub fn boot_failed(&self, message: String) {
        write_stderr(&self.shared, format!("berth: {message}\n").as_bytes());
        self.set_state(State::BootFailed(message));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.shared.failure_told.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The agent said Hello on `agent`: the guest is up. Runs until the main process exited
    /// and the guest is off; returns the relay's exit code.
    pub fn booted(self, agent: UnixStream, machine: Box<dyn Machine>) -> i32 {
        let reader = match agent.try_clone() {
            Ok(reader) => reader,
            Err(e) => {
                let mut machine = machine;
                machine.kill();
                eprintln!("berth vm-relay: the guest channel: {e}");
                return 255;
            }
        };
        let _ = self.shared.guest.set(Guest {
            agent: Mutex::new(agent),
            machine: Mutex::new(machine),
        });
        let reading = self.shared.clone();
        std::thread::spawn(move || read_agent(reading, reader));
        self.set_state(State::Up);
        self.wait_for_exit()
    }

    fn set_state(&self, state: State) {
        set_state(&self.shared, state);
    }

    /// The main loop: the main process's exit, the agent's end, or QEMU's death.
    fn wait_for_exit(self) -> i32 {
        let guest = self.shared.guest.get().expect("booted");
        loop {
            match self.events.recv_timeout(Duration::from_millis(50)) {
                Ok(Event::MainExit(code)) => {
                    let _ = write_frame(
                        &self.shared,
                        &Frame::new(Kind::Poweroff, MAIN_STREAM, Vec::new()),
                    );
                    power_off(&mut **lock(&guest.machine));
                    self.answer_starts();
                    return code.clamp(0, 255);
                }
                Ok(Event::AgentClosed) => {
                    // QEMU is exiting (a poweroff, a crash): give it the grace to say how.
                    let deadline = Instant::now() + Duration::from_secs(1);
                    while Instant::now() < deadline {
                        if lock(&guest.machine).exited().is_some() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    // A MainExit that raced the channel's end wins.
                    if let Ok(Event::MainExit(code)) = self.events.try_recv() {
                        power_off(&mut **lock(&guest.machine));
                        return code.clamp(0, 255);
                    }
                    let mut machine = lock(&guest.machine);
                    let status = machine.exited();
                    machine.kill();
                    return self.crashed(&**machine, status);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let mut machine = lock(&guest.machine);
                    if let Some(status) = machine.exited() {
                        drop(machine);
                        // Its last output and exit may still be in the channel.
                        if let Ok(Event::MainExit(code)) =
                            self.events.recv_timeout(Duration::from_millis(200))
                        {
                            return code.clamp(0, 255);
                        }
                        let machine = lock(&guest.machine);
                        return self.crashed(&**machine, Some(status));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    unreachable!("the relay holds a sender")
                }
            }
        }
    }

    /// Waits (briefly) until every `start` in flight has its answer: a process that failed to
    /// start exits at once, and its `start` must still hear why.
    fn answer_starts(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.shared.starts_pending.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// QEMU went away before the main process exited: said on the container's stderr; the
    /// container shows as exited (137 when QEMU was killed, 255 otherwise; 0 for a poweroff
    /// that was asked for).
    fn crashed(&self, machine: &dyn Machine, status: Option<i32>) -> i32 {
        if self.shared.powering_off.load(Ordering::SeqCst) {
            return 0;
        }
        let how = match status {
            Some(code) if code > 128 => format!("was killed by signal {}", code - 128),
            Some(code) => format!("exited with status {code}"),
            None => "stopped answering".to_string(),
        };
        let tail = machine.serial_tail();
        let message = format!(
            "berth: the VM of container {} stopped before its process exited: QEMU {how}{}{}\n",
            self.id,
            if tail.is_empty() {
                ""
            } else {
                "; the guest's console said:\n"
            },
            tail
        );
        write_stderr(&self.shared, message.as_bytes());
        match status {
            Some(code) if code > 128 => 137,
            _ => 255,
        }
    }
}

/// Waits for QEMU to exit after a poweroff, killing it when it takes too long.
fn power_off(machine: &mut dyn Machine) {
    let deadline = Instant::now() + POWEROFF_GRACE;
    while Instant::now() < deadline {
        if machine.exited().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    machine.kill();
}

fn set_state(shared: &Shared, state: State) {
    *lock(&shared.state) = state;
    shared.changed.notify_all();
}

/// Waits while `busy` says the state is in flux.
fn wait_state(shared: &Shared, busy: impl Fn(&State) -> bool) -> State {
    let mut state = lock(&shared.state);
    while busy(&state) {
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    state.clone()
}

fn write_frame(shared: &Shared, frame: &Frame) -> std::io::Result<()> {
    let Some(guest) = shared.guest.get() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the guest is not up",
        ));
    };
    frame.write_to(&mut *lock(&guest.agent))
}

fn send_event(shared: &Shared, event: Event) {
    let _ = lock(&shared.events).send(event);
}

fn write_stdout(shared: &Shared, bytes: &[u8]) {
    let _ = match &shared.io {
        HostIo::Pipes { stdout, .. } => (&*stdout).write_all(bytes),
        HostIo::Terminal(terminal) => write_all_fd(terminal.slave.as_fd(), bytes),
    };
}

fn write_stderr(shared: &Shared, bytes: &[u8]) {
    let _ = match &shared.io {
        HostIo::Pipes { stderr, .. } => (&*stderr).write_all(bytes),
        HostIo::Terminal(terminal) => write_all_fd(terminal.slave.as_fd(), bytes),
    };
}

/// write(2) until all of `bytes` is written (an fd that is not a `File`: the pty).
fn write_all_fd(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The agent's frames, to where each belongs.
fn read_agent(shared: Arc<Shared>, mut agent: UnixStream) {
    loop {
        let frame = match Frame::read_from(&mut agent) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                eprintln!("berth vm-relay: {e}");
                break;
            }
        };
        if frame.kind == Kind::DnsQuery {
            let answering = shared.clone();
            std::thread::spawn(move || {
                if let Some(answer) = dns::resolve(&frame.payload) {
                    let _ = write_frame(
                        &answering,
                        &Frame::new(Kind::DnsReply, frame.stream, answer),
                    );
                }
            });
            continue;
        }
        if frame.stream == MAIN_STREAM {
            main_frame(&shared, frame);
        } else {
            exec_frame(&shared, frame);
        }
    }
    send_event(&shared, Event::AgentClosed);
}

fn main_frame(shared: &Shared, frame: Frame) {
    match frame.kind {
        Kind::Stdout => write_stdout(shared, &frame.payload),
        Kind::Stderr => write_stderr(shared, &frame.payload),
        Kind::Started => match frame.parse::<Started>() {
            Ok(started) => set_state(shared, State::Started(started.pid)),
            Err(e) => eprintln!("berth vm-relay: {e}"),
        },
        Kind::Failed => {
            let failed = frame.parse::<Failed>().unwrap_or_else(|e| Failed {
                message: e.to_string(),
                exit_code: 125,
            });
            set_state(shared, State::StartFailed(failed));
        }
        Kind::Exit => {
            let code = frame.as_int().unwrap_or(255);
            {
                let mut state = lock(&shared.state);
                if !matches!(*state, State::StartFailed(_)) {
                    *state = State::Exited(code);
                }
            }
            shared.changed.notify_all();
            send_event(shared, Event::MainExit(code));
        }
        _ => {}
    }
}

fn exec_frame(shared: &Shared, frame: Frame) {
    let mut routes = lock(&shared.routes);
    let Some(client) = routes.get_mut(&frame.stream) else {
        return;
    };
    let done = frame.kind == Kind::Exit;
    if frame.write_to(client).is_err() || done {
        routes.remove(&frame.stream);
    }
}

/// The forwarded signals: to the main process once it runs; before that, a signal that ends
/// a container ends the boot (QEMU killed, the relay exits as the signal's victim would).
fn forward_signals(shared: Arc<Shared>, mut signals: signals::Signals) {
    while let Some(signal) = signals.wait() {
        let state = lock(&shared.state).clone();
        match state {
            State::Started(_) if signal == libc::SIGWINCH => {
                if let HostIo::Terminal(terminal) = &shared.io
                    && let Some((rows, columns)) = terminal.size()
                {
                    let mut payload = rows.to_le_bytes().to_vec();
                    payload.extend_from_slice(&columns.to_le_bytes());
                    let _ = write_frame(&shared, &Frame::new(Kind::Resize, MAIN_STREAM, payload));
                }
            }
            State::Started(_) => {
                let _ = write_frame(&shared, &Frame::int(Kind::Signal, MAIN_STREAM, signal));
            }
            _ if signal == libc::SIGWINCH => {}
            State::Exited(_) | State::StartFailed(_) => {}
            _ => {
                let pid = shared.qemu_pid.load(Ordering::SeqCst);
                if pid > 0 {
                    // SAFETY: kill(2) on QEMU's pid, our child, not yet reaped (the relay
                    // reaps it only on its own exit paths, which end the process).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                std::process::exit(128 + signal);
            }
        }
    }
}

/// The control socket's connections, one thread each.
fn accept(shared: Arc<Shared>, listener: UnixListener) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let serving = shared.clone();
        std::thread::spawn(move || serve(serving, conn));
    }
}

fn serve(shared: Arc<Shared>, mut conn: UnixStream) {
    let request = match control::read_line(&mut conn) {
        Ok(Some(line)) => serde_json::from_slice::<Request>(&line),
        _ => return,
    };
    let reply = match request {
        Err(ref e) => Reply::failed(format!("a bad control request: {e}"), None),
        Ok(Request::Exec) => return serve_exec(&shared, conn),
        Ok(Request::Start) => {
            shared.starts_pending.fetch_add(1, Ordering::SeqCst);
            start(&shared)
        }
        Ok(request @ (Request::Pause | Request::Resume | Request::Poweroff)) => {
            match wait_state(&shared, |s| *s == State::Booting) {
                State::BootFailed(message) => Reply::failed(message, Some(125)),
                _ => control_request(&shared, request),
            }
        }
    };
    let _ = control::write_line(&mut conn, &reply);
    if matches!(request, Ok(Request::Start)) {
        if reply.error.is_some() {
            shared.failure_told.store(true, Ordering::SeqCst);
        }
        shared.starts_pending.fetch_sub(1, Ordering::SeqCst);
    }
}

fn control_request(shared: &Shared, request: Request) -> Reply {
    let guest = shared.guest.get().expect("booted");
    let result = match request {
        Request::Pause => lock(&guest.machine).pause(),
        Request::Resume => lock(&guest.machine).resume(),
        _ => {
            shared.powering_off.store(true, Ordering::SeqCst);
            write_frame(shared, &Frame::new(Kind::Poweroff, MAIN_STREAM, Vec::new()))
                .map_err(|e| format!("asking the guest to power off: {e}"))
        }
    };
    match result {
        Ok(()) => Reply::done(),
        Err(message) => Reply::failed(message, None),
    }
}

/// `start`: once the guest is up, runs the main process (once) and answers when it runs or
/// failed.
fn start(shared: &Shared) -> Reply {
    let state = wait_state(shared, |s| *s == State::Booting);
    match state {
        State::BootFailed(message) => return Reply::failed(message, Some(125)),
        State::Up => {
            set_state(shared, State::Starting);
            let mut run = shared.run.clone();
            run.clock_ns = now_ns();
            if let HostIo::Terminal(terminal) = &shared.io {
                run.process.console_size = terminal.size().or(run.process.console_size);
            }
            if let Err(e) = write_frame(shared, &Frame::json(Kind::Run, MAIN_STREAM, &run)) {
                return Reply::failed(format!("starting the guest's process: {e}"), Some(125));
            }
        }
        _ => {}
    }
    let state = wait_state(shared, |s| *s == State::Starting || *s == State::Up);
    match state {
        State::Started(pid) => {
            pump_stdin(shared);
            Reply {
                pid: Some(pid),
                ..Reply::default()
            }
        }
        State::StartFailed(failed) => Reply::failed(failed.message, Some(failed.exit_code)),
        State::Exited(code) => Reply {
            // It ran, and is gone already.
            pid: Some(0),
            exit_code: Some(code),
            error: None,
        },
        other => Reply::failed(format!("the guest's process is {other:?}"), Some(125)),
    }
}

/// The host's stdin (or the terminal) to the main process, from its start on.
fn pump_stdin(shared: &Shared) {
    if shared.stdin_pumping.swap(true, Ordering::SeqCst) {
        return;
    }
    let source: Option<OwnedFd> = match &shared.io {
        HostIo::Pipes { stdin, .. } => stdin.as_fd().try_clone_to_owned().ok(),
        HostIo::Terminal(terminal) => terminal.slave.try_clone().ok(),
    };
    let Some(source) = source else { return };
    let agent = match shared.guest.get().map(|g| lock(&g.agent).try_clone()) {
        Some(Ok(agent)) => agent,
        _ => return,
    };
    let agent = Mutex::new(agent);
    std::thread::spawn(move || {
        let mut source = File::from(source);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match source.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: the terminal's master closed.
                Err(_) => 0,
            };
            let frame = Frame::new(Kind::Stdin, MAIN_STREAM, buf[..n].to_vec());
            if frame.write_to(&mut *lock(&agent)).is_err() || n == 0 {
                return;
            }
        }
    });
}

/// One exec on a control connection: its frames to and from the guest, on a fresh stream.
fn serve_exec(shared: &Shared, mut conn: UnixStream) {
    let fail = |mut conn: UnixStream, message: String| {
        let stream = 0;
        let _ = Frame::json(
            Kind::Failed,
            stream,
            &Failed {
                message,
                exit_code: 125,
            },
        )
        .write_to(&mut conn);
        let _ = Frame::int(Kind::Exit, stream, 125).write_to(&mut conn);
    };
    if let State::BootFailed(message) = wait_state(shared, |s| *s == State::Booting) {
        return fail(conn, message);
    }
    let run = match Frame::read_from(&mut conn) {
        Ok(Some(frame)) if frame.kind == Kind::Run => frame,
        _ => return,
    };
    if let Err(e) = run.parse::<GuestExec>() {
        return fail(conn, e.to_string());
    }
    let stream = shared.next_stream.fetch_add(1, Ordering::SeqCst);
    let Ok(writer) = conn.try_clone() else { return };
    lock(&shared.routes).insert(stream, writer);
    if let Err(e) = write_frame(shared, &Frame::new(Kind::Run, stream, run.payload)) {
        lock(&shared.routes).remove(&stream);
        return fail(conn, format!("the guest channel: {e}"));
    }
    while let Ok(Some(frame)) = Frame::read_from(&mut conn) {
        if matches!(frame.kind, Kind::Stdin | Kind::Signal | Kind::Resize) {
            let _ = write_frame(shared, &Frame::new(frame.kind, stream, frame.payload));
        }
    }
    lock(&shared.routes).remove(&stream);
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Binds the control socket in `run_dir` (by a relative name from inside it: a unix socket
/// path is limited to 108 bytes).
pub fn bind_control(run_dir: &Path) -> std::io::Result<UnixListener> {
    let path = control::socket_path(run_dir);
    let _ = std::fs::remove_file(&path);
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    std::env::set_current_dir(run_dir)?;
    let listener = UnixListener::bind(control::SOCKET);
    let _ = std::env::set_current_dir(cwd);
    listener
}

#[cfg(test)]
mod tests;
