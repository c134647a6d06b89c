//! `berth compose exec [-T] [-u USER] [-w DIR] [-e K=V] [--index N] SERVICE COMMAND...`:
//! a command in a service's running container, through the same exec as `berth exec`.

use std::io::IsTerminal;

use berth_engine::exec::ExecRequest;

use super::{CliError, ProjectFlags, running_container};

#[derive(clap::Args)]
pub struct Args {
    /// Detached mode: Run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Disable pseudo-TTY allocation. By default `exec` allocates a TTY when stdin is one
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Run the command as this user
    #[arg(short, long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Set environment variables
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Give extended privileges to the process (accepted)
    #[arg(long)]
    pub privileged: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let container = running_container(&engine, &project, &args.service, args.index)?;
    let env = args
        .env
        .iter()
        .filter_map(|kv| match kv.split_once('=') {
            Some(_) => Some(kv.clone()),
            None => std::env::var(kv).ok().map(|v| format!("{kv}={v}")),
        })
        .collect();
    let tty = !args.no_tty && std::io::stdin().is_terminal();
    let request = ExecRequest {
        cmd: args.command.clone(),
        env,
        user: args.user.clone().unwrap_or_default(),
        workdir: args.workdir.clone().unwrap_or_default(),
        tty,
        console_size: None,
        detach: args.detach,
    };
    crate::commands::exec::execute(&engine, &container.id, request, !args.detach, None)
}
