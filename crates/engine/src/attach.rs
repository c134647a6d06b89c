//! Attaching to a running container: every shim serves a unix socket (`attach.sock` in the
//! container's run dir, root only) that fans the container's output out to its clients as it
//! reads it and takes stdin bytes from them. The CLI's `attach` and the API's attach to a
//! running container both come through [`Engine::attach`].
//!
//! Framing, both ways: `[kind u8][len u32 BE]` + payload. From the shim: [`STDOUT`] and
//! [`STDERR`] chunks (raw pty bytes come as stdout), then [`EXIT`] (payload: the exit code,
//! i32 BE) when the container exits. From a client: [`STDIN`] bytes, [`STDIN_EOF`] (the client
//! is done: the shim detaches it; the container's stdin stays open), [`RESIZE`] (rows, cols as
//! u16 BE) for a tty.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::types::State;
use crate::{Engine, Error};

pub const SOCKET_NAME: &str = "attach.sock";

pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const STDIN: u8 = 16;
pub const STDIN_EOF: u8 = 17;
pub const RESIZE: u8 = 18;

pub const HEADER_LEN: usize = 5;
/// The largest payload a peer accepts in one frame.
pub const MAX_PAYLOAD: usize = 1 << 20;

pub const NOT_RUNNING: &str = "You cannot attach to a stopped container, start it first";

/// One frame.
pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// (kind, payload length) of a frame header.
pub fn parse_header(header: &[u8; HEADER_LEN]) -> (u8, usize) {
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    (header[0], len)
}

/// Splits a byte stream into frames.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame; `Err` on a frame larger than [`MAX_PAYLOAD`].
    pub fn next_frame(&mut self) -> std::io::Result<Option<(u8, Vec<u8>)>> {
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let (kind, len) = parse_header(header);
        if len > MAX_PAYLOAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("attach frame of {len} bytes is over the limit"),
            ));
        }
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let payload = self.buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.buf.drain(..HEADER_LEN + len);
        if self.buf.is_empty() {
            // An idle shim's clients hold no buffer.
            self.buf = Vec::new();
        }
        Ok(Some((kind, payload)))
    }
}

/// A unix socket path for `dir/name` that fits the 108-byte limit however deep `dir` is:
/// `/proc/self/fd/N/name` through an O_PATH handle on `dir` (kept open while the path is used).
pub(crate) fn short_socket_path(dir: &Path, name: &str) -> std::io::Result<(OwnedFd, PathBuf)> {
    let handle: OwnedFd = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?
        .into();
    let path = PathBuf::from(format!("/proc/self/fd/{}/{name}", handle.as_raw_fd()));
    Ok((handle, path))
}

/// What the attaching client wants.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// Forward the client's stdin (only when the container was created with OpenStdin).
    pub stdin: bool,
}

/// A live connection to a running container's shim.
pub struct AttachStream {
    pub id: String,
    pub tty: bool,
    /// True when stdin bytes reach the container (`-i` and the client asked for it).
    pub stdin: bool,
    /// A pidfd on the container's init (for `--sig-proxy`); None when none runs.
    pub init: Option<OwnedFd>,
    pub socket: UnixStream,
    decoder: Decoder,
}

/// One thing the shim sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The container exited with this code.
    Exited(i32),
}

impl AttachStream {
    /// Writes stdin bytes for the container (dropped when stdin is not attached).
    pub fn send_stdin(&mut self, data: &[u8]) -> std::io::Result<()> {
        if !self.stdin || data.is_empty() {
            return Ok(());
        }
        self.socket.write_all(&frame(STDIN, data))
    }

    /// Tells the shim this client is done; it detaches the client.
    pub fn send_eof(&mut self) -> std::io::Result<()> {
        self.socket.write_all(&frame(STDIN_EOF, &[]))
    }

    /// Reads until the next event; `None` when the shim closed the connection (detached, or
    /// the shim is gone).
    pub fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.decoder.next_frame() {
                Err(e) => return Err(e),
                Ok(Some((kind, payload))) => match kind {
                    STDOUT => return Ok(Some(Event::Stdout(payload))),
                    STDERR => return Ok(Some(Event::Stderr(payload))),
                    EXIT => {
                        let code = payload
                            .first_chunk::<4>()
                            .map(|b| i32::from_be_bytes(*b))
                            .unwrap_or(255);
                        return Ok(Some(Event::Exited(code)));
                    }
                    _ => continue,
                },
                Ok(None) => {}
            }
            let n = match self.socket.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            self.decoder.push(&buf[..n]);
        }
    }
}

/// A resize frame for a tty container.
pub fn resize_frame(rows: u16, cols: u16) -> Vec<u8> {
    let mut payload = [0u8; 4];
    payload[..2].copy_from_slice(&rows.to_be_bytes());
    payload[2..].copy_from_slice(&cols.to_be_bytes());
    frame(RESIZE, &payload)
}

/// Docker's detach keys (`ctrl-p,ctrl-q` by default): bytes of a partial match are held back
/// and released when the sequence breaks.
pub struct DetachKeys {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachKeys {
    /// Parses Docker's syntax: comma-separated `ctrl-<c>` or single characters. Empty: none.
    pub fn parse(spec: &str) -> Result<DetachKeys, Error> {
        let mut keys = Vec::new();
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let key = match part.strip_prefix("ctrl-") {
                Some(c) if c.len() == 1 => match c.as_bytes()[0].to_ascii_lowercase() {
                    b @ b'a'..=b'z' => b - b'a' + 1,
                    b'@' => 0,
                    b'[' => 27,
                    b'\\' => 28,
                    b']' => 29,
                    b'^' => 30,
                    b'_' => 31,
                    _ => return Err(invalid_keys(spec)),
                },
                None if part.len() == 1 => part.as_bytes()[0],
                _ => return Err(invalid_keys(spec)),
            };
            keys.push(key);
        }
        Ok(DetachKeys { keys, matched: 0 })
    }

    /// Filters client input: returns the bytes to forward, and whether the client detached.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &byte in input {
            if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if byte == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return (out, true);
                }
            } else {
                out.push(byte);
            }
        }
        (out, false)
    }
}

fn invalid_keys(spec: &str) -> Error {
    Error::InvalidArgument(format!(
        "invalid detach keys ({spec}): use ctrl-<value> or a single character, comma separated"
    ))
}

impl Engine {
    /// Connects to a running container's shim. A stopped container (or a shim that died
    /// without cleaning up its socket) is a conflict: [`NOT_RUNNING`].
    pub fn attach(&self, name_or_id: &str, options: AttachOptions) -> Result<AttachStream, Error> {
        let rec = self.container(name_or_id)?;
        if !rec.state.has_shim() || !crate::proc::alive(rec.shim_pid, rec.shim_start) {
            return Err(Error::Conflict(NOT_RUNNING.into()));
        }
        match rec.state {
            State::Paused => {
                return Err(Error::Conflict(format!(
                    "container {name_or_id} is paused, unpause the container before attach"
                )));
            }
            State::Restarting => {
                return Err(Error::Conflict(
                    "You cannot attach to a restarting container, wait until it is running".into(),
                ));
            }
            _ => {}
        }
        let run_dir = self.container_run_dir(&rec.id);
        let socket = short_socket_path(&run_dir, SOCKET_NAME)
            .and_then(|(_dir, path)| UnixStream::connect(path))
            .map_err(|_| Error::Conflict(NOT_RUNNING.into()))?;
        Ok(AttachStream {
            tty: rec.config.config.tty,
            stdin: options.stdin && rec.config.config.open_stdin,
            init: self.init_pidfd(&rec),
            id: rec.id,
            socket,
            decoder: Decoder::default(),
        })
    }

    /// Sets the window size of a running `-t` container's pty through its shim.
    pub fn resize_tty(&self, name_or_id: &str, rows: u16, cols: u16) -> Result<(), Error> {
        let mut stream = self.attach(name_or_id, AttachOptions::default())?;
        stream
            .socket
            .write_all(&resize_frame(rows, cols))
            .and_then(|_| stream.socket.write_all(&frame(STDIN_EOF, &[])))
            .map_err(|e| Error::io("sending the window size to the container's shim", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut bytes = frame(STDOUT, b"hello");
        bytes.extend(frame(EXIT, &3i32.to_be_bytes()));
        let mut decoder = Decoder::default();
        let mut got = Vec::new();
        for b in bytes {
            decoder.push(&[b]);
            while let Ok(Some(f)) = decoder.next_frame() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![(STDOUT, b"hello".to_vec()), (EXIT, vec![0, 0, 0, 3])]
        );
    }

    #[test]
    fn detach_keys_hold_back_a_partial_match() {
        let mut keys = DetachKeys::parse("ctrl-p,ctrl-q").unwrap();
        assert_eq!(keys.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(keys.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(keys.feed(b"\x10"), (vec![], false));
        assert_eq!(keys.feed(b"\x11rest"), (vec![], true));
        assert!(DetachKeys::parse("ctrl-1x").is_err());
        let mut none = DetachKeys::parse("").unwrap();
        assert_eq!(none.feed(b"\x10\x11"), (b"\x10\x11".to_vec(), false));
    }
}
