//! `berth container prune [-f] [--filter until=..|label=..|label!=..]`
use berth_engine::prune::ContainersPruned;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

/// The `Deleted Containers:` block (empty when nothing was deleted).
pub fn report(pruned: &ContainersPruned) -> String {
    super::deleted_block("Containers", pruned.containers_deleted.iter().cloned())
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    if !args.force && !super::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let pruned = engine.prune_containers(&filters)?;
    super::print_pruned(&[report(&pruned)], pruned.space_reclaimed);
    Ok(0)
}
