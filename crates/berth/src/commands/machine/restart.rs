//! `berth machine restart NAME...`: stop (if running), then start.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::for_each(&args.names, |name| {
        println!("Restarting {name:?}...");
        machines.restart(name)?;
        println!("Machine {name:?} was restarted.");
        Ok(())
    })
}
