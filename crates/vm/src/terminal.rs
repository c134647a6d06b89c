//! The host end of a guest's terminal (`-t`): the relay and `berth vm-exec` each make a pty,
//! send its master to the console socket exactly as runc does (one SCM_RIGHTS message on a
//! connection to the socket), and keep the slave as their controlling terminal. The slave is
//! raw: the guest's own pty does the line discipline, echo and signals; this one only carries
//! bytes and the window size (its resizes arrive as SIGWINCH).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::pty::openpty;
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

/// A pty whose master went to the console socket; the slave stays here.
pub struct Terminal {
    pub slave: OwnedFd,
}

impl Terminal {
    /// Opens a pty, sends its master to `console_socket` and makes the slave this process's
    /// controlling terminal in a new session (so the window size's changes reach it as
    /// SIGWINCH).
    pub fn open(console_socket: &Path) -> io::Result<Terminal> {
        let pty = openpty(None, None).map_err(io::Error::from)?;
        // openpty(3) makes inheritable fds: QEMU must not hold the container's terminal.
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .map_err(io::Error::from)?;
        }
        let mut attrs = tcgetattr(&pty.slave).map_err(io::Error::from)?;
        cfmakeraw(&mut attrs);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &attrs).map_err(io::Error::from)?;
        send_master(console_socket, &pty.master)?;
        drop(pty.master);
        // A process spawned as a child is not a group leader: setsid cannot fail for that
        // reason; any other failure leaves it without a controlling tty (no SIGWINCH).
        let _ = nix::unistd::setsid();
        // SAFETY: TIOCSCTTY on a pty slave fd we own, with 0 (do not steal).
        unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
        Ok(Terminal { slave: pty.slave })
    }

    /// The window size (rows, columns), none while it is 0x0.
    pub fn size(&self) -> Option<(u16, u16)> {
        window_size(&self.slave)
    }
}

/// The window size of terminal `fd` (rows, columns), none while it is 0x0 or not a tty.
pub fn window_size(fd: &OwnedFd) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain old data; all zeroes is a valid value.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ with a valid winsize on an fd we hold.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (r == 0 && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

/// runc's console-socket protocol: connect, send the master with a name as the data.
fn send_master(console_socket: &Path, master: &OwnedFd) -> io::Result<()> {
    let stream = crate::unix_socket::connect(console_socket)?;
    let fds = [master.as_raw_fd()];
    let name = b"/dev/ptmx";
    let iov = [io::IoSlice::new(name)];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(io::Error::from)?;
    Ok(())
}
