use std::fs;
use std::path::Path;

use nix::unistd::Pid;

use crate::common::{self, CGROUP_PROCS, ControllerOpt, WrapIoResult, WrappedIoError};

pub(super) trait Controller {
    type Error: From<WrappedIoError>;
    type Resource;

    /// Adds a new task specified by its pid to the cgroup
    fn add_task(pid: Pid, cgroup_path: &Path) -> Result<(), Self::Error> {
        fs::create_dir_all(cgroup_path).wrap_create_dir(cgroup_path)?;
        move_into(pid, cgroup_path)?;
        Ok(())
    }

    /// Applies resource restrictions to the cgroup
    fn apply(controller_opt: &ControllerOpt, cgroup_root: &Path) -> Result<(), Self::Error>;

    /// Checks if the controller needs to handle this request
    fn needs_to_handle<'a>(controller_opt: &'a ControllerOpt) -> Option<&'a Self::Resource>;
}

/// berth's patch (see vendor/README.md): moves `pid` into the cgroup at `cgroup_path`.
///
/// A write of a pid to `cgroup.procs` takes the kernel's global threadgroup rwsem for writing,
/// which waits for an RCU grace period (5-15 ms on a small VM) unless another writer held it
/// moments before. A write of "0" to `tasks` moves only the calling thread, and the kernel
/// skips that lock for it (cgroup_procs_write_start: "If the thread is `current` ... we can
/// skip the global lock"). For a single-threaded caller moving itself (libcontainer's
/// intermediate process) the two are the same move; anything else keeps `cgroup.procs`.
pub(super) fn move_into(pid: Pid, cgroup_path: &Path) -> Result<(), WrappedIoError> {
    if pid == nix::unistd::getpid() && single_threaded() {
        return common::write_cgroup_file_str(cgroup_path.join("tasks"), "0");
    }
    common::write_cgroup_file(cgroup_path.join(CGROUP_PROCS), pid)
}

/// Whether the calling process has exactly one thread (/proc/self/status "Threads:").
fn single_threaded() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .is_some_and(|count| count.trim() == "1")
    })
}
