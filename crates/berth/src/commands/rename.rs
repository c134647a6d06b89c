//! `berth rename CONTAINER NEW_NAME`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    container: String,
    new_name: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    engine.rename_container(&args.container, &args.new_name)?;
    Ok(0)
}
