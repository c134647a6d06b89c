//! `berth vm-agent` (hidden): the guest agent of a micro-VM, the same code `main` runs when this
//! binary is a guest's `/init` (see `berth_vm::agent`). It refuses to run unless it is PID 1:
//! as an init it mounts, kills every other process and reboots the machine.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> i32 {
    berth_vm::agent::main()
}
