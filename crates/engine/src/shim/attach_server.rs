//! The shim's end of the attach socket: accepts clients, broadcasts output to them (dropping
//! the slow), reads their stdin and resizes, and hands each the exit code at the end.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::stdio::fds::try_again_later;
use crate::{Error, attach};

/// Attach clients may queue this much stdin before the shim stops reading them.
pub(super) const STDIN_BUFFER_LIMIT: usize = 64 * 1024;
/// A client this far behind on output is dropped: it must never hold back the container.
const CLIENT_BUFFER_LIMIT: usize = 1 << 20;

/// The shim's end of the attach socket (see [`crate::attach`]).
pub(super) struct AttachServer {
    pub(super) listener: UnixListener,
    pub(super) path: PathBuf,
    pub(super) clients: Vec<AttachClient>,
}

pub(super) struct AttachClient {
    pub(super) socket: UnixStream,
    /// Output the client has not taken yet; bounded by [`CLIENT_BUFFER_LIMIT`].
    pub(super) pending: Vec<u8>,
    input: attach::Decoder,
    /// The client said it is done: it goes once its pending output is written.
    pub(super) done: bool,
    /// Gone or too slow: dropped at the end of the loop's round.
    pub(super) gone: bool,
}

impl AttachServer {
    /// Binds `attach.sock` in the run dir, root only; a stale one of a dead shim goes first.
    pub(super) fn bind(run_dir: &Path) -> Result<AttachServer, Error> {
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

    pub(super) fn accept(&mut self) {
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
    pub(super) fn broadcast(&mut self, kind: u8, data: &[u8]) {
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
    pub(super) fn finish(&mut self, code: i32) {
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
    pub(super) fn serve(
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
