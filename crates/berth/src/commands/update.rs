//! `berth update [--memory M] [--memory-swap S] [--cpus N] [--cpu-shares N] [--cpu-quota N]
//! [--cpu-period N] [--pids-limit N] [--restart POLICY] [--cpuset-cpus LIST] [--cpuset-mems LIST]
//! CONTAINER...`
use berth_engine::types::UpdateRequest;

use super::{CliError, for_each};
use berth_model::grammar::{
    flag_error, parse_cpus, parse_go_int, parse_memory, parse_restart_policy,
};

#[derive(clap::Args)]
pub struct Args {
    /// Memory limit
    #[arg(short, long, value_name = "bytes", allow_hyphen_values = true)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", allow_hyphen_values = true)]
    cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int", allow_hyphen_values = true)]
    cpu_shares: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    cpu_quota: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    cpu_period: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pids_limit: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    restart: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    cpuset_mems: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

fn int(value: &Option<String>, flag: &str) -> Result<i64, CliError> {
    match value {
        Some(v) => parse_go_int(v, true).map_err(|e| CliError::usage(flag_error(v, flag, &e))),
        None => Ok(0),
    }
}

fn request(args: &Args) -> Result<UpdateRequest, CliError> {
    let memory = |value: &Option<String>, flag: &str| match value.as_deref() {
        Some("-1") if flag == "--memory-swap" => Ok(-1),
        Some(v) => parse_memory(v).map_err(|e| CliError::usage(flag_error(v, flag, &e))),
        None => Ok(0),
    };
    Ok(UpdateRequest {
        memory: memory(&args.memory, "-m, --memory")?,
        memory_swap: memory(&args.memory_swap, "--memory-swap")?,
        nano_cpus: match &args.cpus {
            Some(v) => parse_cpus(v).map_err(|e| CliError::usage(flag_error(v, "--cpus", &e)))?,
            None => 0,
        },
        cpu_shares: int(&args.cpu_shares, "-c, --cpu-shares")?,
        cpu_quota: int(&args.cpu_quota, "--cpu-quota")?,
        cpu_period: int(&args.cpu_period, "--cpu-period")?,
        pids_limit: match &args.pids_limit {
            Some(_) => Some(int(&args.pids_limit, "--pids-limit")?),
            None => None,
        },
        restart_policy: args
            .restart
            .as_deref()
            .map(parse_restart_policy)
            .transpose()
            .map_err(CliError::usage)?,
        cpuset_cpus: args.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: args.cpuset_mems.clone().unwrap_or_default(),
    })
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let update = request(&args)?;
    for_each(&args.containers, |c| {
        engine.update_container(c, &update).map(|_| ())
    })
}
