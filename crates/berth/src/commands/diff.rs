//! `berth diff CONTAINER` (also `container diff`): the paths a container changed in its
//! filesystem, one per line with Docker's A (added), C (changed) or D (deleted) mark.
use super::CliError;
use berth_engine::changes::{ADDED, DELETED};

#[derive(clap::Args)]
pub struct Args {
    container: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let changes = engine.container_changes(&args.container)?;
    for change in changes {
        let mark = match change.kind {
            ADDED => 'A',
            DELETED => 'D',
            _ => 'C',
        };
        println!("{mark} {}", change.path);
    }
    Ok(0)
}
