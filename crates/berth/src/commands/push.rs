//! `berth push [-q] NAME[:TAG]`
use super::CliError;
use crate::progress::{Renderer, Stream};

#[derive(clap::Args)]
pub struct Args {
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Skip image signing (accepted)
    #[arg(long = "disable-content-trust", num_args = 0..=1, default_missing_value = "true", hide = true)]
    disable_content_trust: Option<String>,
    name: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let quiet = args.quiet;
    let mut renderer = Renderer::new(Stream::Stdout);
    let pushed = engine.push_image(&args.name, &mut |p| {
        if !quiet {
            renderer.show(p)
        }
    });
    renderer.finish();
    pushed.map_err(|e| CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    })?;
    if quiet {
        println!("{}", args.name);
    }
    Ok(0)
}
