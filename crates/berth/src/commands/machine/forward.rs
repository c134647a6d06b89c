//! The berth CLI pointed at a machine: after `eval $(berth machine env m1)`, an engine command
//! (`berth ps`, `run`, `images`, ...) runs in the machine, by the berth inside it, through the
//! VM agent, with this terminal or these pipes as its stdio and its exit code as ours. The
//! engine inside is the same berth, so every verb and flag behaves as it does here; paths
//! (`-v`, build contexts) name the machine's files, as they name the remote host's with
//! docker and a remote DOCKER_HOST.
use std::io::IsTerminal;
use std::process::Stdio;

use berth_machine::{ExecRequest, Machines, State};

use crate::commands::CliError;

/// The berth binary in a machine's root (the initramfs's init, copied there).
const BERTH_IN_MACHINE: &str = "/init";

/// The machine `DOCKER_MACHINE_NAME` and `DOCKER_HOST` name together, as `machine env` sets
/// them; `None` when they are unset. A DOCKER_HOST that is no berth machine's is said once on
/// stderr and left alone: berth has no Docker API client, it uses its own engine.
pub fn target() -> Result<Option<(Machines, String)>, CliError> {
    let Ok(host) = std::env::var("DOCKER_HOST") else {
        return Ok(None);
    };
    let name = std::env::var("DOCKER_MACHINE_NAME").unwrap_or_default();
    let machines = Machines::from_env();
    let status = match machines.status(&name) {
        Ok(status) if !name.is_empty() && status.url == host => status,
        _ => {
            eprintln!(
                "berth: DOCKER_HOST={host} is not a berth machine's (berth machine env NAME); using this host's engine"
            );
            return Ok(None);
        }
    };
    if status.state != State::Running {
        return Err(CliError {
            message: format!(
                "Cannot connect to the Docker daemon at {host}. Is the docker daemon running? (machine {name:?} is {})",
                status.state.as_str()
            ),
            code: 1,
            daemon: false,
        });
    }
    Ok(Some((machines, name)))
}

/// Runs `berth ARGS` in the machine: on a pty when stdin and stdout are terminals (so `run
/// -it` gets one), else through pipes.
pub fn run(machines: &Machines, name: &str, args: Vec<String>) -> Result<i32, CliError> {
    let argv = std::iter::once(BERTH_IN_MACHINE.to_string())
        .chain(args)
        .collect::<Vec<_>>();
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return super::ssh::on_terminal(machines, name, argv);
    }
    Ok(machines.exec(
        name,
        ExecRequest {
            args: argv,
            console_socket: None,
            interactive: true,
            stdin: Stdio::inherit(),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
        },
    )?)
}
