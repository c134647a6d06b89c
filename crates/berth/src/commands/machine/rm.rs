//! `berth machine rm [-f] [-y] NAME...`: removes machines and everything of theirs (disk,
//! certificates, runtime files). A running machine only with `-f`, which kills it first.
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Remove a running machine too (it is killed first)
    #[arg(short, long)]
    force: bool,
    /// Do not ask for confirmation (berth never asks: accepted for docker-machine's scripts)
    #[arg(short = 'y')]
    yes: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    let _ = args.yes;
    super::for_each(&args.names, |name| {
        machines.remove(name, args.force)?;
        println!("Successfully removed {name}");
        Ok(())
    })
}
