//! `berth import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    /// A tarball path, or - for standard input
    file: String,
    reference: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let id = if args.file == "-" {
        engine.import_image(
            std::io::stdin().lock(),
            args.reference.as_deref(),
            &args.change,
            args.message.as_deref(),
        )?
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| CliError {
            message: format!("open {}: {e}", args.file),
            code: 1,
            daemon: false,
        })?;
        engine.import_image(
            std::io::BufReader::new(file),
            args.reference.as_deref(),
            &args.change,
            args.message.as_deref(),
        )?
    };
    println!("{id}");
    Ok(0)
}
