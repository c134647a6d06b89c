//! The shim <-> starter protocol: one JSON [`Message`] per SEQPACKET datagram on the channel
//! (fd 3), a pty master riding along as SCM_RIGHTS; the starting client's stdio arrives as
//! [`AttachFds`] (fds 4, 5, 6).

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};

/// What the shim tells its starter.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    /// The container runs; `pid` is its init process. A pty master fd rides along for `-t`.
    Started { pid: i32 },
    /// Start failed; nothing runs. `exit_code` is Docker's (125, 126, 127); `kind` is what
    /// the error meant in the shim, so the starter's client gets the same status (a refused
    /// setting is a 400, not a 500). A shim of an older berth sends none: Internal.
    Failed {
        message: String,
        exit_code: i32,
        #[serde(default)]
        kind: crate::error::ErrorKind,
    },
    /// The container exited for good with this code.
    Exited { code: i32 },
}

impl Message {
    /// `Failed` for `error`, keeping its text, exit code and kind.
    pub fn failed(error: &crate::Error) -> Message {
        Message::Failed {
            message: error.to_string(),
            exit_code: error.exit_code(),
            kind: error.kind(),
        }
    }
}

/// The file descriptors of an attached client, as the shim receives them.
#[derive(Default)]
pub struct AttachFds {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

pub(crate) fn send(sock: BorrowedFd<'_>, message: &Message, fd: Option<RawFd>) {
    let body = serde_json::to_vec(message).unwrap_or_default();
    let iov = [IoSlice::new(&body)];
    let fds;
    let cmsgs: &[ControlMessage<'_>] = match fd {
        Some(fd) => {
            fds = [fd];
            &[ControlMessage::ScmRights(&fds)]
        }
        None => &[],
    };
    let _ = sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None);
}

/// Receives one message (and a passed fd, if any). `None` when the peer is gone.
pub fn receive(sock: BorrowedFd<'_>) -> Option<(Message, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, fd) = loop {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let fd = msg.cmsgs().ok()?.find_map(|c| match c {
                    ControlMessageOwned::ScmRights(fds) => {
                        // SAFETY: the kernel just installed this fd in our table for us.
                        fds.first().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                    }
                    _ => None,
                });
                break (msg.bytes, fd);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    };
    if n == 0 {
        return None;
    }
    serde_json::from_slice(&buf[..n]).ok().map(|m| (m, fd))
}

#[cfg(test)]
mod tests {
    use super::Message;
    use crate::error::ErrorKind;

    #[test]
    fn a_failure_keeps_its_kind_and_an_older_shims_reads_as_internal() {
        let sent = Message::failed(&crate::Error::Conflict("taken".into()));
        let text = serde_json::to_string(&sent).unwrap();
        let Message::Failed { kind, .. } = serde_json::from_str(&text).unwrap() else {
            panic!("not Failed: {text}");
        };
        assert_eq!(kind, ErrorKind::Conflict);
        let old: Message =
            serde_json::from_str(r#"{"Failed":{"message":"boom","exit_code":125}}"#).unwrap();
        let Message::Failed { kind, .. } = old else {
            panic!("not Failed: {old:?}");
        };
        assert_eq!(kind, ErrorKind::Internal);
    }
}
