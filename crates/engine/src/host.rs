//! Facts about the host containers run on (Docker's `info` and `version`): read here, from
//! /proc and /sys, so no front end reads the host's files itself.

/// The host as `info` reports it.
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel_version: String,
    pub cpus: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// 2 on a cgroup v2 (unified) host, 1 on a v1 or hybrid one.
    pub cgroup_version: u8,
}

/// Reads the host's facts.
pub fn info() -> HostInfo {
    HostInfo {
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        kernel_version: kernel_version(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes: crate::sandbox::host_memory_bytes(),
        cgroup_version: if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            2
        } else {
            1
        },
    }
}

/// The running kernel's release (`uname -r`).
pub fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}
