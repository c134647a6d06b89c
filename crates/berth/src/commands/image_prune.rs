//! `berth image prune [-a] [-f] [--filter until=..|label=..]`
use berth_engine::images::Removed;
use berth_engine::prune::ImagesPruned;
use berth_engine::prune_filters::PruneFilters;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

/// The `Deleted Images:` block (empty when nothing was deleted), as the docker CLI prints it.
pub fn report(pruned: &ImagesPruned) -> String {
    if pruned.images_deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Images:\n");
    for item in &pruned.images_deleted {
        match item {
            Removed::Untagged(name) => out.push_str(&format!("untagged: {name}\n")),
            Removed::Deleted(id) => out.push_str(&format!("deleted: {id}\n")),
        }
    }
    out
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = PruneFilters::parse(&args.filter, chrono::Utc::now().timestamp())?;
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !super::confirm(warning) {
        return Ok(0);
    }
    let pruned = engine.prune_images(args.all, &filters)?;
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
