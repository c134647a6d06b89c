//! Small process helpers: liveness with pid-reuse protection, pidfd waits.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// A process's start time (clock ticks since boot), field 22 of /proc/PID/stat.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is alive and is still the process that started at `started` (0 = unknown).
/// A zombie counts as dead.
pub fn alive(pid: i32, started: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 2..].split_whitespace();
    if fields.next() == Some("Z") {
        return false;
    }
    started == 0 || fields.nth(18).and_then(|s| s.parse::<u64>().ok()) == Some(started)
}

/// A pidfd on `pid`: readable once the process has exited. None when the process is gone
/// or pidfds are unavailable.
pub fn pidfd(pid: i32) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new (close-on-exec) fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    // SAFETY: a non-negative fd was just returned to us and has no other owner.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A pidfd on a container's process `pid`, only while that pid is still in the container's
/// cgroup `cgroup_path` ("/berth/<id>", in any hierarchy): a recorded pid may be 0 (restart
/// back-off: kill(0) would signal the caller's whole process group), stale, or reused by an
/// unrelated process. The pidfd is opened before the check, so a signal sent through it
/// reaches the checked process or nothing.
pub fn container_pidfd(pid: i32, cgroup_path: &str) -> Option<OwnedFd> {
    let fd = pidfd(pid)?;
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    // "4:memory:/berth/<id>" (v1) or "0::/berth/<id>" (v2).
    cgroups
        .lines()
        .any(|line| line.splitn(3, ':').nth(2) == Some(cgroup_path))
        .then_some(fd)
}

/// pidfd_send_signal(2): `signal` to the process `fd` refers to; ESRCH once it has exited.
/// Async-signal-safe (a signal handler may call it).
pub fn signal(fd: BorrowedFd<'_>, signal: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal takes a pidfd we hold, a signal number, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A pidfd on a recorded process (a shim), only while `pid` is still the process that started
/// at `started`: waits on it never follow a reused pid.
pub fn checked_pidfd(pid: i32, started: u64) -> Option<OwnedFd> {
    let fd = pidfd(pid)?;
    alive(pid, started).then_some(fd)
}

/// Waits until any of `fds` is readable, at most `timeout` (None: no limit). Returns the
/// readiness of each fd, all false on timeout. EINTR restarts the wait with what is left.
pub fn poll_readable(fds: &[&OwnedFd], timeout: Option<Duration>) -> Vec<bool> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let start = Instant::now();
    loop {
        let left = timeout
            .map(|t| {
                t.saturating_sub(start.elapsed())
                    .as_millis()
                    .min(i32::MAX as u128) as i32
            })
            .unwrap_or(-1);
        // SAFETY: pfds is a valid array of pfds.len() pollfds for the duration of the call.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, left) };
        if n >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return pfds.iter().map(|p| n > 0 && p.revents != 0).collect();
        }
    }
}

/// Waits until `pid` exits, at most `timeout`. Returns true when it exited.
pub fn wait_exit(pid: i32, timeout: Option<Duration>) -> bool {
    let Some(fd) = pidfd(pid) else {
        return !alive(pid, 0) || poll_exit(pid, timeout);
    };
    poll_readable(&[&fd], timeout)[0] || !alive(pid, 0)
}

fn poll_exit(pid: i32, timeout: Option<Duration>) -> bool {
    let start = Instant::now();
    while alive(pid, 0) {
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}
