//! `berth machine start NAME...`: boots stopped machines; each returns when its API answers.
use super::Names;
use crate::commands::CliError;

pub type Args = Names;

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    super::announce_each(&args, "Starting", "started ({took} s)", |name| {
        machines.start(name)
    })
}
