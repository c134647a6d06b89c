//! `berth machine stop NAME...`: a clean shutdown (the engine stops, the disk is synced and
//! unmounted), harder after a timeout.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::for_each(&args.names, |name| {
        println!("Stopping {name:?}...");
        machines.stop(name)?;
        println!("Machine {name:?} was stopped.");
        Ok(())
    })
}
