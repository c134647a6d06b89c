//! cgroup work outside libcontainer. Removing a finished container's cgroup directly:
//! libcgroups' remove (through libcontainer's delete) re-reads /proc/self/mountinfo once per
//! controller through a fresh procfs handle, which costs milliseconds on every container exit.
//! Here: one mountinfo read, one rmdir per hierarchy. Works for cgroup v1 (every mounted
//! controller) and v2 (the unified tree). And `docker update`: a running container's new
//! limits, applied through libcgroups.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A failed live update of a container's cgroup.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{0}")]
    Invalid(#[from] crate::spec::SpecError),
    /// libcgroups could not apply the limits; its error is kept as the source.
    #[error("updating cgroup {path}: {source}")]
    Cgroup {
        path: String,
        #[source]
        source: crate::Cause,
    },
}

/// Sets the limits of the running container's cgroup at `cgroup_path` (e.g. "/berth/<id>") to
/// `resources`, through libcgroups (v1 or v2, as the host has). `privileged` keeps the
/// container's device rules as they were made.
pub fn update(
    cgroup_path: &str,
    container_id: &str,
    resources: &crate::spec::Resources,
    privileged: bool,
) -> Result<(), UpdateError> {
    use libcgroups::common::{CgroupConfig, CgroupManager, ControllerOpt, create_cgroup_manager};
    let failed = |source: crate::Cause| UpdateError::Cgroup {
        path: cgroup_path.to_string(),
        source,
    };
    let mut limits = crate::spec::resources_of(resources, privileged)?;
    // A new spec leaves an unlimited pids count out; an update to it must write "max".
    if resources.pids_limit.is_some_and(|l| l <= 0) {
        let mut unlimited = oci_spec::runtime::LinuxPids::default();
        unlimited.set_limit(-1);
        limits.set_pids(Some(unlimited));
    }
    let manager = create_cgroup_manager(CgroupConfig {
        cgroup_path: cgroup_path.into(),
        systemd_cgroup: false,
        container_name: container_id.to_string(),
    })
    .map_err(|e| failed(e.into()))?;
    manager
        .apply(&ControllerOpt {
            resources: &limits,
            disable_oom_killer: false,
            oom_score_adj: None,
            freezer_state: None,
        })
        .map_err(|e| failed(e.into()))
}

/// The calling thread's place in the named cgroup v1 hierarchies (name=systemd), moved into a
/// container's cgroup for as long as this lives.
///
/// The thread moves, not the process: "0" written to `tasks` is the one cgroup move the kernel
/// makes without its global threadgroup lock, whose RCU grace period costs 5-15 ms a write
/// here (`cgroup.procs` pays it). A child takes the cgroups of the thread that forks it, so the
/// thread that creates the container is the one to move. (libcontainer's intermediate still
/// joins the controllers through `cgroup.procs`, and pays one such wait per start.)
///
/// libcontainer joins only the v1 controllers it manages, and mounts every v1 hierarchy of
/// its caller into the container: without this a container's /sys/fs/cgroup/systemd is the
/// host's whole name=systemd tree (its release_agent included). Docker's containers sit in
/// name=systemd:/docker/<id>. A process forked while this lives (the container's init)
/// stays in the container's cgroup; the caller goes back when this is dropped.
pub struct NamedHierarchies {
    /// The `tasks` file of each named hierarchy's cgroup the calling thread was in before.
    previous: Vec<PathBuf>,
}

impl NamedHierarchies {
    /// Moves the calling thread into `cgroup_path` (e.g. "/berth/<id>") of every named v1
    /// hierarchy; drop it on the same thread. Best effort: a hierarchy that cannot be
    /// joined is left as it was (the container's cgroup mount is read-only either way).
    pub fn join(cgroup_path: &str) -> NamedHierarchies {
        let mut previous = Vec::new();
        if cgroup_path.is_empty() {
            return NamedHierarchies { previous };
        }
        // /proc/thread-self/cgroup, not mountinfo (long on a busy host): "9:name=systemd:/a/path".
        // libcontainer mounts only what is under /sys/fs/cgroup, so that is where to look.
        let own = std::fs::read_to_string("/proc/thread-self/cgroup").unwrap_or_default();
        let relative = cgroup_path.trim_start_matches('/');
        for line in own.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(current)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Some(name) = controllers.strip_prefix("name=") else {
                continue;
            };
            let root = Path::new("/sys/fs/cgroup").join(name);
            let target = root.join(relative);
            let joined =
                std::fs::create_dir_all(&target).and_then(|_| write_tasks(&target.join("tasks")));
            if joined.is_ok() {
                let current = current.trim_start_matches('/');
                previous.push(root.join(current).join("tasks"));
            }
        }
        NamedHierarchies { previous }
    }
}

impl Drop for NamedHierarchies {
    fn drop(&mut self) {
        for tasks in &self.previous {
            let _ = write_tasks(tasks);
        }
    }
}

/// Moves the calling thread into the cgroup whose `tasks` file this is (without truncating:
/// cgroup files take writes as they come).
fn write_tasks(tasks: &Path) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .open(tasks)?
        .write_all(b"0")
}

/// Removes the cgroup at `path` (e.g. "/berth/<id>") from every hierarchy. Its processes must
/// be gone; a cgroup still emptying (the kernel reaps exiting tasks asynchronously) is retried
/// briefly. Missing directories are fine.
pub fn remove(path: &Path) -> std::io::Result<()> {
    let relative = path.strip_prefix("/").unwrap_or(path);
    let deadline = Instant::now() + Duration::from_secs(2);
    for root in crate::cgroup_host::hierarchies() {
        let dir = root.join(relative);
        loop {
            match std::fs::remove_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("removing cgroup {}: {e}", dir.display()),
                    ));
                }
            }
        }
    }
    Ok(())
}
