//! cgroup limits (`-m`, `--memory-swap`, `--cpus`, `--cpu-*`, `--pids-limit`) checked as Docker
//! checks them and turned into OCI resources, for a new container and for a live `update`.

use std::path::Path;

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceType, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder,
};

use super::devices::{default_device_rules, dev_rule};
use super::{SpecError, SpecInput};
use crate::cgroup_host;

#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// `-m`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`, bytes; -1 = unlimited swap.
    pub memory_swap: Option<i64>,
    /// `--cpus` in nano-CPUs (1.5 CPUs = 1_500_000_000), turned into quota/period 100ms.
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`
    pub cpu_shares: Option<u64>,
    /// `--cpu-quota`, microseconds per period (not with `nano_cpus`).
    pub cpu_quota: Option<i64>,
    /// `--cpu-period`, microseconds (not with `nano_cpus`).
    pub cpu_period: Option<u64>,
    /// `--pids-limit`; <= 0 means unlimited.
    pub pids_limit: Option<i64>,
    /// `--cpuset-cpus`, e.g. "0-2,4".
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`, e.g. "0".
    pub cpuset_mems: Option<String>,
    /// `--memory-swappiness`, 0..=100 (applied where the cgroup v1 file exists).
    pub memory_swappiness: Option<u64>,
    /// `--device-cgroup-rule`s and the rules of `--device`s, after the default rules.
    pub device_rules: Vec<DeviceRule>,
    /// `--memory-reservation`, bytes: the soft limit the kernel reclaims down to under pressure.
    pub memory_reservation: Option<i64>,
    /// `--oom-kill-disable`
    pub oom_kill_disable: bool,
}

/// One `--device-cgroup-rule`: allow `access` ("rwm") to devices of `kind` ('a', 'b', 'c')
/// with these numbers (`None`: any).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRule {
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// Whether the host can take a swappiness (cgroup v2 has no such setting).
fn swappiness_supported() -> bool {
    !cgroup_host::is_v2() && Path::new("/sys/fs/cgroup/memory/memory.swappiness").exists()
}

/// Smallest `-m` Docker accepts.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period Docker uses for `--cpus`.
const CPU_PERIOD: u64 = 100_000;

fn online_cpus() -> i64 {
    // Docker counts the CPUs in its affinity mask (Go's runtime.NumCPU).
    // SAFETY: sched_getaffinity fills the set we pass; CPU_COUNT reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set) as i64;
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1)
}

/// Whether swap limits can be applied: cgroup v1 needs swap accounting (memory.memsw.*);
/// Docker drops the swap limit with a warning otherwise.
fn swap_limit_supported() -> bool {
    cgroup_host::is_v2() || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

pub(super) fn build_resources(input: &SpecInput) -> Result<LinuxResources, SpecError> {
    resources_of(&input.resources, input.privileged)
}

/// The cgroup settings of `r`, with the device rules of a container (`privileged`: all).
pub fn resources_of(r: &Resources, privileged: bool) -> Result<LinuxResources, SpecError> {
    let mut b = LinuxResourcesBuilder::default();

    let devices = if privileged {
        vec![dev_rule(true, LinuxDeviceType::A, None, None, "rwm")?]
    } else {
        let mut rules = default_device_rules()?;
        for rule in &r.device_rules {
            let kind = match rule.kind {
                'b' => LinuxDeviceType::B,
                'c' => LinuxDeviceType::C,
                _ => LinuxDeviceType::A,
            };
            rules.push(dev_rule(true, kind, rule.major, rule.minor, &rule.access)?);
        }
        rules
    };
    b = b.devices(devices);

    let memory = r.memory.filter(|m| *m != 0);
    let swap = r.memory_swap.filter(|s| *s != 0);
    if let Some(m) = memory.filter(|m| *m < MIN_MEMORY) {
        return Err(SpecError::InvalidResource {
            flag: "--memory",
            reason: format!("minimum memory limit allowed is 6MB, got {m} bytes"),
        });
    }
    if let Some(s) = swap {
        if s < -1 {
            return Err(SpecError::InvalidResource {
                flag: "--memory-swap",
                reason: format!("{s} is not a valid swap limit (use -1 for unlimited swap)"),
            });
        }
        match memory {
            None => {
                return Err(SpecError::InvalidResource {
                    flag: "--memory-swap",
                    reason: "you should always set the memory limit (-m) when using --memory-swap"
                        .into(),
                });
            }
            Some(m) if s != -1 && s < m => {
                return Err(SpecError::InvalidResource {
                    flag: "--memory-swap",
                    reason: format!(
                        "the memory+swap limit ({s} bytes) must be larger than or equal to the \
                         memory limit ({m} bytes)"
                    ),
                });
            }
            _ => {}
        }
    }
    let swappiness = r.memory_swappiness.filter(|_| swappiness_supported());
    if let Some(s) = swappiness.filter(|s| *s > 100) {
        return Err(SpecError::InvalidResource {
            flag: "--memory-swappiness",
            reason: format!("invalid value: {s}, valid memory swappiness range is 0-100"),
        });
    }
    let reservation = r.memory_reservation.filter(|m| *m != 0);
    if let Some(m) = reservation {
        if m < MIN_MEMORY {
            return Err(SpecError::InvalidResource {
                flag: "--memory-reservation",
                reason: format!("minimum memory reservation allowed is 6MB, got {m} bytes"),
            });
        }
        if memory.is_some_and(|limit| limit < m) {
            return Err(SpecError::InvalidResource {
                flag: "--memory-reservation",
                reason: "minimum memory limit can not be less than memory reservation limit, \
                         see usage"
                    .into(),
            });
        }
    }
    if memory.is_some() || swappiness.is_some() || reservation.is_some() || r.oom_kill_disable {
        let mut mb = LinuxMemoryBuilder::default();
        if let Some(m) = reservation {
            mb = mb.reservation(m);
        }
        if r.oom_kill_disable {
            mb = mb.disable_oom_killer(true);
        }
        if let Some(m) = memory {
            mb = mb.limit(m);
            if swap_limit_supported() {
                // Docker: with -m and no --memory-swap, memory+swap is twice the memory.
                mb = mb.swap(swap.unwrap_or(m.saturating_mul(2)));
            }
        }
        if let Some(s) = swappiness {
            mb = mb.swappiness(s);
        }
        b = b.memory(mb.build()?);
    }

    let mut cpu = LinuxCpuBuilder::default();
    let mut have_cpu = false;
    if let Some(n) = r.nano_cpus.filter(|n| *n != 0) {
        let cpus = online_cpus();
        if n < 10_000_000 || n > cpus * 1_000_000_000 {
            return Err(SpecError::InvalidResource {
                flag: "--cpus",
                reason: format!(
                    "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs \
                     available (got {:.2})",
                    n as f64 / 1e9
                ),
            });
        }
        if r.cpu_quota.is_some_and(|q| q != 0) || r.cpu_period.is_some_and(|p| p != 0) {
            return Err(SpecError::InvalidResource {
                flag: "--cpus",
                reason:
                    "conflicting options: --cpus and --cpu-period/--cpu-quota cannot both be set"
                        .into(),
            });
        }
        let quota = (n as i128 * CPU_PERIOD as i128 / 1_000_000_000) as i64;
        cpu = cpu.period(CPU_PERIOD).quota(quota);
        have_cpu = true;
    }
    if let Some(period) = r.cpu_period.filter(|p| *p != 0) {
        if !(1_000..=1_000_000).contains(&period) {
            return Err(SpecError::InvalidResource {
                flag: "--cpu-period",
                reason: format!(
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000), got {period}"
                ),
            });
        }
        cpu = cpu.period(period);
        have_cpu = true;
    }
    if let Some(quota) = r.cpu_quota.filter(|q| *q != 0) {
        if quota != -1 && quota < 1_000 {
            return Err(SpecError::InvalidResource {
                flag: "--cpu-quota",
                reason: format!("CPU cfs quota can not be less than 1ms (i.e. 1000), got {quota}"),
            });
        }
        cpu = cpu.quota(quota);
        have_cpu = true;
    }
    if let Some(shares) = r.cpu_shares.filter(|s| *s != 0) {
        cpu = cpu.shares(shares);
        have_cpu = true;
    }
    if let Some(cpus) = r.cpuset_cpus.as_ref().filter(|c| !c.is_empty()) {
        cpu = cpu.cpus(cpus.clone());
        have_cpu = true;
    }
    if let Some(mems) = r.cpuset_mems.as_ref().filter(|m| !m.is_empty()) {
        cpu = cpu.mems(mems.clone());
        have_cpu = true;
    }
    if have_cpu {
        b = b.cpu(cpu.build()?);
    }

    if let Some(limit) = r.pids_limit.filter(|l| *l > 0) {
        b = b.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    Ok(b.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::build_spec;
    use crate::spec::test_support::*;

    #[test]
    fn cpus_and_memory_mapping() {
        let mut i = input();
        i.resources = Resources {
            memory: Some(64 * 1024 * 1024),
            memory_swap: None,
            nano_cpus: Some(500_000_000),
            cpu_shares: Some(512),
            pids_limit: Some(100),
            ..Default::default()
        };
        let spec = build_spec(&i).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        let mem = r.memory().unwrap();
        assert_eq!(mem.limit(), Some(64 * 1024 * 1024));
        if swap_limit_supported() {
            assert_eq!(mem.swap(), Some(128 * 1024 * 1024));
        }
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(50_000));
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(r.pids().unwrap().limit(), 100);

        // Explicit swap, unlimited swap, no pids limit.
        i.resources.memory_swap = Some(-1);
        i.resources.pids_limit = Some(0);
        i.resources.nano_cpus = Some(1_000_000_000);
        let spec = build_spec(&i).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        if swap_limit_supported() {
            assert_eq!(r.memory().unwrap().swap(), Some(-1));
        }
        assert!(r.pids().is_none());
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(100_000));

        // Nothing set: no memory / cpu / pids sections at all.
        let spec = build_spec(&input()).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
    }

    #[test]
    fn cpusets_swappiness_and_device_rules_reach_the_spec() {
        let mut i = input();
        i.resources.cpuset_cpus = Some("0".into());
        i.resources.cpuset_mems = Some("0".into());
        i.resources.memory_swappiness = Some(10);
        i.resources.device_rules = vec![DeviceRule {
            kind: 'c',
            major: Some(1),
            minor: Some(3),
            access: "rwm".into(),
        }];
        let spec = build_spec(&i).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
        assert_eq!(cpu.mems().as_deref(), Some("0"));
        if swappiness_supported() {
            assert_eq!(r.memory().unwrap().swappiness(), Some(10));
        }
        let last = r.devices().as_ref().unwrap().last().unwrap().clone();
        assert_eq!(
            (last.typ(), last.major(), last.minor(), last.allow()),
            (Some(LinuxDeviceType::C), Some(1), Some(3), true)
        );
    }

    #[test]
    fn bad_resources_are_errors() {
        let mut i = input();
        i.resources.memory = Some(1024);
        assert!(build_spec(&i).unwrap_err().to_string().contains("6MB"));
        i.resources.memory = Some(64 << 20);
        i.resources.memory_swap = Some(32 << 20);
        assert!(
            build_spec(&i)
                .unwrap_err()
                .to_string()
                .starts_with("--memory-swap")
        );
        i.resources.memory = None;
        i.resources.memory_swap = Some(128 << 20);
        assert!(build_spec(&i).unwrap_err().to_string().contains("-m"));
        i.resources.memory_swap = None;
        i.resources.nano_cpus = Some(1_000_000);
        let err = build_spec(&i).unwrap_err().to_string();
        assert!(
            err.starts_with("--cpus: range of CPUs is from 0.01"),
            "{err}"
        );
        i.resources.nano_cpus = Some((online_cpus() + 1) * 1_000_000_000);
        assert!(
            build_spec(&i)
                .unwrap_err()
                .to_string()
                .starts_with("--cpus")
        );
    }
}
