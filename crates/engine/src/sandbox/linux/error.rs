//! How the runtime library's errors become [`SandboxError`]s: settings that cannot become a
//! spec are the user's (refused); everything else is the backend failing.

use berth_runtime::cgroups::UpdateError;
use berth_runtime::oci::RuntimeError;
use berth_runtime::spec::SpecError;
use berth_runtime::stats::StatsError;

use crate::sandbox::SandboxError;

impl From<RuntimeError> for SandboxError {
    fn from(e: RuntimeError) -> Self {
        SandboxError::Failed(Box::new(e))
    }
}

impl From<SpecError> for SandboxError {
    fn from(e: SpecError) -> Self {
        SandboxError::Refused(Box::new(e))
    }
}

impl From<StatsError> for SandboxError {
    fn from(e: StatsError) -> Self {
        SandboxError::Failed(Box::new(e))
    }
}

/// A refused limit is the user's; a cgroup that cannot be written is named with its container.
pub(super) fn update_error(id: &str, e: UpdateError) -> SandboxError {
    match e {
        UpdateError::Invalid(e) => e.into(),
        other => SandboxError::Failed(format!("updating container {id}: {other}").into()),
    }
}
