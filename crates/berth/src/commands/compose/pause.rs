//! `berth compose pause [SERVICE...]`: freezes the services' running containers.

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers = service_containers(&engine, &project, &args.services, false, false)?;
    each(&containers, "Pausing", "Paused", |id| {
        engine.pause_container(id)
    })
}
