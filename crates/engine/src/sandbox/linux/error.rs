//! How the runtime library's errors become [`SandboxError`]s: settings that cannot become a
//! spec and a runtime name that is neither on $PATH nor a path are the user's (refused); a host
//! that cannot be read while building the spec, a spec the OCI library refuses, and everything
//! else are the backend failing.

use berth_runtime::cgroups::UpdateError;
use berth_runtime::oci::RuntimeError;
use berth_runtime::spec::SpecError;
use berth_runtime::stats::StatsError;

use crate::sandbox::SandboxError;

impl From<RuntimeError> for SandboxError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::UnknownRuntime(_) => SandboxError::Refused(Box::new(e)),
            _ => SandboxError::Failed(Box::new(e)),
        }
    }
}

impl From<SpecError> for SandboxError {
    fn from(e: SpecError) -> Self {
        use berth_runtime::seccomp::ProfileError;
        match e {
            SpecError::HostDevices { .. }
            | SpecError::Oci(_)
            | SpecError::SeccompProfile(ProfileError::Oci(_)) => SandboxError::Failed(Box::new(e)),
            _ => SandboxError::Refused(Box::new(e)),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};

    #[test]
    fn the_users_settings_are_refused_the_hosts_failures_are_ours() {
        let unknown = Error::from(SandboxError::from(RuntimeError::UnknownRuntime("x".into())));
        assert_eq!(unknown.kind(), ErrorKind::Invalid);
        let empty = Error::from(SandboxError::from(SpecError::EmptyArgs));
        assert_eq!(empty.kind(), ErrorKind::Invalid);
    }
}
