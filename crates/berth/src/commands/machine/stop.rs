//! `berth machine stop NAME...`: a clean shutdown (the engine stops, the disk is synced and
//! unmounted), harder after a timeout.
use super::Names;
use crate::commands::CliError;

pub type Args = Names;

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::announce_each(&args, "Stopping", "stopped", |name| machines.stop(name))
}
