//! `berth exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]`
use std::os::fd::AsFd;

use berth_engine::attach::DetachKeys;
use berth_engine::exec::ExecRequest;

use super::CliError;
use crate::terminal;

#[derive(clap::Args)]
pub struct Args {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Set environment variables
    #[arg(short, long)]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(berth_model::grammar::read_env_file(file).map_err(CliError::usage)?);
    }
    for kv in &args.env {
        match kv.split_once('=') {
            Some(_) => env.push(kv.clone()),
            None => {
                if let Ok(v) = std::env::var(kv) {
                    env.push(format!("{kv}={v}"));
                }
            }
        }
    }
    let request = ExecRequest {
        cmd: args.command.clone(),
        env,
        user: args.user.clone().unwrap_or_default(),
        workdir: args.workdir.clone().unwrap_or_default(),
        tty: args.tty,
        console_size: None,
        detach: args.detach,
    };
    let keys = DetachKeys::parse(&args.detach_keys)?;
    execute(
        engine,
        &args.container,
        request,
        args.interactive,
        Some(keys),
    )
}

/// Runs `request` with this process's stdio (stdin only when `interactive`) and returns its
/// exit code; shared with `berth exec-helper`, which `berth serve` runs for its execs (the
/// server watches the detach keys itself: the helper gets none). A `-t` session the user
/// detaches from (`detach_keys`) leaves the process running, as docker's: "read escape
/// sequence", exit code 1.
pub fn execute(
    engine: &berth_engine::Engine,
    container: &str,
    mut request: ExecRequest,
    interactive: bool,
    detach_keys: Option<DetachKeys>,
) -> Result<i32, CliError> {
    if request.tty && request.console_size.is_none() {
        request.console_size = terminal::window_size()
            .filter(|size| size.ws_row > 0)
            .map(|size| (size.ws_row, size.ws_col));
    }
    let input = std::io::stdin();
    let output = std::io::stdout();
    let errors = std::io::stderr();
    let null = std::fs::File::open("/dev/null").map_err(|e| CliError::usage(e.to_string()))?;
    let stdin = if interactive {
        input.as_fd()
    } else {
        null.as_fd()
    };
    let exec = engine.exec(
        container,
        &request,
        [Some(stdin), Some(output.as_fd()), Some(errors.as_fd())],
    )?;
    if request.detach {
        return Ok(0);
    }
    if let Some(pty) = &exec.pty {
        let _raw =
            (interactive && terminal::is_terminal(input.as_fd())).then(terminal::RawMode::enter);
        terminal::follow_window_size(pty);
        let keys = detach_keys.filter(|_| interactive);
        if terminal::proxy(pty, keys) {
            terminal::keep_draining(pty);
            drop(_raw);
            eprintln!("read escape sequence");
            return Ok(1);
        }
    }
    Ok(exec.wait())
}
