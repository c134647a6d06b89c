//! `berth image prune [-a] [-f]`: removes dangling images; `-a` every image no container uses,
//! the build cache's intermediate images included (as Docker's classic builder).
use std::io::BufRead;

use berth_engine::images::Removed;

use crate::commands::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    if !args.force {
        let what = if args.all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        };
        eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let report = engine.prune_images(args.all)?;
    if !report.removed.is_empty() {
        println!("Deleted Images:");
        for r in &report.removed {
            match r {
                Removed::Untagged(name) => println!("untagged: {name}"),
                Removed::Deleted(id) => println!("deleted: {id}"),
            }
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        format::human_size(report.reclaimed)
    );
    Ok(0)
}
