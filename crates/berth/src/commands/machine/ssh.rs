//! `berth machine ssh NAME [COMMAND...]`: a shell or a command in the machine, through its VM
//! agent (no SSH daemon, no keys). Without a command: an interactive shell, on a pty when stdin
//! is a terminal. With one: it runs through the guest's `sh -c` (as ssh runs a remote command
//! through the user's shell), and this exits with its code.
use std::io::IsTerminal;
use std::process::Stdio;

use berth_machine::ExecRequest;

use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    name: String,
    /// The command and its arguments (joined with spaces for the guest's shell)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    let (argv, terminal) = if args.command.is_empty() {
        (vec!["sh".to_string()], std::io::stdin().is_terminal())
    } else {
        (
            vec!["sh".to_string(), "-c".to_string(), args.command.join(" ")],
            false,
        )
    };
    let code = machines.exec(
        &args.name,
        ExecRequest {
            args: argv,
            terminal,
            interactive: true,
            stdin: Stdio::inherit(),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
        },
    )?;
    Ok(code)
}
