//! Removing a finished container's cgroup directly: libcgroups' remove (through libcontainer's
//! delete) re-reads /proc/self/mountinfo once per controller through a fresh procfs handle,
//! which costs milliseconds on every container exit. Here: one mountinfo read, one rmdir per
//! hierarchy. Works for cgroup v1 (every mounted controller) and v2 (the unified tree).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The mount points of every cgroup hierarchy (v1 controllers and the v2 tree).
fn hierarchies() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            // ... mount-point ... - fstype source options
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            left.split_whitespace().nth(4).map(PathBuf::from)
        })
        .collect()
}

/// Removes the cgroup at `path` (e.g. "/berth/<id>") from every hierarchy. Its processes must
/// be gone; a cgroup still emptying (the kernel reaps exiting tasks asynchronously) is retried
/// briefly. Missing directories are fine.
pub fn remove(path: &Path) -> std::io::Result<()> {
    let relative = path.strip_prefix("/").unwrap_or(path);
    let deadline = Instant::now() + Duration::from_secs(2);
    for root in hierarchies() {
        let dir = root.join(relative);
        loop {
            match std::fs::remove_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => return Err(std::io::Error::new(e.kind(), format!("removing cgroup {}: {e}", dir.display()))),
            }
        }
    }
    Ok(())
}
