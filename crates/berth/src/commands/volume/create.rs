//! `berth volume create [-d local] [--label K=V] [-o K=V] [NAME]`
use super::key_values;
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    driver: String,
    /// Set metadata for a volume
    #[arg(long)]
    label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    /// Specify volume name
    #[arg(long = "name")]
    name_flag: Option<String>,
    name: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    if matches!((&args.name, &args.name_flag), (Some(a), Some(b)) if a != b) {
        return Err(CliError::usage(
            "conflicting options: either specify --name or provide positional arg, not both",
        ));
    }
    let request = berth_engine::volumes::VolumeCreate {
        name: args.name.or(args.name_flag),
        driver: args.driver,
        labels: key_values(&args.label, "--label")?,
        options: key_values(&args.opt, "-o, --opt")?,
    };
    let volume = engine.create_volume(request)?;
    println!("{}", volume.name);
    Ok(0)
}
