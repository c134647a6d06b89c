//! `berth volume prune [-a] [-f] [--filter label=..]`: Docker 23+ removes unused anonymous
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
    let mut labels = Vec::new();
    let mut all = args.all;
    for f in &args.filter {
        match f.split_once('=') {
            Some(("label", v)) => labels.push(v.to_string()),
            Some(("label!", v)) => labels.push(format!("!{v}")),
            Some(("all", v)) => all |= matches!(v, "true" | "1"),
            _ => return Err(CliError::usage(format!("invalid filter '{f}'"))),
        }
    }
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
    let (removed, reclaimed) = engine.prune_volumes(all, &labels)?;
    crate::commands::print_pruned(
        &[crate::commands::deleted_block("Volumes", removed)],
        reclaimed,
    );
    Ok(0)
}
