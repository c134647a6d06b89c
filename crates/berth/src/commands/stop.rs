//! `berth stop [-t N] CONTAINER...`
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
    /// Signal to send to the container
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    if let Some(signal) = &args.signal {
        berth_engine::lifecycle::parse_signal(signal)?;
    }
    for_each(&args.containers, |c| engine.stop_container(c, args.time))
}
