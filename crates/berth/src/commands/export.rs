//! `berth export [-o FILE] CONTAINER`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<String>,
    container: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    super::write_archive(args.output.as_deref(), "export container", |out| {
        engine.export_container(&args.container, out)
    })?;
    Ok(0)
}
