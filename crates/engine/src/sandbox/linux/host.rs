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
