//! A Linux sandbox's cgroup: its processes (`top`), its counters (`stats`), its limits
//! (`update`) and whether the kernel killed it for memory. The cgroup is "/berth/<id>" in
//! every hierarchy (v2 unified, or v1 per controller).

use crate::sandbox::{SandboxError, Usage};
use crate::types::HostConfig;

/// The cgroup of container `id`, relative to each hierarchy's root.
pub(super) fn path_of(id: &str) -> String {
    format!("/berth/{id}")
}

/// The pids in container `id`'s cgroup (v2 unified, or v1 through the pids, memory or
/// freezer controller, whichever is mounted).
pub(super) fn processes(id: &str) -> Vec<i32> {
    let candidates = [
        format!("/sys/fs/cgroup/berth/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/pids/berth/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/memory/berth/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/freezer/berth/{id}/cgroup.procs"),
    ];
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        }
    }
    Vec::new()
}

/// The counters of container `id`'s cgroup.
pub(super) fn stats(cgroup_path: &str, id: &str) -> Result<Usage, SandboxError> {
    let usage = berth_runtime::stats::read(cgroup_path, id)?;
    Ok(Usage {
        cpu_total_ns: usage.cpu_total_ns,
        per_cpu_ns: usage.per_cpu_ns,
        memory_used: usage.memory_used,
        memory_limit: usage.memory_limit,
        pids: usage.pids,
        pids_limit: usage.pids_limit,
        block_read: usage.block_read,
        block_write: usage.block_write,
    })
}

/// Whether the kernel's OOM killer killed a process of the cgroup.
pub(super) fn oom_killed(cgroup_path: &str) -> bool {
    berth_runtime::stats::oom_killed(cgroup_path)
}

/// Checks `hc`'s limits; writes them to the cgroup of a `running` container.
pub(super) fn update(
    cgroup_path: &str,
    id: &str,
    hc: &HostConfig,
    running: bool,
) -> Result<(), SandboxError> {
    let mut resources = super::spec::resources_of(hc);
    // An update to "unlimited" must be written, not left out.
    resources.pids_limit = hc.pids_limit;
    berth_runtime::spec::resources_of(&resources, hc.privileged)?;
    if running {
        berth_runtime::cgroups::update(cgroup_path, id, &resources, hc.privileged)
            .map_err(|e| super::error::update_error(id, e))?;
    }
    Ok(())
}
