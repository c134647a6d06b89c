//! `berth machine status NAME`: Running or Stopped, from what is alive now.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    name: String,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    println!("{}", machines.status(&args.name)?.state.as_str());
    Ok(0)
}
