//! Host facts a Linux sandbox reads from /proc: the base of CPU percentages and the memory
//! an unlimited container may use.

/// The host's CPU time so far (ns) and its online CPUs.
pub(crate) fn cpu() -> (u64, u32) {
    berth_runtime::stats::host_cpu()
}

/// The host's memory, bytes.
pub(crate) fn memory_bytes() -> u64 {
    berth_runtime::stats::host_memory_bytes()
}

/// Whether the host's cgroups are v2 (unified) only: Docker's default cgroup namespace mode
/// follows it.
pub(crate) fn cgroup_v2() -> bool {
    berth_runtime::cgroup_host::is_v2()
}

/// The CPUs and memory nodes a container may be pinned to: the root cpuset's (v1), the
/// unified root's effective ones (v2), or the kernel's online lists.
pub(crate) fn cpuset_available() -> (String, String) {
    let first = |paths: &[&str]| {
        paths
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    (
        first(&[
            "/sys/fs/cgroup/cpuset/cpuset.cpus",
            "/sys/fs/cgroup/cpuset.cpus.effective",
            "/sys/devices/system/cpu/online",
        ]),
        first(&[
            "/sys/fs/cgroup/cpuset/cpuset.mems",
            "/sys/fs/cgroup/cpuset.mems.effective",
            "/sys/devices/system/node/online",
        ]),
    )
}

/// Whether the host can limit memory+swap and take a swappiness (cgroup v1 with swap
/// accounting; v2 limits swap but has no swappiness).
pub(crate) fn swap_controls() -> (bool, bool) {
    if cgroup_v2() {
        return (true, false);
    }
    let memory = std::path::Path::new("/sys/fs/cgroup/memory");
    (
        memory.join("memory.memsw.limit_in_bytes").exists(),
        memory.join("memory.swappiness").exists(),
    )
}
