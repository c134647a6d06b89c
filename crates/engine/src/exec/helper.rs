//! The exec helper: how a multi-threaded front end (`berth serve`) runs an exec.
//!
//! [`Engine::exec`] forks into the container from the calling process (see the runtime's
//! `oci::join`; an external runtime is a child too) and the forked child runs ordinary code
//! before it execs: that is only sound in a single-threaded process. A server's threads may
//! hold the allocator's or any other lock at the fork, so the server does not call it itself;
//! it starts a helper instead, this same binary's hidden `berth exec-helper`, which is
//! single-threaded and calls [`Engine::exec`].
//!
//! Both ends of the protocol are here, so it is private to the engine and versioned:
//! - the request is one JSON [`HelperRequest`] on fd [`REQUEST_FD`] (a pipe, closed after it);
//! - the helper's stdin/stdout/stderr are the exec's (a terminal for `tty`: the helper relays
//!   it to the exec's own pty and follows its window size);
//! - the helper exits with the exec's exit code; a failure before the process runs is one
//!   line on stderr, `Error: <message>`, and the exit code Docker gives that error (126, 127,
//!   125, ...).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

use super::ExecRequest;
use crate::{Engine, Error};

/// The protocol's version; a helper refuses any other.
pub const VERSION: u32 = 1;

/// The helper's hidden subcommand.
pub const SUBCOMMAND: &str = "exec-helper";

/// The fd the helper reads its request from.
pub const REQUEST_FD: i32 = 3;

/// What the helper is asked to run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HelperRequest {
    pub version: u32,
    /// The container's id (or name).
    pub container: String,
    pub exec: ExecRequest,
    /// Whether the exec's stdin is the helper's (Docker's AttachStdin); /dev/null otherwise.
    pub interactive: bool,
}

impl Engine {
    /// A `berth exec-helper` command for one exec in `container`, its request already on its
    /// way. The caller sets its stdio (and, for `tty`, a controlling terminal) and spawns it.
    pub fn exec_helper_command(
        &self,
        container: &str,
        exec: &ExecRequest,
        interactive: bool,
    ) -> Result<std::process::Command, Error> {
        let request = serde_json::to_vec(&HelperRequest {
            version: VERSION,
            container: container.to_string(),
            exec: exec.clone(),
            interactive,
        })
        .map_err(|e| Error::json("encoding the exec request", e))?;
        let (read, write) = crate::stdio::fds::pipe()?;
        // Written whole before the helper starts: the pipe must hold it.
        if request.len() > 64 * 1024 {
            nix::fcntl::fcntl(
                write.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETPIPE_SZ(request.len() as i32),
            )
            .map_err(|e| {
                Error::InvalidArgument(format!(
                    "the exec request ({} bytes) is too large: {e}",
                    request.len()
                ))
            })?;
        }
        let mut pipe = std::fs::File::from(write);
        pipe.write_all(&request)
            .map_err(|e| Error::io("writing the exec request", e))?;
        drop(pipe);
        // A long-running server whose binary was replaced starts helpers of its own version.
        let exe = std::env::current_exe()
            .ok()
            .filter(|p| p.exists())
            .unwrap_or_else(|| "/proc/self/exe".into());
        let mut cmd = std::process::Command::new(exe);
        cmd.arg(SUBCOMMAND)
            .env("BERTH_ROOT", &self.root)
            .env("BERTH_RUN", &self.run);
        // SAFETY: runs in the forked child before exec; dup2 and fcntl are async-signal-safe,
        // and the captured fd stays open as long as the command.
        unsafe {
            cmd.pre_exec(move || {
                let fd = read.as_raw_fd();
                let r = if fd == REQUEST_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, REQUEST_FD)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(cmd)
    }
}

/// For a `tty` exec: gives the helper command a terminal of the caller's, raw (so bytes pass
/// as they are), as its stdio and controlling terminal; returns the terminal's master, which
/// the caller reads, writes and resizes (the helper follows the size into the exec's own pty).
/// Drop the command once spawned: the child then holds the only slave, and its exit ends the
/// master's output (EIO).
pub fn on_new_terminal(cmd: &mut std::process::Command) -> Result<OwnedFd, Error> {
    use nix::sys::termios;
    let failed = |what: &str, e: nix::Error| Error::io(what, std::io::Error::from(e));
    let terminal = nix::pty::openpty(None, None).map_err(|e| failed("openpty", e))?;
    let mut mode = termios::tcgetattr(&terminal.slave).map_err(|e| failed("tcgetattr", e))?;
    termios::cfmakeraw(&mut mode);
    termios::tcsetattr(&terminal.slave, termios::SetArg::TCSANOW, &mode)
        .map_err(|e| failed("tcsetattr", e))?;
    let dup = || {
        terminal
            .slave
            .try_clone()
            .map_err(|e| Error::io("dup of the terminal", e))
    };
    cmd.stdin(dup()?).stdout(dup()?).stderr(dup()?);
    // SAFETY: runs in the forked child before exec; setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    Ok(terminal.master)
}

/// In the helper: reads its request from [`REQUEST_FD`].
pub fn read_request() -> Result<HelperRequest, Error> {
    // SAFETY: the helper's parent put the request pipe at this fd (see
    // [`Engine::exec_helper_command`]); it is taken once, here.
    let mut pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(REQUEST_FD) });
    let mut text = Vec::new();
    pipe.read_to_end(&mut text)
        .map_err(|e| Error::io("reading the exec request", e))?;
    parse_request(&text)
}

fn parse_request(text: &[u8]) -> Result<HelperRequest, Error> {
    #[derive(serde::Deserialize)]
    struct Version {
        version: u32,
    }
    let version: Version = serde_json::from_slice(text)
        .map_err(|e| Error::InvalidArgument(format!("a malformed exec request: {e}")))?;
    if version.version != VERSION {
        return Err(Error::InvalidArgument(format!(
            "exec request version {} (this helper speaks {VERSION})",
            version.version
        )));
    }
    serde_json::from_slice(text)
        .map_err(|e| Error::InvalidArgument(format!("a malformed exec request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_other_versions_are_refused() {
        let request = HelperRequest {
            version: VERSION,
            container: "abc".into(),
            exec: ExecRequest {
                cmd: vec!["sh".into(), "-c".into(), "echo hi".into()],
                env: vec!["A=1".into()],
                user: "1000:1000".into(),
                workdir: "/tmp".into(),
                tty: true,
                console_size: Some((24, 80)),
                detach: false,
            },
            interactive: true,
        };
        let text = serde_json::to_vec(&request).unwrap();
        assert_eq!(parse_request(&text).unwrap(), request);
        let mut other = serde_json::to_value(&request).unwrap();
        other["version"] = (VERSION + 1).into();
        let err = parse_request(&serde_json::to_vec(&other).unwrap()).unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
        assert!(parse_request(b"-e A=1 abc sh").is_err());
    }
}
