//! The `run`/`create` flags that reach the kernel directly (`--sysctl`, `--device`,
//! `--shm-size`, `--memory-reservation`, `--oom-score-adj`, `--oom-kill-disable`,
//! `--cpu-period`, `--cpu-quota`), checked in the docker CLI's words and put into the
//! HostConfig. Whether the kernel allows them is the engine's check, for every front end.

use berth_model::grammar::{flag_error, parse_device, parse_go_bool, parse_go_int, parse_memory};
use berth_model::types::HostConfig;
use clap::ArgAction;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct KernelSettingFlags {
    /// Sysctl options
    #[arg(long, value_name = "map", action = ArgAction::Append)]
    pub sysctl: Vec<String>,
    /// Add a host device to the container
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub device: Vec<String>,
    /// Size of /dev/shm
    #[arg(long, value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Memory soft limit
    #[arg(long, value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// Disable OOM Killer
    #[arg(long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub oom_kill_disable: bool,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int")]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
}

impl KernelSettingFlags {
    /// Checks the flags as the docker CLI does and records them in `hc`.
    pub fn apply(&self, hc: &mut HostConfig) -> Result<(), String> {
        let bytes = |v: &Option<String>, flag: &str| -> Result<i64, String> {
            match v {
                Some(v) => parse_memory(v).map_err(|e| flag_error(v, flag, &e)),
                None => Ok(0),
            }
        };
        let int = |v: &Option<String>, flag: &str| -> Result<i64, String> {
            match v {
                Some(v) => parse_go_int(v, true).map_err(|e| flag_error(v, flag, &e)),
                None => Ok(0),
            }
        };
        let mut sysctls = std::collections::BTreeMap::new();
        for kv in &self.sysctl {
            let Some((name, value)) = kv.split_once('=') else {
                return Err(flag_error(
                    kv,
                    "--sysctl",
                    &format!("sysctl '{kv}' is not allowed"),
                ));
            };
            sysctls.insert(name.to_string(), value.to_string());
        }
        let mut devices = Vec::new();
        for d in &self.device {
            devices.push(parse_device(d).map_err(|e| flag_error(d, "--device", &e))?);
        }
        hc.sysctls = (!sysctls.is_empty()).then_some(sysctls);
        hc.devices = (!devices.is_empty()).then_some(devices);
        hc.shm_size = bytes(&self.shm_size, "--shm-size")?;
        hc.memory_reservation = bytes(&self.memory_reservation, "--memory-reservation")?;
        hc.oom_score_adj = int(&self.oom_score_adj, "--oom-score-adj")?;
        hc.oom_kill_disable = self.oom_kill_disable.then_some(true);
        hc.cpu_period = int(&self.cpu_period, "--cpu-period")?;
        hc.cpu_quota = int(&self.cpu_quota, "--cpu-quota")?;
        Ok(())
    }
}
