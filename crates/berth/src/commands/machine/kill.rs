//! `berth machine kill NAME...`: stops machines at once, without a clean shutdown.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::for_each(&args.names, |name| {
        println!("Killing {name:?}...");
        machines.kill(name)?;
        println!("Machine {name:?} was killed.");
        Ok(())
    })
}
