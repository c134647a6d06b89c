//! `berth system prune [-a] [-f] [--volumes] [--filter until=..|label=..|label!=..]`
use berth_engine::prune::SystemPruneOptions;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

fn warning(args: &Args) -> String {
    let mut items = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if args.volumes {
        items.push("all anonymous volumes not used by at least one container");
    }
    if args.all {
        items.extend([
            "all images without at least one container associated to them",
            "all build cache",
        ]);
    } else {
        items.extend(["all dangling images", "unused build cache"]);
    }
    let mut text = String::from("WARNING! This will remove:\n");
    for item in items {
        text.push_str(&format!("  - {item}\n"));
    }
    text
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    if !args.force && !super::confirm(&warning(&args)) {
        return Ok(0);
    }
    let options = SystemPruneOptions {
        all_images: args.all,
        volumes: args.volumes,
        filters,
    };
    let pruned = engine.prune_system(&options)?;
    // Docker's order: containers, networks, volumes, images.
    let blocks = [
        super::container_prune::report(&pruned.containers),
        super::deleted_block("Networks", pruned.networks_deleted.iter().cloned()),
        super::deleted_block("Volumes", pruned.volumes_deleted.iter().cloned()),
        super::image_prune::report(&pruned.images),
        if pruned.build_cache_deleted > 0 {
            format!(
                "Deleted build cache objects: {}\n",
                pruned.build_cache_deleted
            )
        } else {
            String::new()
        },
    ];
    super::print_pruned(&blocks, pruned.space_reclaimed);
    Ok(0)
}
