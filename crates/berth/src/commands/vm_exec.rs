//! `berth vm-exec RUN_DIR EXEC` (hidden): one exec in a `--vm` container, through its relay's
//! control socket. The engine waits on this process as on any exec's: its stdio are the exec's,
//! its exit code the exec's (see `berth_vm::exec_client`).

#[derive(clap::Args)]
pub struct Args {
    /// The container's run directory, where the relay's socket is.
    run_dir: std::path::PathBuf,
    /// The exec as a JSON `GuestExec`.
    exec: String,
    /// Where the pty's master goes (`exec -t`).
    #[arg(long)]
    console_socket: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> i32 {
    let exec: berth_vm::config::GuestExec = match serde_json::from_str(&args.exec) {
        Ok(exec) => exec,
        Err(e) => {
            eprintln!("Error: the exec's description: {e}");
            return 125;
        }
    };
    berth_vm::exec_client::run(&args.run_dir, exec, args.console_socket.as_deref())
}
