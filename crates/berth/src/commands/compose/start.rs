//! `berth compose start [SERVICE...]`: starts the services' existing containers, in
//! dependency order.

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers: Vec<_> = service_containers(&engine, &project, &args.services, true, false)?
        .into_iter()
        .filter(|c| !c.state.has_shim())
        .collect();
    each(&containers, "Starting", "Started", |id| {
        engine.start_container(id, None).map(|_| ())
    })
}
