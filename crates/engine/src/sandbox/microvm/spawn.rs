//! Starting this binary's hidden helpers for a `--vm` container: the relay (`berth vm-relay`,
//! the container's init, inside its cgroup so stats, top and teardown see QEMU too) and an
//! exec's client (`berth vm-exec`). Both are children of the caller with the given stdio, as
//! the Linux sandbox's init and execs are.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::sandbox::SandboxError;

/// The stdio of a helper; none is /dev/null.
pub(super) struct Stdio3 {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// This binary: a long-running shim whose binary was replaced starts helpers of its own
/// version through /proc/self/exe.
fn this_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        .unwrap_or_else(|| "/proc/self/exe".into())
}

/// Spawns `berth ARGS` with `stdio`, its first act joining the cgroups whose `cgroup.procs`
/// files are `cgroups` (best effort per hierarchy: one that refuses leaves the helper where
/// it was in that one); returns its pid.
pub(super) fn helper(
    args: &[&std::ffi::OsStr],
    stdio: Stdio3,
    cgroups: &[PathBuf],
) -> Result<i32, SandboxError> {
    let mut command = Command::new(this_binary());
    command.args(args);
    let null = || Stdio::null();
    command
        .stdin(stdio.stdin.map_or_else(null, Stdio::from))
        .stdout(stdio.stdout.map_or_else(null, Stdio::from))
        .stderr(stdio.stderr.map_or_else(null, Stdio::from));
    let procs: Vec<CString> = cgroups
        .iter()
        .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
        .collect();
    // SAFETY: between fork and exec only open(2), write(2) and close(2), all
    // async-signal-safe, on C strings made before the fork.
    unsafe {
        command.pre_exec(move || {
            for path in &procs {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        SandboxError::Failed(format!("starting {}: {e}", args[0].to_string_lossy()).into())
    })?;
    // Reaped by the caller (the shim's child reaper, the exec's waiter), not by `Child`.
    Ok(child.id() as i32)
}
