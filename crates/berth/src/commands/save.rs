//! `berth save [-o FILE] [--format docker|oci] IMAGE...`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<String>,
    /// Archive format: docker (docker-archive + OCI layout, as Docker 25+ writes) or oci
    #[arg(long, default_value = "docker", value_parser = ["docker", "docker-archive", "oci", "oci-archive"])]
    format: String,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    // Both formats are the same archive: an OCI layout that also holds docker's manifest.json.
    let _ = (&args.format, &args.platform);
    super::write_archive(args.output.as_deref(), "save image", |out| {
        engine.save_images(&args.images, out)
    })?;
    Ok(0)
}
