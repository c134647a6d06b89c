//! `berth start [-a] [-i] CONTAINER...`
use std::os::fd::AsFd;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    interactive: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            return Err(CliError::usage(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let rec = engine.container(&args.containers[0])?;
        return super::run::attached(engine, &rec.id, args.interactive, rec.config.config.tty);
    }
    let _ = std::io::stdout().as_fd();
    super::for_each(&args.containers, |c| {
        engine.start_container(c, None).map(|_| ())
    })
}
