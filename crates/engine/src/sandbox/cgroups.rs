//! A sandbox's cgroup, for every backend: its processes (`top`), its counters (`stats`) and
//! whether the kernel killed it for memory. The cgroup is "/berth/<id>" in every hierarchy
//! (v2 unified, or v1 per controller). A Linux sandbox's runtime makes it; a micro-VM's
//! sandbox makes it itself ([`make`]) for the relay and QEMU, and empties it ([`kill_all`]).

use std::time::{Duration, Instant};

use crate::sandbox::{SandboxError, Usage};

/// The cgroup of container `id`, relative to each hierarchy's root.
pub(crate) fn path_of(id: &str) -> String {
    format!("/berth/{id}")
}

/// The pids in container `id`'s cgroup (v2 unified, or v1 through the pids, memory or
/// freezer controller, whichever is mounted).
pub(crate) fn processes(id: &str) -> Vec<i32> {
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
pub(crate) fn stats(cgroup_path: &str, id: &str) -> Result<Usage, SandboxError> {
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
pub(crate) fn oom_killed(cgroup_path: &str) -> bool {
    berth_runtime::stats::oom_killed(cgroup_path)
}

/// The `cgroup.procs` files of container `id`'s cgroup, one per hierarchy, each made
/// (v1: every controller; v2: the unified tree). No limit is set: a VM's memory and CPUs are
/// its own (`-m`, `--cpus`), and QEMU needs room beyond the guest's memory.
pub(crate) fn make(id: &str) -> Result<Vec<std::path::PathBuf>, SandboxError> {
    let relative = path_of(id);
    let mut procs = Vec::new();
    for root in berth_runtime::cgroup_host::hierarchies() {
        let dir = root.join(relative.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).map_err(|e| {
            SandboxError::Failed(format!("making cgroup {}: {e}", dir.display()).into())
        })?;
        // A v1 cpuset takes no process before it has CPUs and memory nodes: its parent's.
        if let Some(parent) = dir.parent() {
            inherit_cpuset(parent);
        }
        inherit_cpuset(&dir);
        procs.push(dir.join("cgroup.procs"));
    }
    Ok(procs)
}

/// Copies an empty `cpuset.cpus`/`cpuset.mems` of cgroup `dir` from its parent (cgroup v1).
fn inherit_cpuset(dir: &std::path::Path) {
    let Some(parent) = dir.parent() else { return };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if !dir.join(file).exists() || !own.trim().is_empty() {
            continue;
        }
        let inherited = std::fs::read_to_string(parent.join(file)).unwrap_or_default();
        let _ = std::fs::write(dir.join(file), inherited.trim());
    }
}

/// Kills every process in container `id`'s cgroup and waits (briefly) until it is empty, then
/// removes the cgroup.
pub(crate) fn kill_all(id: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let pids = processes(id);
        if pids.is_empty() || Instant::now() >= deadline {
            break;
        }
        for pid in pids {
            // SAFETY: kill(2) with a pid read from the container's own cgroup: a process of
            // this container (a reused pid would be in another cgroup).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = berth_runtime::cgroups::remove(std::path::Path::new(&path_of(id)));
}
