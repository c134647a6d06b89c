//! The `run`/`create` flags for namespaces and pinned resources (`--pid`, `--ipc`, `--uts`,
//! `--cgroupns`, `--userns`, `--group-add`, `--device-cgroup-rule`, `--cpuset-*`,
//! `--memory-swappiness`), checked in the docker CLI's words and put into the HostConfig.

use berth_model::grammar::{
    NamespaceKind, flag_error, parse_device_cgroup_rule, parse_go_int, parse_namespace_mode,
};
use berth_model::types::HostConfig;
use clap::ArgAction;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct IsolationFlags {
    /// PID namespace to use
    #[arg(long, value_name = "string")]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long, value_name = "string")]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long, value_name = "string")]
    pub uts: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long, value_name = "string")]
    pub cgroupns: Option<String>,
    /// User namespace to use
    #[arg(long, value_name = "string")]
    pub userns: Option<String>,
    /// Add additional groups to join
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub group_add: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub device_cgroup_rule: Vec<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub memory_swappiness: Option<String>,
}

impl IsolationFlags {
    /// Checks the flags as the docker CLI does and records them in `hc`.
    pub fn apply(&self, hc: &mut HostConfig) -> Result<(), String> {
        for rule in &self.device_cgroup_rule {
            parse_device_cgroup_rule(rule)
                .map_err(|e| flag_error(rule, "--device-cgroup-rule", &e))?;
        }
        let swappiness = match &self.memory_swappiness {
            Some(v) => {
                parse_go_int(v, true).map_err(|e| flag_error(v, "--memory-swappiness", &e))?
            }
            None => -1,
        };
        let modes = [
            (NamespaceKind::Pid, &self.pid, &mut hc.pid_mode),
            (NamespaceKind::Ipc, &self.ipc, &mut hc.ipc_mode),
            (NamespaceKind::Uts, &self.uts, &mut hc.uts_mode),
            (NamespaceKind::Cgroup, &self.cgroupns, &mut hc.cgroupns_mode),
            (NamespaceKind::User, &self.userns, &mut hc.userns_mode),
        ];
        for (kind, flag, field) in modes {
            let value = flag.clone().unwrap_or_default();
            if parse_namespace_mode(kind, &value).is_none() {
                return Err(kind.invalid_mode().to_string());
            }
            *field = value;
        }
        let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        hc.group_add = non_empty(&self.group_add);
        hc.device_cgroup_rules = non_empty(&self.device_cgroup_rule);
        hc.cpuset_cpus = self.cpuset_cpus.clone().unwrap_or_default();
        hc.cpuset_mems = self.cpuset_mems.clone().unwrap_or_default();
        hc.memory_swappiness = (swappiness != -1).then_some(swappiness);
        Ok(())
    }
}
