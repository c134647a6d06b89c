//! `berth compose stop [SERVICE...]`: stops the services' containers, dependents first (one
//! dependency level at a time, its containers at once).

use super::{CliError, ProjectFlags, progress, service_containers};

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
    let refs: Vec<_> = containers.iter().collect();
    let levels = berth_compose::down::stop_order(&project, &refs);
    berth_compose::down::stop_levels(&engine, &levels, args.timeout, &mut progress::plain)?;
    Ok(0)
}
