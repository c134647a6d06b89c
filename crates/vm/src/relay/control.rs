//! The relay's control socket, `<run_dir>/relay.sock`: how the engine's sandbox starts the
//! guest's main process, pauses, resumes and powers the guest off, and how `berth vm-exec`
//! runs one exec. Both ends are here so they cannot drift apart.
//!
//! A connection opens with one request, a JSON [`Request`] on one line. `start`, `pause`,
//! `resume` and `poweroff` are answered with one JSON [`Reply`] line and the connection ends.
//! After `exec` both sides speak [`crate::protocol`] frames: the client sends one
//! [`Kind::Run`](crate::protocol::Kind::Run) frame with a [`crate::config::GuestExec`], then
//! Stdin, Signal and Resize frames; it receives Started or Failed, Stdout, Stderr and Exit
//! (the stream numbers on this connection mean nothing, the relay picks the guest's).

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The socket's file name in the run directory.
pub const SOCKET: &str = "relay.sock";

/// The control socket of the guest whose run directory is `run_dir`.
pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET)
}

/// What a connection asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Start the main process once the guest is up; answered when it runs or failed.
    Start,
    /// Run one exec on this connection (frames follow).
    Exec,
    /// Stop the guest's vCPUs.
    Pause,
    /// Let them run again.
    Resume,
    /// Sync and power the guest off.
    Poweroff,
}

/// The answer to every request but `exec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// What went wrong; none when the request was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With an error from `start`: the exit code Docker gives it (127 for a command that is
    /// not found, 126 not executable, 125 the guest did not come up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// After `start`: the main process's pid in the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
}

impl Reply {
    pub fn done() -> Reply {
        Reply::default()
    }

    pub fn failed(message: impl Into<String>, exit_code: Option<i32>) -> Reply {
        Reply {
            error: Some(message.into()),
            exit_code,
            pid: None,
        }
    }
}

/// A control request that did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("connecting to the VM relay at {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("talking to the VM relay: {0}")]
    Io(#[from] io::Error),
    #[error(
        "the VM relay ended the connection without an answer (it exited: see the container's log)"
    )]
    NoAnswer,
    #[error("the VM relay's answer: {0}")]
    Json(#[from] serde_json::Error),
    /// The relay did what it could and says why it failed.
    #[error("{message}")]
    Refused {
        message: String,
        exit_code: Option<i32>,
    },
}

/// Connects to the relay's socket, waiting up to `wait` for it to appear (the relay binds it
/// first thing, but it may have just been spawned).
pub fn connect(run_dir: &Path, wait: Duration) -> Result<UnixStream, ControlError> {
    let path = socket_path(run_dir);
    let deadline = Instant::now() + wait;
    loop {
        match crate::unix_socket::connect(&path) {
            Ok(stream) => return Ok(stream),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(source) => return Err(ControlError::Connect { path, source }),
        }
    }
}

/// Sends `request` and reads its [`Reply`]: a reply with an error is [`ControlError::Refused`].
pub fn call(run_dir: &Path, request: Request, wait: Duration) -> Result<Reply, ControlError> {
    let mut stream = connect(run_dir, wait)?;
    write_line(&mut stream, &request)?;
    let line = read_line(&mut stream)?.ok_or(ControlError::NoAnswer)?;
    let reply: Reply = serde_json::from_slice(&line)?;
    match reply.error {
        Some(message) => Err(ControlError::Refused {
            message,
            exit_code: reply.exit_code,
        }),
        None => Ok(reply),
    }
}

/// Writes `value` as one JSON line.
pub fn write_line<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads one line byte by byte (nothing past it: frames may follow on the same socket);
/// `None` when the peer closed first. Lines are short: at most 64 KiB.
pub fn read_line(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match input.read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) if byte[0] == b'\n' => return Ok(Some(line)),
            Ok(_) if line.len() >= 64 * 1024 => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a control line longer than 64 KiB",
                ));
            }
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
