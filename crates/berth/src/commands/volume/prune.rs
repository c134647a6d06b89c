//! `berth volume prune [-a] [-f] [--filter label=..|label!=..|all=..]`: Docker 23+ removes unused anonymous
//! volumes; `-a` every unused volume.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    // For the warning only: the engine reads the `all` filter itself.
    let all = args.all || filters.bool("all")? == Some(true);
    if !args.force {
        let what = if all {
            "all local volumes"
        } else {
            "anonymous local volumes"
        };
        if !crate::commands::confirm(&format!(
            "WARNING! This will remove {what} not used by at least one container."
        )) {
            return Ok(0);
        }
    }
    let (removed, reclaimed) = engine.prune_volumes(args.all, &filters)?;
    crate::commands::print_pruned(
        &[crate::commands::deleted_block("Volumes", removed)],
        reclaimed,
    );
    Ok(0)
}
