//! `berth container prune [-f] [--filter until=..|label=..]`
use berth_engine::prune::ContainersPruned;
use berth_engine::prune_filters::PruneFilters;

use super::CliError;
use crate::format;

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
    if pruned.containers_deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Containers:\n");
    for id in &pruned.containers_deleted {
        out.push_str(id);
        out.push('\n');
    }
    out
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = PruneFilters::parse(&args.filter, chrono::Utc::now().timestamp())?;
    if !args.force && !super::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let pruned = engine.prune_containers(&filters)?;
    let text = report(&pruned);
    if !text.is_empty() {
        println!("{text}");
    }
    println!(
        "Total reclaimed space: {}",
        format::human_size(pruned.space_reclaimed)
    );
    Ok(0)
}
