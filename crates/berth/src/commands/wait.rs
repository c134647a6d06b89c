//! `berth wait CONTAINER...`: prints each exit code.
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut failed = false;
    for c in &args.containers {
        match engine.wait_container(c) {
            Ok(code) => println!("{code}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
