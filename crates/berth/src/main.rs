//! berth: a Docker-compatible container engine in one binary. This crate is the thin front end:
//! the command line (one file per verb under `commands/`, each calling one engine function) and
//! the hidden `berth shim` and `berth exec-helper` entry points. It must not touch files under
//! the state root itself.

mod commands;
mod format;
mod progress;
mod run_flags;
mod terminal;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "A Docker-compatible container engine",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and run a new container from an image
    Run(commands::run::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(commands::attach::Args),
    /// Create a new container
    Create(commands::create::Args),
    /// Start one or more stopped containers
    Start(commands::start::Args),
    /// Stop one or more running containers
    Stop(commands::stop::Args),
    /// Kill one or more running containers
    Kill(commands::kill::Args),
    /// Restart one or more containers
    Restart(commands::restart::Args),
    /// Remove one or more containers
    Rm(commands::rm::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(commands::wait::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(commands::cp::Args),
    /// Create a new image from a container's changes
    Commit(commands::commit::Args),
    /// Export a container's filesystem as a tar archive
    Export(commands::export::Args),
    /// Update configuration of one or more containers
    Update(commands::update::Args),
    /// Pause all processes within one or more containers
    Pause(commands::pause::Args),
    /// Unpause all processes within one or more containers
    Unpause(commands::unpause::Args),
    /// Rename a container
    Rename(commands::rename::Args),
    /// Get real time events from the server
    Events(commands::events::Args),
    /// List containers
    Ps(commands::ps::Args),
    /// Fetch the logs of a container
    Logs(commands::logs::Args),
    /// Execute a command in a running container
    Exec(commands::exec::Args),
    /// Return low-level information on containers or images
    Inspect(commands::inspect::Args),
    /// Display the running processes of a container
    Top(commands::top::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(commands::stats::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(commands::import::Args),
    /// List images
    Images(commands::images::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(commands::tag::Args),
    /// Remove one or more images
    Rmi(commands::rmi::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(commands::save::Args),
    /// Load an image from a tar archive or STDIN
    Load(commands::load::Args),
    /// Download an image from a registry
    Pull(commands::pull::Args),
    /// Upload an image to a registry
    Push(commands::push::Args),
    /// Log in to a registry
    Login(commands::login::Args),
    /// List port mappings or a specific mapping for the container
    Port(commands::port::Args),
    /// Log out from a registry
    Logout(commands::logout::Args),
    /// Build an image from a Dockerfile
    Build(commands::build::Args),
    /// Manage builds
    #[command(subcommand)]
    Builder(BuilderCommand),
    /// Show the history of an image
    History(commands::history::Args),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(commands::network::Command),
    /// Manage volumes
    #[command(subcommand)]
    Volume(commands::volume::Command),
    /// Serve the Docker Engine API (for the docker CLI, docker-compose, Docker SDKs)
    Serve(commands::serve::Args),
    /// The per-container monitor (internal)
    #[command(hide = true)]
    Shim(commands::shim::Args),
    /// One exec for `berth serve` (internal; its request comes on fd 3, see
    /// `berth_engine::exec::helper`)
    #[command(hide = true, name = "exec-helper")]
    ExecHelper(commands::exec_helper::Args),
    /// A published port's userland proxy (internal; its listening socket comes on fd 3)
    #[command(hide = true, name = "port-proxy")]
    PortProxy(commands::port_proxy::Args),
}

#[derive(Subcommand)]
enum BuilderCommand {
    /// Remove build cache
    Prune(commands::builder::PruneArgs),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build an image from a Dockerfile
    Build(commands::build::Args),
    /// Display detailed information on one or more images
    Inspect(commands::inspect::Args),
    /// List images
    #[command(alias = "list")]
    Ls(commands::images::Args),
    /// Remove one or more images
    Rm(commands::rmi::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(commands::import::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(commands::tag::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(commands::save::Args),
    /// Load an image from a tar archive or STDIN
    Load(commands::load::Args),
    /// Download an image from a registry
    Pull(commands::pull::Args),
    /// Upload an image to a registry
    Push(commands::push::Args),
    /// Show the history of an image
    History(commands::history::Args),
    /// Remove unused images
    Prune(commands::image_prune::Args),
}

#[derive(Subcommand)]
enum ContainerCommand {
    /// List containers
    #[command(alias = "list")]
    Ls(commands::ps::Args),
    /// Display detailed information on one or more containers
    Inspect(commands::inspect::Args),
    /// Remove one or more containers
    Rm(commands::rm::Args),
    /// Remove all stopped containers
    Prune(commands::container_prune::Args),
    /// Create a new image from a container's changes
    Commit(commands::commit::Args),
    /// Export a container's filesystem as a tar archive
    Export(commands::export::Args),
    /// Update configuration of one or more containers
    Update(commands::update::Args),
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Remove unused data
    Prune(commands::system_prune::Args),
    /// Show berth disk usage
    Df(commands::system_df::Args),
}

fn main() {
    berth_engine::timing::mark("cli: main");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                // Docker's CLI exits 125 on a usage error.
                _ => 125,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Command::Shim(args) => commands::shim::run(args),
        // The server opens one engine per worker thread itself.
        Command::Serve(args) => commands::serve::run(args).unwrap_or_else(|e| {
            eprintln!("Error: {e}");
            e.exit_code()
        }),
        other => match dispatch(other) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("Error: {e}");
                e.exit_code()
            }
        },
    };
    berth_engine::timing::mark("cli: exit");
    std::process::exit(code);
}

fn dispatch(command: Command) -> Result<i32, commands::CliError> {
    let engine = berth_engine::Engine::open()?;
    match command {
        Command::Run(a) => commands::run::run(&engine, a),
        Command::Create(a) => commands::create::run(&engine, a),
        Command::Attach(a) => commands::attach::run(&engine, a),
        Command::Start(a) => commands::start::run(&engine, a),
        Command::Stop(a) => commands::stop::run(&engine, a),
        Command::Kill(a) => commands::kill::run(&engine, a),
        Command::Restart(a) => commands::restart::run(&engine, a),
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => {
            commands::rm::run(&engine, a)
        }
        Command::Wait(a) => commands::wait::run(&engine, a),
        Command::Cp(a) => commands::cp::run(&engine, a),
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
            commands::commit::run(&engine, a)
        }
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
            commands::export::run(&engine, a)
        }
        Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => {
            commands::update::run(&engine, a)
        }
        Command::Pause(a) => commands::pause::run(&engine, a),
        Command::Unpause(a) => commands::unpause::run(&engine, a),
        Command::Rename(a) => commands::rename::run(&engine, a),
        Command::Events(a) => commands::events::run(&engine, a),
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => {
            commands::ps::run(&engine, a)
        }
        Command::Logs(a) => commands::logs::run(&engine, a),
        Command::Exec(a) => commands::exec::run(&engine, a),
        Command::ExecHelper(a) => commands::exec_helper::run(&engine, a),
        Command::PortProxy(a) => commands::port_proxy::run(&engine, a),
        Command::Inspect(a) | Command::Container(ContainerCommand::Inspect(a)) => {
            commands::inspect::run(&engine, a, None)
        }
        Command::Image(ImageCommand::Inspect(a)) => {
            commands::inspect::run(&engine, a, Some("image"))
        }
        Command::Top(a) => commands::top::run(&engine, a),
        Command::Stats(a) => commands::stats::run(&engine, a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            commands::import::run(&engine, a)
        }
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => {
            commands::images::run(&engine, a)
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => commands::tag::run(&engine, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => commands::rmi::run(&engine, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => commands::save::run(&engine, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => commands::load::run(&engine, a),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => commands::pull::run(&engine, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => commands::push::run(&engine, a),
        Command::Image(ImageCommand::Prune(a)) => commands::image_prune::run(&engine, a),
        Command::Login(a) => commands::login::run(&engine, a),
        Command::Build(a) | Command::Image(ImageCommand::Build(a)) => {
            commands::build::run(&engine, a)
        }
        Command::Builder(BuilderCommand::Prune(a)) => commands::builder::prune(&engine, a),
        Command::Network(c) => commands::network::run(&engine, c),
        Command::Port(a) => commands::port::run(&engine, a),
        Command::Logout(a) => commands::logout::run(&engine, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            commands::history::run(&engine, a)
        }
        Command::Container(ContainerCommand::Prune(a)) => {
            commands::container_prune::run(&engine, a)
        }
        Command::System(SystemCommand::Prune(a)) => commands::system_prune::run(&engine, a),
        Command::System(SystemCommand::Df(a)) => commands::system_df::run(&engine, a),
        Command::Volume(c) => commands::volume::run(&engine, c),
        Command::Shim(_) | Command::Serve(_) => unreachable!("handled before the engine opens"),
    }
}
