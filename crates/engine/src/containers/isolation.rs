//! A container's namespaces and pinned resources as Docker decides them: the create-time
//! checks and defaults of `--pid`, `--ipc`, `--uts`, `--cgroupns`, `--userns`,
//! `--device-cgroup-rule`, `--cpuset-*`, `--memory-swappiness` and `--memory-swap` (the
//! defaults are recorded, so inspect shows what dockerd shows), and at start the namespaces a
//! `container:X` mode joins.

use std::path::PathBuf;

use berth_model::grammar::{
    NamespaceKind, NamespaceMode, parse_cpuset, parse_device_cgroup_rule, parse_namespace_mode,
};

use crate::store::ContainerRecord;
use crate::types::{ContainerConfig, HostConfig};
use crate::{Engine, Error};

/// The namespaces a start joins, resolved from `container:X` modes.
#[derive(Debug, Default)]
pub(crate) struct Joins {
    pub pid_ns: Option<PathBuf>,
    pub ipc_ns: Option<PathBuf>,
    /// The donor's /dev/shm on the host.
    pub shm: Option<PathBuf>,
}

fn mode(kind: NamespaceKind, value: &str) -> Result<NamespaceMode, Error> {
    parse_namespace_mode(kind, value)
        .ok_or_else(|| Error::InvalidArgument(kind.invalid_mode_value(value)))
}

/// Checks what dockerd checks of these settings at create (400 on a bad one).
pub(crate) fn validate(hc: &HostConfig, config: &ContainerConfig) -> Result<(), Error> {
    mode(NamespaceKind::Pid, &hc.pid_mode)?;
    mode(NamespaceKind::Ipc, &hc.ipc_mode)?;
    let uts = mode(NamespaceKind::Uts, &hc.uts_mode)?;
    mode(NamespaceKind::Cgroup, &hc.cgroupns_mode)?;
    mode(NamespaceKind::User, &hc.userns_mode)?;
    if uts == NamespaceMode::Host && !config.hostname.is_empty() {
        return Err(Error::InvalidArgument(
            "conflicting options: hostname and the UTS mode".into(),
        ));
    }
    for rule in hc.device_cgroup_rules.iter().flatten() {
        parse_device_cgroup_rule(rule).map_err(Error::InvalidArgument)?;
    }
    check_cpusets(hc)?;
    super::kernel_settings::validate(hc)?;
    if let Some(s) = hc.memory_swappiness
        && s != -1
        && !(0..=100).contains(&s)
    {
        return Err(Error::InvalidArgument(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        )));
    }
    Ok(())
}

/// `--cpuset-cpus` and `--cpuset-mems` against the host's (at create and `update`).
pub(crate) fn check_cpusets(hc: &HostConfig) -> Result<(), Error> {
    let (cpus, mems) = crate::sandbox::host_cpuset();
    check_cpuset(&hc.cpuset_cpus, &cpus, "cpus", "CPUs")?;
    check_cpuset(&hc.cpuset_mems, &mems, "mems", "memory nodes")
}

/// dockerd's checks of a `--cpuset-cpus`/`--cpuset-mems` list against the host's.
fn check_cpuset(wanted: &str, available: &str, what: &str, plural: &str) -> Result<(), Error> {
    if wanted.is_empty() {
        return Ok(());
    }
    let Some(set) = parse_cpuset(wanted) else {
        return Err(Error::InvalidArgument(format!(
            "Invalid value {wanted} for cpuset {what}"
        )));
    };
    let Some(host) = parse_cpuset(available) else {
        return Ok(());
    };
    if !set.is_subset(&host) {
        return Err(Error::InvalidArgument(format!(
            "Requested {plural} are not available - requested {wanted}, available: {available}"
        )));
    }
    Ok(())
}

/// dockerd's default `--shm-size`, 64 MiB.
const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// What dockerd records in place of unset values: IPC "private", a 64 MiB /dev/shm, the host's cgroup
/// namespace mode, twice the memory as memory+swap, no swappiness for -1; and in place of
/// what the host cannot do: unlimited swap without swap accounting, no swappiness on v2.
pub(crate) fn fill_defaults(hc: &mut HostConfig) {
    let (swap_limit, swappiness) = crate::sandbox::host_swap_controls();
    if hc.ipc_mode.is_empty() {
        hc.ipc_mode = "private".into();
    }
    if hc.shm_size == 0 {
        hc.shm_size = DEFAULT_SHM_SIZE;
    }
    if hc.cgroupns_mode.is_empty() {
        hc.cgroupns_mode = if crate::sandbox::host_cgroup_v2() {
            "private"
        } else {
            "host"
        }
        .into();
    }
    if hc.memory > 0 && hc.memory_swap == 0 {
        hc.memory_swap = hc.memory.saturating_mul(2);
    }
    if hc.memory > 0 && hc.memory_swap > 0 && !swap_limit {
        hc.memory_swap = -1;
    }
    if hc.memory_swappiness == Some(-1) || !swappiness {
        hc.memory_swappiness = None;
    }
}

impl Engine {
    /// The namespaces `rec`'s `container:X` modes join: X must run; an IPC donor must have
    /// a shareable IPC (its own shareable /dev/shm, the host's, or one it joined itself).
    pub(crate) fn namespace_joins(&self, rec: &ContainerRecord) -> Result<Joins, Error> {
        let hc = &rec.config.host_config;
        let mut joins = Joins::default();
        if let Ok(NamespaceMode::Container(name)) = mode(NamespaceKind::Pid, &hc.pid_mode) {
            let donor = self.running_donor(&name, "PID")?;
            joins.pid_ns = Some(PathBuf::from(format!("/proc/{}/ns/pid", donor.pid)));
        }
        if let Ok(NamespaceMode::Container(name)) = mode(NamespaceKind::Ipc, &hc.ipc_mode) {
            let (ns, shm) = self.ipc_donor(&name, 0)?;
            joins.ipc_ns = Some(ns);
            joins.shm = shm;
        }
        Ok(joins)
    }

    /// Container `name`, running, for a `container:` mode of `what` ("PID", "IPC").
    fn running_donor(&self, name: &str, what: &str) -> Result<ContainerRecord, Error> {
        let donor = self.container(name)?;
        if !donor.state.has_shim() || donor.pid <= 0 {
            return Err(Error::Conflict(format!(
                "cannot join {what} of a non running container: {name}"
            )));
        }
        Ok(donor)
    }

    /// The IPC namespace and /dev/shm of donor `name` (following its own `container:` mode).
    fn ipc_donor(&self, name: &str, depth: u32) -> Result<(PathBuf, Option<PathBuf>), Error> {
        let donor = self.running_donor(name, "IPC")?;
        let ns = PathBuf::from(format!("/proc/{}/ns/ipc", donor.pid));
        let shm = match mode(NamespaceKind::Ipc, &donor.config.host_config.ipc_mode) {
            Ok(NamespaceMode::Shareable) => Some(self.sandbox_for(&donor).shm_dir()),
            Ok(NamespaceMode::Host) => Some(PathBuf::from("/dev/shm")),
            Ok(NamespaceMode::Container(next)) if depth < 8 => self.ipc_donor(&next, depth + 1)?.1,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "container {name}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
                )));
            }
        };
        Ok((ns, shm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_recorded_as_dockerd_records_them() {
        let mut hc = HostConfig {
            memory: 64 << 20,
            memory_swappiness: Some(-1),
            ..Default::default()
        };
        fill_defaults(&mut hc);
        assert_eq!(hc.ipc_mode, "private");
        assert!(matches!(hc.cgroupns_mode.as_str(), "host" | "private"));
        let (swap_limit, _) = crate::sandbox::host_swap_controls();
        assert_eq!(hc.memory_swap, if swap_limit { 128 << 20 } else { -1 });
        assert_eq!(hc.memory_swappiness, None);
        let mut unlimited = HostConfig {
            memory: 64 << 20,
            memory_swap: -1,
            ipc_mode: "shareable".into(),
            ..Default::default()
        };
        fill_defaults(&mut unlimited);
        assert_eq!(unlimited.memory_swap, -1);
        assert_eq!(unlimited.ipc_mode, "shareable");
    }

    #[test]
    fn clients_nulls_read_as_unset() {
        let hc: HostConfig = serde_json::from_value(serde_json::json!({
            "PidMode": "host", "IpcMode": null, "UTSMode": null, "CpusetCpus": null,
            "MemorySwappiness": null, "GroupAdd": null
        }))
        .unwrap();
        assert_eq!((hc.pid_mode.as_str(), hc.ipc_mode.as_str()), ("host", ""));
        assert!(hc.cpuset_cpus.is_empty() && hc.memory_swappiness.is_none());
    }

    #[test]
    fn bad_settings_are_refused_in_dockerds_words() {
        let refused = |hc: HostConfig, config: ContainerConfig| {
            validate(&hc, &config).unwrap_err().to_string()
        };
        let hc = |f: fn(&mut HostConfig)| {
            let mut hc = HostConfig::default();
            f(&mut hc);
            hc
        };
        assert_eq!(
            refused(hc(|h| h.ipc_mode = "bogus".into()), Default::default()),
            "invalid IPC mode: bogus"
        );
        assert_eq!(
            refused(
                hc(|h| h.uts_mode = "host".into()),
                ContainerConfig {
                    hostname: "web".into(),
                    ..Default::default()
                }
            ),
            "conflicting options: hostname and the UTS mode"
        );
        assert_eq!(
            refused(
                hc(|h| h.device_cgroup_rules = Some(vec!["z 1:3 rwm".into()])),
                Default::default()
            ),
            "invalid device cgroup format 'z 1:3 rwm'"
        );
        assert_eq!(
            refused(hc(|h| h.cpuset_cpus = "1-0".into()), Default::default()),
            "Invalid value 1-0 for cpuset cpus"
        );
        assert!(
            refused(hc(|h| h.cpuset_cpus = "4096".into()), Default::default())
                .starts_with("Requested CPUs are not available - requested 4096, available: ")
        );
        assert_eq!(
            refused(hc(|h| h.memory_swappiness = Some(101)), Default::default()),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert!(validate(&hc(|h| h.memory_swappiness = Some(-1)), &Default::default()).is_ok());
    }
}
