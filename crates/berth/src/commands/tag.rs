//! `berth tag SOURCE TARGET`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    source: String,
    target: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    engine.tag_image(&args.source, &args.target)?;
    Ok(0)
}
