//! `berth compose rm [-f] [-s] [-v] [SERVICE...]`: removes the services' stopped containers
//! (`-s` stops them first; without `-f` it asks, as Compose does).

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let mut containers = service_containers(&engine, &project, &args.services, true, true)?;
    if args.stop {
        let running: Vec<_> = containers
            .iter()
            .filter(|c| c.state.has_shim())
            .cloned()
            .collect();
        each(&running, "Stopping", "Stopped", |id| {
            engine.stop_container(id, None)
        })?;
        containers = service_containers(&engine, &project, &args.services, true, true)?;
    }
    let stopped: Vec<_> = containers
        .into_iter()
        .filter(|c| !c.state.has_shim())
        .collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    if !args.force {
        let names: Vec<&str> = stopped.iter().map(|c| c.name.as_str()).collect();
        let question = format!("Going to remove {}", names.join(", "));
        if !super::super::confirm(&question) {
            return Ok(0);
        }
    }
    each(&stopped, "Removing", "Removed", |id| {
        engine.remove_container_and_volumes(id, false, args.volumes)
    })
}
