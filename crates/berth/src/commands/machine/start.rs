//! `berth machine start NAME...`: boots stopped machines; each returns when its API answers.
use std::time::Instant;

use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::for_each(&args.names, |name| {
        let started = Instant::now();
        println!("Starting {name:?}...");
        machines.start(name)?;
        println!(
            "Machine {name:?} was started ({:.1} s).",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
}
