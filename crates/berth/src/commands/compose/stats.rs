//! `berth compose stats [SERVICE...]`: `berth stats` on the project's containers.

use super::{CliError, ProjectFlags, container_verb, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers = service_containers(&engine, &project, &args.services, args.all, false)?;
    let mut argv = vec!["stats".to_string()];
    for (flag, on) in [
        ("--all", args.all),
        ("--no-stream", args.no_stream),
        ("--no-trunc", args.no_trunc),
    ] {
        if on {
            argv.push(flag.into());
        }
    }
    if let Some(f) = &args.format {
        argv.push(format!("--format={f}"));
    }
    if containers.is_empty() {
        return Ok(0);
    }
    argv.extend(containers.into_iter().map(|c| c.name));
    crate::commands::stats::run(&engine, container_verb(&argv)?)
}
