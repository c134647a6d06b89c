//! The guest's first steps as PID 1: the pseudo-filesystems, the kernel modules (in the
//! initramfs's order, with `finit_module`), and the agent's virtio-serial port.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{MsFlags, mount};

use crate::config::AGENT_PORT;
use crate::kernel::{MODULES_DIR, MODULES_ORDER};

/// Mounts one filesystem, creating the mount point; the error names what failed.
pub fn mount_fs(
    source: &str,
    target: &Path,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), String> {
    let _ = fs::create_dir_all(target);
    mount(Some(source), target, Some(fstype), flags, data)
        .map_err(|e| format!("mounting {fstype} {source} on {}: {e}", target.display()))
}

/// /proc first (the floor check reads the command line), then /dev, /sys, /dev/pts, /run.
pub fn mount_proc() -> Result<(), String> {
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_fs("proc", Path::new("/proc"), "proc", nosuid, None)
}

pub fn mount_basics() -> Result<(), String> {
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_fs(
        "dev",
        Path::new("/dev"),
        "devtmpfs",
        MsFlags::MS_NOSUID,
        None,
    )?;
    mount_fs("sysfs", Path::new("/sys"), "sysfs", nosuid, None)?;
    mount_fs(
        "devpts",
        Path::new("/dev/pts"),
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("ptmxmode=0666,mode=0620"),
    )?;
    mount_fs(
        "run",
        Path::new("/run"),
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
}

/// Whether the kernel command line carries `flag`.
pub fn cmdline_has(flag: &str) -> bool {
    fs::read_to_string("/proc/cmdline")
        .map(|line| line.split_whitespace().any(|word| word == flag))
        .unwrap_or(false)
}

/// Loads the initramfs's modules in their order, deleting each file once loaded. A module the
/// kernel already has (built in, or loaded) is fine.
pub fn load_modules() -> Result<(), String> {
    let order = fs::read_to_string(MODULES_ORDER).unwrap_or_default();
    for name in order.lines().filter(|l| !l.is_empty()) {
        let path = PathBuf::from(format!("{MODULES_DIR}/{name}.ko"));
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: finit_module takes a module file descriptor, a NUL-terminated parameter
        // string and flags; the descriptor is open for the call's duration.
        let result =
            unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
        trace(name);
        if result != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EEXIST) {
                return Err(format!("loading the kernel module {name}: {error}"));
            }
        }
        // The initramfs is guest RAM for the VM's life; the kernel holds its own copy now.
        let _ = fs::remove_file(&path);
    }
    Ok(())
}

/// Opens the port named [`AGENT_PORT`]; the port shows up shortly after virtio_console loads
/// (its ports are announced by the host over a control queue, asynchronously).
pub fn open_port(timeout: Duration) -> Result<File, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(device) = find_port() {
            match OpenOptions::new().read(true).write(true).open(&device) {
                Ok(file) => return Ok(file),
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("opening {}: {e}", device.display()));
                }
                Err(_) => {}
            }
        } else if Instant::now() >= deadline {
            return Err(format!(
                "no virtio-serial port named {AGENT_PORT} in /sys/class/virtio-ports"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn find_port() -> Option<PathBuf> {
    for entry in fs::read_dir("/sys/class/virtio-ports").ok()?.flatten() {
        let name = fs::read_to_string(entry.path().join("name")).unwrap_or_default();
        if name.trim() == AGENT_PORT {
            let device = Path::new("/dev").join(entry.file_name());
            if device.exists() {
                return Some(device);
            }
        }
    }
    None
}

/// Milliseconds since the guest booted.
pub fn uptime_ms() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) } != 0 {
        return 0;
    }
    now.tv_sec as u64 * 1000 + now.tv_nsec as u64 / 1_000_000
}

/// With `berth.debug` on the kernel command line, the agent notes each boot step's guest
/// uptime on the serial console (the log `qemu::serial_tail` reads).
pub fn trace(step: &str) {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *DEBUG.get_or_init(|| cmdline_has(DEBUG_FLAG)) {
        eprintln!("berth-agent: {} ms: {step}", uptime_ms());
    }
}

/// The kernel command-line flag that turns [`trace`] on.
pub const DEBUG_FLAG: &str = "berth.debug";
