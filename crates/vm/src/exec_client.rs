//! `berth vm-exec`: one exec in a running guest, as a host process the engine can wait on.
//! It connects to the relay's control socket, runs a [`GuestExec`], relays its own stdio (or,
//! for `-t`, a pty whose master it sends to a console socket) and the signals it gets, and
//! exits with the exec's exit code.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Failed, GuestExec};
use crate::protocol::{Frame, Kind};
use crate::relay::control::{self, ControlError, Request};
use crate::relay::signals::Signals;
use crate::terminal::Terminal;

/// Runs `exec` in the guest whose relay serves `run_dir`; returns its exit code (Docker's:
/// 128 + n for a signal; 126 or 127 when it could not start; 137 when the guest went away).
/// `console_socket`: where the pty's master goes (`exec.process.terminal`).
pub fn run(run_dir: &Path, mut exec: GuestExec, console_socket: Option<&Path>) -> i32 {
    match run_exec(run_dir, &mut exec, console_socket) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            126
        }
    }
}

fn run_exec(
    run_dir: &Path,
    exec: &mut GuestExec,
    console_socket: Option<&Path>,
) -> Result<i32, ControlError> {
    let terminal = match console_socket {
        Some(path) if exec.process.terminal => Some(Terminal::open(path)?),
        _ => None,
    };
    if let Some(terminal) = &terminal {
        exec.process.console_size = terminal.size().or(exec.process.console_size);
    }
    let mut conn = control::connect(run_dir, Duration::from_secs(2))?;
    control::write_line(&mut conn, &Request::Exec)?;
    Frame::json(Kind::Run, 0, exec).write_to(&mut conn)?;
    let writer = Arc::new(Mutex::new(conn.try_clone()?));
    // SAFETY: fds 0, 1 and 2 are this process's stdio for its whole life; borrowed here only.
    let stdio = |fd: i32| unsafe { BorrowedFd::borrow_raw(fd) };
    let (input, output, errors): (OwnedFd, OwnedFd, OwnedFd) = match &terminal {
        Some(t) => (
            t.slave.try_clone()?,
            t.slave.try_clone()?,
            t.slave.try_clone()?,
        ),
        None => (
            stdio(0).try_clone_to_owned()?,
            stdio(1).try_clone_to_owned()?,
            stdio(2).try_clone_to_owned()?,
        ),
    };
    if exec.process.stdin {
        let writer = writer.clone();
        std::thread::spawn(move || pump_input(File::from(input), &writer));
    } else {
        let _ = Frame::new(Kind::Stdin, 0, Vec::new()).write_to(&mut *lock(&writer));
    }
    if let Ok(signals) = Signals::install() {
        let size_of = terminal.as_ref().and_then(|t| t.slave.try_clone().ok());
        let writer = writer.clone();
        std::thread::spawn(move || forward_signals(signals, size_of, &writer));
    }
    let (mut output, mut errors) = (File::from(output), File::from(errors));
    loop {
        let frame = match Frame::read_from(&mut conn) {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => {
                eprintln!("berth vm-exec: the VM went away before the exec exited");
                return Ok(137);
            }
        };
        match frame.kind {
            Kind::Stdout => {
                let _ = output.write_all(&frame.payload);
            }
            Kind::Stderr => {
                let _ = errors.write_all(&frame.payload);
            }
            Kind::Failed => {
                if let Ok(failed) = frame.parse::<Failed>() {
                    let _ = writeln!(
                        errors,
                        "OCI runtime exec failed: exec failed: unable to start container process: {}: unknown",
                        failed.message
                    );
                }
            }
            Kind::Exit => return Ok(frame.as_int().unwrap_or(255)),
            _ => {}
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pump_input(mut input: File, writer: &Mutex<UnixStream>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        let frame = Frame::new(Kind::Stdin, 0, buf[..n].to_vec());
        if frame.write_to(&mut *lock(writer)).is_err() || n == 0 {
            return;
        }
    }
}

fn forward_signals(mut signals: Signals, terminal: Option<OwnedFd>, writer: &Mutex<UnixStream>) {
    while let Some(signal) = signals.wait() {
        let frame = if signal == libc::SIGWINCH {
            let Some((rows, columns)) = terminal.as_ref().and_then(crate::terminal::window_size)
            else {
                continue;
            };
            let mut payload = rows.to_le_bytes().to_vec();
            payload.extend_from_slice(&columns.to_le_bytes());
            Frame::new(Kind::Resize, 0, payload)
        } else {
            Frame::int(Kind::Signal, 0, signal)
        };
        if frame.write_to(&mut *lock(writer)).is_err() {
            return;
        }
    }
}
