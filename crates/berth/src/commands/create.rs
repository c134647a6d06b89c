//! `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`
use super::CliError;
use crate::run_flags::RunFlags;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: RunFlags,
    /// IMAGE [COMMAND] [ARG...]: everything after the image belongs to the command, flags
    /// included, as Docker parses it.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub image_and_command: Vec<String>,
}

/// Creates the container; shared by `create` and `run`.
pub fn create(engine: &berth_engine::Engine, args: &Args) -> Result<String, CliError> {
    let (image, command) = args
        .image_and_command
        .split_first()
        .ok_or_else(|| CliError::usage("requires at least 1 argument"))?;
    let request = args
        .flags
        .to_request(image, command)
        .map_err(CliError::usage)?;
    // A missing image is pulled (Docker's --pull=missing), then the create is retried once.
    let platform = args.flags.platform.as_deref();
    if args.flags.pull == "always" {
        super::pull::pull_for_run(engine, image, platform)?;
    }
    match engine.create_container(request.clone(), args.flags.name.as_deref()) {
        Err(berth_engine::Error::NotFound(missing))
            if missing.starts_with("No such image") && args.flags.pull != "never" =>
        {
            super::pull::pull_for_run(engine, image, platform).map_err(|e| CliError {
                message: format!("{missing}: {e}"),
                code: 125,
                daemon: true,
            })?;
            Ok(engine.create_container(request, args.flags.name.as_deref())?)
        }
        other => Ok(other?),
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    println!("{}", create(engine, &args)?);
    Ok(0)
}
