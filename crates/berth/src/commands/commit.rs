//! `berth commit [-a AUTHOR] [-c CHANGE]... [-m MESSAGE] [-p=false] CONTAINER [REPOSITORY[:TAG]]`
use clap::ArgAction;

use super::CliError;
use berth_model::grammar::parse_go_bool;

#[derive(clap::Args)]
pub struct Args {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "true", default_missing_value = "true", value_parser = parse_go_bool)]
    pause: bool,
    container: String,
    reference: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let options = berth_engine::commit::CommitOptions {
        reference: args.reference,
        comment: args.message,
        author: args.author,
        changes: args.change,
        pause: args.pause,
        config: None,
    };
    println!("{}", engine.commit_container(&args.container, &options)?);
    Ok(0)
}
