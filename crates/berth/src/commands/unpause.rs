//! `berth unpause CONTAINER...`
use super::{CliError, for_each};

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    for_each(&args.containers, |c| engine.unpause_container(c))
}
