//! A Linux sandbox's cgroup limits (`update`); the cgroup's processes and counters are the
//! shared [`crate::sandbox::cgroups`].

use crate::sandbox::SandboxError;
use crate::types::HostConfig;

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
