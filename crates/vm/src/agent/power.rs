//! Powering the guest off: every process gets SIGTERM, then SIGKILL, the disks are synced and
//! unmounted, and the kernel reboots, which QEMU (`-no-reboot`, `reboot=t`) turns into its
//! own exit. Never returns.

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, umount2};

/// How long processes get between SIGTERM and SIGKILL when the guest powers off.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long the ended processes' Exit frames get to be sent before the guest goes.
const EXIT_REPORT_WAIT: Duration = Duration::from_secs(1);
/// How long SIGKILLed processes get to be gone before the disks are unmounted anyway.
const KILL_WAIT: Duration = Duration::from_secs(1);

pub fn off() -> ! {
    // The host's Poweroff and the main process's exit (which the Poweroff's SIGTERM causes)
    // both come here: only the first caller powers off, a second one must not reboot while the
    // first is still unmounting a disk.
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    super::boot::trace("powering off");
    // The usual case, the main process gone and nothing else running, skips the signals.
    if live_processes() > 0 {
        end_processes();
    }
    super::boot::trace("processes gone");
    // Their Exit frames follow once their output is drained: the host hears them first.
    let deadline = Instant::now() + EXIT_REPORT_WAIT;
    while super::process::unreported_exits() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    nix::unistd::sync();
    unmount_disks();
    super::boot::trace("disks unmounted");
    reboot_now()
}

/// SIGTERM, a grace period, SIGKILL, and a wait for the killed to be gone (they still hold
/// their files until then: a disk they used would not unmount cleanly).
fn end_processes() {
    // SAFETY: kill(-1) signals every process but PID 1 (the agent itself).
    unsafe {
        libc::kill(-1, libc::SIGTERM);
    }
    let deadline = Instant::now() + TERM_GRACE;
    while live_processes() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(-1, libc::SIGKILL);
    }
    let deadline = Instant::now() + KILL_WAIT;
    while live_processes() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reboots at once (the kernel's `reboot=t` + QEMU's `-no-reboot`: QEMU exits).
pub fn reboot_now() -> ! {
    // SAFETY: reboot(2) with RB_AUTOBOOT; as PID 1 with CAP_SYS_BOOT it does not return.
    unsafe {
        libc::reboot(libc::RB_AUTOBOOT);
    }
    // Only reached when the reboot was refused (never as the guest's init).
    std::process::exit(1)
}

/// Processes other than the agent with a program (kernel threads and zombies have none).
fn live_processes() -> usize {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != 1 && fs::read_link(format!("/proc/{pid}/exe")).is_ok())
        .count()
}

/// Unmounts the disks (block devices), deepest first, so their filesystems are clean; a
/// disk that will not go is detached. 9p and memory filesystems need nothing after the sync:
/// 9p's data is on the host already.
fn unmount_disks() {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let source = fields.next()?;
            let point = fields.next()?;
            source.starts_with("/dev/").then_some(point)
        })
        .collect();
    points.reverse();
    for point in points {
        if umount2(point, MntFlags::empty()).is_err() {
            let _ = umount2(point, MntFlags::MNT_DETACH);
        }
    }
}
