//! What the host's cgroup mounts look like: v1 or v2, and where each hierarchy is mounted. Read
//! by the spec (the container's cgroup mount and namespace) and by cgroup removal, so it lives
//! below both.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// cgroup v2 ("unified") host: the root has cgroup.controllers. Hybrid v1 hosts do not.
pub fn is_v2() -> bool {
    static V2: OnceLock<bool> = OnceLock::new();
    *V2.get_or_init(|| Path::new("/sys/fs/cgroup/cgroup.controllers").exists())
}

/// The mount points of every cgroup hierarchy (v1 controllers and the v2 tree).
pub fn hierarchies() -> Vec<PathBuf> {
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

/// The directories under /sys/fs/cgroup of a cgroup v1 host ("memory", "cpu,cpuacct",
/// "systemd", and "unified" on a hybrid host; not the comount symlinks): what a container's
/// cgroup mount shows. A directory listing, not mountinfo: that is long on a busy host.
pub fn v1_hierarchy_names() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}
