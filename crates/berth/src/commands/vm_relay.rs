//! `berth vm-relay CONFIG` (hidden): a `--vm` container's init on the host, started by its
//! shim. It boots the guest [`berth_vm::config::Launch`] `CONFIG` describes and exits with its
//! main process's exit code (see `berth_vm::relay`).

#[derive(clap::Args)]
pub struct Args {
    /// The launch's JSON file, written by the engine's microvm sandbox.
    config: std::path::PathBuf,
}

pub fn run(args: Args) -> i32 {
    berth_vm::relay::run(&args.config)
}
