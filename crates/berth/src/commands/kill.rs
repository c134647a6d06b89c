//! `berth kill [-s SIGNAL] CONTAINER...`
use super::{CliError, for_each};

#[derive(clap::Args)]
pub struct Args {
    /// Signal to send to the container
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    for_each(&args.containers, |c| engine.kill_container(c, &args.signal))
}
