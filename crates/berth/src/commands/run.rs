//! `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create, start, and (unless -d) stay
//! attached until the container exits, returning its exit code.
use std::os::fd::AsFd;

use super::CliError;
pub use super::create::Args;
use super::create::create;
use crate::terminal;

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let id = create(engine, &args)?;
    // A start that fails removes an --rm container: the engine's policy, applied in its start.
    if args.flags.detach {
        engine.start_container(&id, None)?;
        println!("{id}");
        return Ok(0);
    }
    attached(engine, &id, args.flags.interactive, args.flags.tty)
}

/// Starts a container with this process's stdio attached and waits for its exit code.
pub fn attached(
    engine: &berth_engine::Engine,
    id: &str,
    stdin: bool,
    tty: bool,
) -> Result<i32, CliError> {
    let input = std::io::stdin();
    let output = std::io::stdout();
    let errors = std::io::stderr();
    let raw = (tty && stdin && terminal::is_terminal(input.as_fd())).then(terminal::RawMode::enter);
    let attach = berth_engine::lifecycle::Attach {
        stdin: stdin.then(|| input.as_fd()),
        stdout: Some(output.as_fd()),
        stderr: Some(errors.as_fd()),
    };
    let started = engine.start_container(id, Some(attach))?;
    let Some(mut started) = started else {
        return Err(CliError::usage(format!(
            "container {id} is already running"
        )));
    };
    match &started.pty {
        Some(pty) => terminal::follow_window_size(pty),
        // Docker's --sig-proxy: signals to this attached client go to the container.
        None => {
            if let Some(init) = started.init.take() {
                terminal::proxy_signals(init);
            }
        }
    }
    let code = started.wait();
    drop(raw);
    match code {
        Some(code) => Ok(code),
        None => Ok(engine.wait_container(id).map(|c| c as i32).unwrap_or(125)),
    }
}
