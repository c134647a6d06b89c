//! The create-time checks of what a container asks of the kernel directly: `--sysctl`,
//! `--device`, `--shm-size`, `--oom-score-adj`, `--memory-reservation`, worded as dockerd
//! words them (400 on a bad one) so that nothing is created that could not start.

use berth_runtime::spec::{SysctlNamespace, UserDevice, sysctl_namespace, user_device_rules};

use crate::Error;
use crate::types::HostConfig;

/// dockerd's smallest memory reservation, 6 MiB.
const MIN_RESERVATION: i64 = 6 * 1024 * 1024;

pub(crate) fn validate(hc: &HostConfig) -> Result<(), Error> {
    let invalid = |m: String| Err(Error::InvalidArgument(m));
    if hc.shm_size < 0 {
        return invalid("SHM size can not be less than 0".into());
    }
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        ));
    }
    if hc.memory_reservation != 0 && hc.memory_reservation < MIN_RESERVATION {
        return invalid("Minimum memory reservation allowed is 6MB".into());
    }
    if hc.memory > 0 && hc.memory_reservation > 0 && hc.memory < hc.memory_reservation {
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    for name in hc.sysctls.iter().flatten().map(|(k, _)| k) {
        match sysctl_namespace(name) {
            None => return invalid(format!("sysctl {name:?} is not allowed: not namespaced")),
            Some(SysctlNamespace::Network) if hc.network_mode == "host" => {
                return invalid(format!(
                    "sysctl {name:?} not allowed in host network namespace"
                ));
            }
            Some(SysctlNamespace::Ipc) if hc.ipc_mode == "host" => {
                return invalid(format!("sysctl {name:?} not allowed in host IPC namespace"));
            }
            Some(_) => {}
        }
    }
    for d in hc.devices.iter().flatten() {
        let device = UserDevice::new(&d.path_on_host, &d.path_in_container, &d.cgroup_permissions);
        if !device.container.is_absolute() {
            return invalid(format!(
                "{} is not an absolute path",
                device.container.display()
            ));
        }
        if !device.permissions.chars().all(|c| "rwm".contains(c)) {
            return invalid(format!("invalid device mode: {}", device.permissions));
        }
        user_device_rules(&[device]).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    }
    Ok(())
}
