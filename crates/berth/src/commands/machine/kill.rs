//! `berth machine kill NAME...`: stops machines at once, without a clean shutdown.
use super::Names;
use crate::commands::CliError;

pub type Args = Names;

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::announce_each(&args, "Killing", "killed", |name| machines.kill(name))
}
