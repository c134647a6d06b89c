//! `berth image prune [-a] [-f] [--filter until=..|label=..|label!=..|dangling=..]`
use berth_engine::images::Removed;
use berth_engine::prune::ImagesPruned;

use super::CliError;

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
    super::deleted_block(
        "Images",
        pruned.images_deleted.iter().map(|item| match item {
            Removed::Untagged(name) => format!("untagged: {name}"),
            Removed::Deleted(id) => format!("deleted: {id}"),
        }),
    )
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !super::confirm(warning) {
        return Ok(0);
    }
    let pruned = engine.prune_images(args.all, &filters)?;
    super::print_pruned(&[report(&pruned)], pruned.space_reclaimed);
    Ok(0)
}
