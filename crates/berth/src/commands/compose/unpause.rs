//! `berth compose unpause [SERVICE...]`: thaws the services' paused containers.

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers: Vec<_> = service_containers(&engine, &project, &args.services, false, false)?
        .into_iter()
        .filter(|c| c.state == berth_engine::types::State::Paused)
        .collect();
    each(&containers, "Unpausing", "Unpaused", |id| {
        engine.unpause_container(id)
    })
}
