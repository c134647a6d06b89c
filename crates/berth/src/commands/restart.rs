//! `berth restart [-t N] CONTAINER...`
use super::{CliError, for_each};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    time: Option<i64>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    for_each(&args.containers, |c| engine.restart_container(c, args.time))
}
