//! A container's terminal: the console socket the runtime sends the pty master over (the
//! shim's `-t` containers and `exec -t` both use it).

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use crate::Error;

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
    .map_err(|e| Error::sys("receiving the pty master", e))?;
    for c in msg.cmsgs().map_err(|e| Error::sys("", e))? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel installed this fd for us; we take ownership once.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    let _ = (&stream).read(&mut buf);
    Err(Error::Internal("the runtime sent no pty master".into()))
}
