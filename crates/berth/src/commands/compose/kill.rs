//! `berth compose kill [-s SIGNAL] [SERVICE...]`: signals the services' running containers.

use super::{CliError, ProjectFlags, each, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers = service_containers(&engine, &project, &args.services, false, true)?;
    each(&containers, "Killing", "Killed", |id| {
        engine.kill_container(id, &args.signal)
    })
}
