//! `berth rm [-f] [-v] CONTAINER...`
use super::{CliError, for_each};

#[derive(clap::Args)]
pub struct Args {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    /// Remove the specified link
    #[arg(short, long)]
    link: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    if args.link {
        return for_each(&args.containers, |c| engine.remove_link(c));
    }
    for_each(&args.containers, |c| {
        engine.remove_container_and_volumes(c, args.force, args.volumes)
    })
}
