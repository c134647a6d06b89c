//! `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`
use super::CliError;
use crate::run_flags::RunFlags;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: RunFlags,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Creates the container; shared by `create` and `run`.
pub fn create(engine: &berth_engine::Engine, args: &Args) -> Result<String, CliError> {
    let request = args.flags.to_request(&args.image, &args.command).map_err(CliError::usage)?;
    Ok(engine.create_container(request, args.flags.name.as_deref())?)
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    println!("{}", create(engine, &args)?);
    Ok(0)
}
