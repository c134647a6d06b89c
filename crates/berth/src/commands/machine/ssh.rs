//! `berth machine ssh NAME [COMMAND...]`: a shell or a command in the machine, through its VM
//! agent (no SSH daemon, no keys). Without a command: an interactive shell, on a real pty when
//! stdin is a terminal (raw mode here, the window size followed). With one: it runs through the
//! guest's `sh -c` (as ssh runs a remote command through the user's shell), and this exits with
//! its code.
use std::io::IsTerminal;
use std::process::Stdio;
use std::time::Duration;

use berth_machine::ExecRequest;

use crate::commands::CliError;
use crate::terminal;

#[derive(clap::Args)]
pub struct Args {
    name: String,
    /// The command and its arguments (joined with spaces for the guest's shell)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    if args.command.is_empty() && std::io::stdin().is_terminal() {
        return on_terminal(machines, &args.name, vec!["sh".into(), "-l".into()]);
    }
    let argv = if args.command.is_empty() {
        vec!["sh".to_string()]
    } else {
        vec!["sh".to_string(), "-c".to_string(), args.command.join(" ")]
    };
    let code = machines.exec(
        &args.name,
        ExecRequest {
            args: argv,
            console_socket: None,
            interactive: true,
            stdin: Stdio::inherit(),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
        },
    )?;
    Ok(code)
}

/// `args` on a pty in the machine (a login shell for `ssh`): the exec's pty master comes to a
/// console socket of ours, and this terminal is proxied to it until the command exits.
pub fn on_terminal(
    machines: &berth_machine::Machines,
    name: &str,
    args: Vec<String>,
) -> Result<i32, CliError> {
    let failed = |message: String| CliError {
        message,
        code: 1,
        daemon: false,
    };
    let scratch = tempfile::Builder::new()
        .prefix("berth-ssh")
        .tempdir()
        .map_err(|e| failed(format!("a directory for the console socket: {e}")))?;
    let socket = scratch.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket)
        .map_err(|e| failed(format!("binding {}: {e}", socket.display())))?;
    let finished = std::sync::atomic::AtomicBool::new(false);
    let exec = std::thread::scope(|scope| {
        let exec = scope.spawn(|| {
            let result = machines.exec(
                name,
                ExecRequest {
                    args,
                    console_socket: Some(socket.clone()),
                    interactive: true,
                    stdin: Stdio::null(),
                    stdout: Stdio::inherit(),
                    stderr: Stdio::inherit(),
                },
            );
            finished.store(true, std::sync::atomic::Ordering::Relaxed);
            result
        });
        let gave_up = || finished.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(pty) = terminal::receive_pty(&listener, Duration::from_secs(30), gave_up) {
            let _raw = terminal::RawMode::enter();
            terminal::follow_window_size(&pty);
            terminal::proxy(&pty, None);
        }
        exec.join()
    });
    match exec {
        Ok(result) => Ok(result?),
        Err(_) => Err(failed("the shell's session ended abnormally".into())),
    }
}
