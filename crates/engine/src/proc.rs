//! Small process helpers: liveness with pid-reuse protection, pidfd waits.

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

/// Waits until `pid` exits, at most `timeout`. Returns true when it exited.
pub fn wait_exit(pid: i32, timeout: Option<Duration>) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return !alive(pid, 0) || poll_exit(pid, timeout);
    }
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout
        .map(|t| t.as_millis().min(i32::MAX as u128) as i32)
        .unwrap_or(-1);
    let start = Instant::now();
    let exited = loop {
        let left = if ms < 0 {
            -1
        } else {
            (ms - start.elapsed().as_millis() as i32).max(0)
        };
        // SAFETY: pfd is a valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, left) };
        if n > 0 {
            break true;
        }
        if n == 0 {
            break false;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break !alive(pid, 0);
        }
    };
    // SAFETY: fd was returned by pidfd_open above and is closed once.
    unsafe { libc::close(fd) };
    exited
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
