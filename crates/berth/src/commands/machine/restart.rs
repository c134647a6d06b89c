//! `berth machine restart NAME...`: stop (if running), then start.
use super::Names;
use crate::commands::CliError;

pub type Args = Names;

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::announce_each(&args, "Restarting", "restarted", |name| {
        machines.restart(name)
    })
}
