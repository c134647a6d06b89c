//! `berth volume rm [-f] VOLUME...`: a volume in use is never removed, not even with -f.
use crate::commands::{CliError, for_each};

#[derive(clap::Args)]
pub struct Args {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    for_each(&args.names, |name| engine.remove_volume(name, args.force))
}
