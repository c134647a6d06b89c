//! `berth compose stop [SERVICE...]`: stops the services' containers, dependents first.

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// Specify a shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<i64>,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers = service_containers(&engine, &project, &args.services, false, true)?;
    each(&containers, "Stopping", "Stopped", |id| {
        engine.stop_container(id, args.timeout)
    })
}
