//! Resource usage of a running container, read from its cgroup through libcgroups (v1 or v2).

use libcgroups::common::{CgroupConfig, CgroupManager, create_cgroup_manager};

/// A snapshot of a container's cgroup counters.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Usage {
    /// Total CPU time consumed, nanoseconds.
    pub cpu_total_ns: u64,
    /// Per-CPU time, nanoseconds.
    pub per_cpu_ns: Vec<u64>,
    /// Memory in use (cache excluded, as Docker shows it), bytes.
    pub memory_used: u64,
    /// The memory limit, bytes (the host's memory when unlimited).
    pub memory_limit: u64,
    pub pids: u64,
    pub pids_limit: u64,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    pub block_write: u64,
}

/// A cgroup whose counters cannot be read; libcgroups' error is kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("reading cgroup {path}: {source}")]
pub struct StatsError {
    pub path: String,
    #[source]
    pub source: crate::Cause,
}

/// Reads the counters of the cgroup at `cgroup_path` (e.g. "/berth/<id>").
pub fn read(cgroup_path: &str, container_id: &str) -> Result<Usage, StatsError> {
    let err = |source: crate::Cause| StatsError {
        path: cgroup_path.to_string(),
        source,
    };
    let manager = create_cgroup_manager(CgroupConfig {
        cgroup_path: cgroup_path.into(),
        systemd_cgroup: false,
        container_name: container_id.to_string(),
    })
    .map_err(|e| err(e.into()))?;
    let stats = manager.stats().map_err(|e| err(e.into()))?;
    let host_memory = host_memory_bytes();
    let inactive_file = stats
        .memory
        .stats
        .get("total_inactive_file")
        .or_else(|| stats.memory.stats.get("inactive_file"))
        .copied()
        .unwrap_or(0);
    let limit = stats.memory.memory.limit;
    Ok(Usage {
        cpu_total_ns: stats.cpu.usage.usage_total,
        per_cpu_ns: stats.cpu.usage.per_core_usage_total,
        memory_used: stats.memory.memory.usage.saturating_sub(inactive_file),
        memory_limit: if limit == 0 || limit >= host_memory {
            host_memory
        } else {
            limit
        },
        pids: stats.pids.current,
        pids_limit: stats.pids.limit,
        block_read: block_bytes(&stats.blkio.service_bytes, "read"),
        block_write: block_bytes(&stats.blkio.service_bytes, "write"),
    })
}

fn block_bytes(entries: &[libcgroups::stats::BlkioDeviceStat], op: &str) -> u64 {
    entries
        .iter()
        .filter(|e| {
            e.op_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(op))
        })
        .map(|e| e.value)
        .sum()
}

/// Total host memory in bytes (from /proc/meminfo).
pub fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Total CPU time of the host since boot in nanoseconds (Docker's system_cpu_usage), and the
/// number of online CPUs.
pub fn host_cpu() -> (u64, u32) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut total = 0u64;
    let mut cpus = 0u32;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("cpu ") {
            // user nice system idle iowait irq softirq steal, in clock ticks (USER_HZ = 100)
            total = rest
                .split_whitespace()
                .take(8)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
                * 10_000_000;
        } else if line.starts_with("cpu") {
            cpus += 1;
        }
    }
    (total, cpus.max(1))
}

/// Whether the kernel's OOM killer killed a process of the cgroup at `cgroup_path` (Docker's
/// `State.OOMKilled`). Read it before the cgroup is removed.
pub fn oom_killed(cgroup_path: &str) -> bool {
    let relative = cgroup_path.trim_start_matches('/');
    let files = [
        format!("/sys/fs/cgroup/memory/{relative}/memory.oom_control"),
        format!("/sys/fs/cgroup/{relative}/memory.events"),
    ];
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .any(|text| {
            text.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
}
