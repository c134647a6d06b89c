//! `berth machine create|ls|start|stop|restart|kill|rm|inspect|ip|status|ssh|scp|env`: Docker
//! hosts in VMs with docker-machine's verbs, one file per verb; each calls the machine store
//! (`berth_machine::Machines`). They do not open the container engine: a machine's engine is
//! reached over its API.

pub mod create;
pub mod env;
pub mod forward;
pub mod inspect;
pub mod ip;
pub mod kill;
pub mod ls;
pub mod restart;
pub mod rm;
pub mod scp;
pub mod ssh;
pub mod start;
pub mod status;
pub mod stop;

use super::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a machine (a Docker host in a VM) and start it
    Create(create::Args),
    /// List machines
    #[command(alias = "list")]
    Ls(ls::Args),
    /// Start a machine
    Start(start::Args),
    /// Stop a machine (clean shutdown)
    Stop(stop::Args),
    /// Restart a machine
    Restart(restart::Args),
    /// Kill a machine (no clean shutdown)
    Kill(kill::Args),
    /// Remove a machine
    #[command(alias = "remove")]
    Rm(rm::Args),
    /// Inspect information about a machine
    Inspect(inspect::Args),
    /// Get the address where a machine's engine is reached
    Ip(ip::Args),
    /// Get the status of a machine
    Status(status::Args),
    /// Run a shell or a command in a machine
    Ssh(ssh::Args),
    /// Copy files between the host and a machine (NAME:PATH is in the machine)
    Scp(scp::Args),
    /// Print the commands that point the docker CLI at a machine's engine
    Env(env::Args),
}

pub fn run(command: Command) -> Result<i32, CliError> {
    let machines = berth_machine::Machines::from_env();
    match command {
        Command::Create(a) => create::run(&machines, a),
        Command::Ls(a) => ls::run(&machines, a),
        Command::Start(a) => start::run(&machines, a),
        Command::Stop(a) => stop::run(&machines, a),
        Command::Restart(a) => restart::run(&machines, a),
        Command::Kill(a) => kill::run(&machines, a),
        Command::Rm(a) => rm::run(&machines, a),
        Command::Inspect(a) => inspect::run(&machines, a),
        Command::Ip(a) => ip::run(&machines, a),
        Command::Status(a) => status::run(&machines, a),
        Command::Ssh(a) => ssh::run(&machines, a),
        Command::Scp(a) => scp::run(&machines, a),
        Command::Env(a) => env::run(&machines, a),
    }
}

/// docker-machine exits 1 on every failure.
impl From<berth_machine::MachineError> for CliError {
    fn from(e: berth_machine::MachineError) -> Self {
        CliError {
            message: e.to_string(),
            code: 1,
            daemon: false,
        }
    }
}

/// The `NAME...` operand of the verbs that act on machines one by one.
#[derive(clap::Args)]
pub struct Names {
    #[arg(required = true)]
    names: Vec<String>,
}

/// Runs `op` on each machine between docker-machine's two lines, `Stopping "m1"...` and
/// `Machine "m1" was stopped.` (`doing` and `done`); `done` may add how long it took.
pub fn announce_each(
    args: &Names,
    doing: &str,
    done: &str,
    mut op: impl FnMut(&str) -> Result<(), berth_machine::MachineError>,
) -> Result<i32, CliError> {
    for_each(&args.names, |name| {
        let started = std::time::Instant::now();
        println!("{doing} {name:?}...");
        op(name)?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "Machine {name:?} was {}.",
            done.replace("{took}", &format!("{took:.1}"))
        );
        Ok(())
    })
}

/// Runs `op` on each name, docker-machine style: an error line per failure, exit 1 if any
/// failed.
pub fn for_each(
    names: &[String],
    mut op: impl FnMut(&str) -> Result<(), berth_machine::MachineError>,
) -> Result<i32, CliError> {
    let mut failed = false;
    for name in names {
        if let Err(e) = op(name) {
            eprintln!("Error: {e}");
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// The running machine's status, or docker-machine's "not running" error.
pub fn running(
    machines: &berth_machine::Machines,
    name: &str,
) -> Result<berth_machine::store::Status, CliError> {
    let status = machines.status(name)?;
    if status.state != berth_machine::State::Running {
        return Err(CliError {
            message: format!("Host is not running: {name:?}"),
            code: 1,
            daemon: false,
        });
    }
    Ok(status)
}
