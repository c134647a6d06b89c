//! `berth rmi [-f] IMAGE...`
use berth_engine::images::Removed;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut failed = false;
    for image in &args.images {
        match engine.remove_image(image, args.force) {
            Ok(removed) => {
                for r in removed {
                    match r {
                        Removed::Untagged(name) => println!("Untagged: {name}"),
                        Removed::Deleted(id) => println!("Deleted: {id}"),
                    }
                }
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
