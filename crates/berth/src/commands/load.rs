//! `berth load [-i FILE] [-q]`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    input: Option<String>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
    /// Load only the given platform
    #[arg(long)]
    platform: Option<String>,
}

/// docker exits 1 on a failed load.
fn failed(e: impl std::fmt::Display) -> CliError {
    CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    // There is no progress output to suppress: the "Loaded image" lines are printed either way,
    // as docker prints them with -q.
    let _ = (args.quiet, &args.platform);
    let loaded = match args.input.as_deref() {
        None | Some("-") => {
            let stdin = std::io::stdin();
            if std::io::IsTerminal::is_terminal(&stdin) {
                return Err(failed("requested load from stdin, but stdin is empty"));
            }
            engine
                .load_images(std::io::BufReader::with_capacity(256 * 1024, stdin.lock()))
                .map_err(failed)?
        }
        Some(path) => {
            let file =
                std::fs::File::open(path).map_err(|e| failed(format!("open {path}: {e}")))?;
            engine
                .load_images(std::io::BufReader::with_capacity(256 * 1024, file))
                .map_err(failed)?
        }
    };
    for image in loaded {
        if image.tags.is_empty() {
            println!("Loaded image ID: {}", image.id);
        }
        for tag in image.tags {
            println!("Loaded image: {tag}");
        }
    }
    Ok(0)
}
