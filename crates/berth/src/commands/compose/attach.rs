//! `berth compose attach [--index N] SERVICE`: `berth attach` to the service's container.

use super::{CliError, ProjectFlags, container_verb, replica};

#[derive(clap::Args)]
pub struct Args {
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching from a container
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    pub service: String,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let c = replica(&engine, &project, &args.service, args.index)?;
    let mut argv = vec!["attach".to_string()];
    if args.no_stdin {
        argv.push("--no-stdin".into());
    }
    argv.push(format!("--sig-proxy={}", args.sig_proxy));
    argv.push(format!("--detach-keys={}", args.detach_keys));
    argv.push(c.name);
    crate::commands::attach::run(&engine, container_verb(&argv)?)
}
