//! `berth pull [-a] [-q] [--platform OS/ARCH] NAME[:TAG|@DIGEST]`
use super::CliError;
use berth_engine::distribution::PullOptions;

use crate::progress::{Renderer, Stream};

#[derive(clap::Args)]
pub struct Args {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    /// Skip image verification (accepted; berth always checks digests)
    #[arg(long = "disable-content-trust", num_args = 0..=1, default_missing_value = "true", hide = true)]
    disable_content_trust: Option<String>,
    name: String,
}

fn has_tag_or_digest(name: &str) -> bool {
    name.contains('@') || name.rsplit('/').next().unwrap_or(name).contains(':')
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let options = PullOptions {
        platform: args.platform.clone(),
        all_tags: args.all_tags,
    };
    if !args.quiet && !args.all_tags && !has_tag_or_digest(&args.name) {
        println!("Using default tag: latest");
    }
    let quiet = args.quiet;
    let mut renderer = Renderer::new(Stream::Stdout);
    let pulled = engine.pull_image(&args.name, &options, &mut |p| {
        if !quiet {
            renderer.show(p)
        }
    });
    renderer.finish();
    let pulled = pulled.map_err(|e| CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    })?;
    if quiet {
        for p in pulled {
            println!("{}", p.name);
        }
    }
    Ok(0)
}

/// `run`/`create` of an image that is not in the store: pull it first (progress on stderr, as
/// docker prints it).
pub fn pull_for_run(
    engine: &berth_engine::Engine,
    name: &str,
    platform: Option<&str>,
) -> Result<(), berth_engine::Error> {
    let shown = berth_engine::reference::normalize(name).unwrap_or_else(|_| name.to_string());
    eprintln!("Unable to find image '{shown}' locally");
    let options = PullOptions {
        platform: platform.map(str::to_string),
        all_tags: false,
    };
    let mut renderer = Renderer::new(Stream::Stderr);
    let pulled = engine.pull_image(name, &options, &mut |p| renderer.show(p));
    renderer.finish();
    pulled.map(|_| ())
}
