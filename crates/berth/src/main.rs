//! berth: a Docker-compatible container engine in one binary. This crate is the thin front end:
//! the command line (one file per verb under `commands/`, each calling one engine function) and
//! the hidden `berth shim` and `berth exec-helper` entry points. It must not touch files under
//! the state root itself.

mod commands;
mod format;
mod progress;
mod run_flags;
mod terminal;

use clap::{CommandFactory, Parser, Subcommand};

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

/// The top level: Docker's short forms (`berth run`, `berth images`) beside the management
/// commands (`berth container run`, `berth image ls`). A verb that exists in both forms is one
/// variant of [`ContainerVerb`] or [`ImageVerb`], flattened into both places, so the two forms
/// cannot drift apart.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    ContainerVerb(ContainerVerb),
    #[command(flatten)]
    ImageVerb(ImageVerb),
    /// Get real time events from the server
    Events(commands::events::Args),
    /// List containers
    Ps(commands::ps::Args),
    /// Return low-level information on containers or images
    Inspect(commands::inspect::Args),
    /// List images
    Images(commands::images::Args),
    /// Remove one or more images
    Rmi(commands::rmi::Args),
    /// Log in to a registry
    Login(commands::login::Args),
    /// Log out from a registry
    Logout(commands::logout::Args),
    /// Manage builds
    #[command(subcommand)]
    Builder(BuilderCommand),
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
    /// Generate the autocompletion script for the specified shell
    Completion(commands::completion::Args),
    /// Display system-wide information
    Info(commands::info::Args),
    /// Show the berth version information
    Version(commands::version::Args),
    /// Search a registry for images
    Search(commands::search::Args),
    /// Manage image manifests and manifest lists
    #[command(subcommand)]
    Manifest(commands::manifest::Command),
    /// Serve the Docker Engine API (for the docker CLI, docker-compose, Docker SDKs)
    Serve(commands::serve::Args),
    /// Manage machines: Docker hosts in VMs (docker-machine's verbs)
    #[command(subcommand)]
    Machine(commands::machine::Command),
    /// Define and run multi-container applications (the Compose Specification)
    Compose(commands::compose::Args),
    /// Kubernetes on berth: play YAML without a server (podman's `kube play` and `kube down`),
    /// kubeconfigs for `berth serve --kube`
    #[command(subcommand)]
    Kube(commands::kube::Command),
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
    /// A micro-VM's guest agent, its PID 1 (internal; refuses to run anywhere else)
    #[command(hide = true, name = "vm-agent")]
    VmAgent(commands::vm_agent::Args),
    /// The boot-time floor of a micro-VM, for the benchmark (internal)
    #[command(hide = true, name = "vm-floor")]
    VmFloor(commands::vm_floor::Args),
    /// A `--vm` container's init on the host: boots its guest and relays it (internal)
    #[command(hide = true, name = "vm-relay")]
    VmRelay(commands::vm_relay::Args),
    /// One exec in a `--vm` container, through its relay (internal)
    #[command(hide = true, name = "vm-exec")]
    VmExec(commands::vm_exec::Args),
    /// A pod's infra process, holding its namespaces (internal; runs in the pod's sandbox)
    #[command(hide = true, name = "pod-infra")]
    PodInfra(commands::pod_infra::Args),
}

/// The container verbs that are both `berth VERB` and `berth container VERB`.
#[derive(Subcommand)]
enum ContainerVerb {
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
    #[command(alias = "remove")]
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
    /// Fetch the logs of a container
    Logs(commands::logs::Args),
    /// Execute a command in a running container
    Exec(commands::exec::Args),
    /// Display the running processes of a container
    Top(commands::top::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(commands::stats::Args),
    /// List port mappings or a specific mapping for the container
    Port(commands::port::Args),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(commands::diff::Args),
}

/// The image verbs that are both `berth VERB` and `berth image VERB`.
#[derive(Subcommand)]
enum ImageVerb {
    /// Build an image from a Dockerfile
    Build(commands::build::Args),
    /// Show the history of an image
    History(commands::history::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(commands::import::Args),
    /// Load an image from a tar archive or STDIN
    Load(commands::load::Args),
    /// Download an image from a registry
    Pull(commands::pull::Args),
    /// Upload an image to a registry
    Push(commands::push::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(commands::save::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(commands::tag::Args),
}

#[derive(Subcommand)]
enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(commands::build::Args),
    /// Remove build cache
    Prune(commands::builder::PruneArgs),
}

#[derive(Subcommand)]
enum ImageCommand {
    #[command(flatten)]
    Verb(ImageVerb),
    /// Display detailed information on one or more images
    Inspect(commands::inspect::Args),
    /// List images
    #[command(visible_alias = "list", alias = "images")]
    Ls(commands::images::Args),
    /// Remove one or more images
    #[command(visible_alias = "remove", alias = "rmi")]
    Rm(commands::rmi::Args),
    /// Remove unused images
    Prune(commands::image_prune::Args),
}

// Parsed once per process: the size of the enum does not matter, boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ContainerCommand {
    #[command(flatten)]
    Verb(ContainerVerb),
    /// List containers
    #[command(visible_alias = "list", alias = "ps")]
    Ls(commands::ps::Args),
    /// Display detailed information on one or more containers
    Inspect(commands::inspect::Args),
    /// Remove all stopped containers
    Prune(commands::container_prune::Args),
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Get real time events from the server
    Events(commands::events::Args),
    /// Remove unused data
    Prune(commands::system_prune::Args),
    /// Show berth disk usage
    Df(commands::system_df::Args),
    /// Display system-wide information
    Info(commands::info::Args),
}

fn main() {
    // In a micro-VM's initramfs this binary is `/init`: PID 1 started as "/init" is the guest
    // agent, whatever its arguments (the kernel passes its unknown boot parameters as argv).
    if berth_vm::agent::is_guest_init() {
        std::process::exit(berth_vm::agent::main());
    }
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
        Command::VmAgent(args) => commands::vm_agent::run(args),
        Command::VmRelay(args) => commands::vm_relay::run(args),
        Command::VmExec(args) => commands::vm_exec::run(args),
        // Inside a pod's sandbox: no state root there.
        Command::PodInfra(args) => commands::pod_infra::run(args),
        Command::Completion(args) => commands::completion::run(Cli::command(), args),
        // The server opens one engine per worker thread itself.
        Command::Serve(args) => commands::serve::run(args).unwrap_or_else(|e| {
            eprintln!("Error: {e}");
            e.exit_code()
        }),
        // A machine's engine is inside it: the host's engine is not opened.
        Command::Machine(command) => commands::machine::run(command).unwrap_or_else(|e| {
            eprintln!("Error: {e}");
            e.exit_code()
        }),
        other => match commands::machine::forward::target() {
            // `eval $(berth machine env m1)`: the command runs in the machine.
            Ok(Some((machines, name))) => match other.reads_files_here() {
                None => commands::machine::forward::run(
                    &machines,
                    &name,
                    std::env::args().skip(1).collect(),
                )
                .unwrap_or_else(|e| {
                    eprintln!("Error: {e}");
                    e.exit_code()
                }),
                Some(what) => {
                    eprintln!(
                        "Error: DOCKER_HOST points at machine {name:?}, and {what}; \
                         unset it (eval $(berth machine env -u)) to use this host's engine"
                    );
                    1
                }
            },
            Ok(None) => run_here(other),
            Err(e) => {
                eprintln!("Error: {e}");
                e.exit_code()
            }
        },
    };
    berth_engine::timing::mark("cli: exit");
    std::process::exit(code);
}

/// An engine command against this host's engine.
fn run_here(command: Command) -> i32 {
    match command {
        // Compose opens the engine only for the verbs that need it, and has its own exit codes.
        Command::Compose(args) => commands::compose::run(args),
        other => {
            let daemon_is_125 = other.reports_engine_errors_as_125();
            match dispatch(other) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("Error: {e}");
                    e.exit_code_for(daemon_is_125)
                }
            }
        }
    }
}

impl Command {
    /// What the command would read from this host's files, which the berth in a machine cannot
    /// see: a build context directory, compose files, Kubernetes YAML.
    fn reads_files_here(&self) -> Option<&'static str> {
        match self {
            Command::Builder(BuilderCommand::Build(a))
            | Command::ImageVerb(ImageVerb::Build(a))
            | Command::Image(ImageCommand::Verb(ImageVerb::Build(a)))
                if a.context_is_a_directory() =>
            {
                Some(
                    "the build context is a directory on this host: send it as a tar, `tar -C DIR -c . | berth build -t NAME -`",
                )
            }
            Command::Compose(_) => Some("berth compose reads its files on this host"),
            Command::Kube(_) => Some("berth kube reads its YAML on this host"),
            _ => None,
        }
    }

    /// `run` and `create` exit 125 when the engine refuses (the docker CLI's rule: their own
    /// exit code is the container's); every other command exits 1.
    fn reports_engine_errors_as_125(&self) -> bool {
        let verb = match self {
            Command::ContainerVerb(verb) | Command::Container(ContainerCommand::Verb(verb)) => verb,
            _ => return false,
        };
        matches!(verb, ContainerVerb::Run(_) | ContainerVerb::Create(_))
    }
}

fn dispatch(command: Command) -> Result<i32, commands::CliError> {
    let engine = berth_engine::Engine::open()?;
    match command {
        Command::ContainerVerb(verb) | Command::Container(ContainerCommand::Verb(verb)) => {
            container_verb(&engine, verb)
        }
        Command::ImageVerb(verb) | Command::Image(ImageCommand::Verb(verb)) => {
            image_verb(&engine, verb)
        }
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => {
            commands::events::run(&engine, a)
        }
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => {
            commands::ps::run(&engine, a)
        }
        Command::ExecHelper(a) => commands::exec_helper::run(&engine, a),
        Command::PortProxy(a) => commands::port_proxy::run(&engine, a),
        Command::VmFloor(a) => commands::vm_floor::run(&engine, a),
        Command::Inspect(a) => commands::inspect::run(&engine, a, None),
        Command::Container(ContainerCommand::Inspect(a)) => {
            commands::inspect::run(&engine, a, Some("container"))
        }
        Command::Image(ImageCommand::Inspect(a)) => {
            commands::inspect::run(&engine, a, Some("image"))
        }
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => {
            commands::images::run(&engine, a)
        }
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => commands::rmi::run(&engine, a),
        Command::Image(ImageCommand::Prune(a)) => commands::image_prune::run(&engine, a),
        Command::Login(a) => commands::login::run(&engine, a),
        Command::Logout(a) => commands::logout::run(&engine, a),
        Command::Builder(BuilderCommand::Build(a)) => commands::build::run(&engine, a),
        Command::Builder(BuilderCommand::Prune(a)) => commands::builder::prune(&engine, a),
        Command::Network(c) => commands::network::run(&engine, c),
        Command::Container(ContainerCommand::Prune(a)) => {
            commands::container_prune::run(&engine, a)
        }
        Command::System(SystemCommand::Prune(a)) => commands::system_prune::run(&engine, a),
        Command::System(SystemCommand::Df(a)) => commands::system_df::run(&engine, a),
        Command::Volume(c) => commands::volume::run(&engine, c),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
            commands::info::run(&engine, a)
        }
        Command::Version(a) => commands::version::run(a),
        Command::Search(a) => commands::search::run(&engine, a),
        Command::Manifest(c) => commands::manifest::run(&engine, c),
        Command::Kube(c) => commands::kube::run(engine, c),
        Command::Shim(_)
        | Command::VmAgent(_)
        | Command::VmRelay(_)
        | Command::VmExec(_)
        | Command::PodInfra(_)
        | Command::Serve(_)
        | Command::Completion(_)
        | Command::Machine(_)
        | Command::Compose(_) => {
            unreachable!("handled before the engine opens")
        }
    }
}

fn container_verb(
    engine: &berth_engine::Engine,
    verb: ContainerVerb,
) -> Result<i32, commands::CliError> {
    match verb {
        ContainerVerb::Run(a) => commands::run::run(engine, a),
        ContainerVerb::Attach(a) => commands::attach::run(engine, a),
        ContainerVerb::Create(a) => commands::create::run(engine, a),
        ContainerVerb::Start(a) => commands::start::run(engine, a),
        ContainerVerb::Stop(a) => commands::stop::run(engine, a),
        ContainerVerb::Kill(a) => commands::kill::run(engine, a),
        ContainerVerb::Restart(a) => commands::restart::run(engine, a),
        ContainerVerb::Rm(a) => commands::rm::run(engine, a),
        ContainerVerb::Wait(a) => commands::wait::run(engine, a),
        ContainerVerb::Cp(a) => commands::cp::run(engine, a),
        ContainerVerb::Commit(a) => commands::commit::run(engine, a),
        ContainerVerb::Export(a) => commands::export::run(engine, a),
        ContainerVerb::Update(a) => commands::update::run(engine, a),
        ContainerVerb::Pause(a) => commands::pause::run(engine, a),
        ContainerVerb::Unpause(a) => commands::unpause::run(engine, a),
        ContainerVerb::Rename(a) => commands::rename::run(engine, a),
        ContainerVerb::Logs(a) => commands::logs::run(engine, a),
        ContainerVerb::Exec(a) => commands::exec::run(engine, a),
        ContainerVerb::Top(a) => commands::top::run(engine, a),
        ContainerVerb::Stats(a) => commands::stats::run(engine, a),
        ContainerVerb::Port(a) => commands::port::run(engine, a),
        ContainerVerb::Diff(a) => commands::diff::run(engine, a),
    }
}

fn image_verb(engine: &berth_engine::Engine, verb: ImageVerb) -> Result<i32, commands::CliError> {
    match verb {
        ImageVerb::Build(a) => commands::build::run(engine, a),
        ImageVerb::History(a) => commands::history::run(engine, a),
        ImageVerb::Import(a) => commands::import::run(engine, a),
        ImageVerb::Load(a) => commands::load::run(engine, a),
        ImageVerb::Pull(a) => commands::pull::run(engine, a),
        ImageVerb::Push(a) => commands::push::run(engine, a),
        ImageVerb::Save(a) => commands::save::run(engine, a),
        ImageVerb::Tag(a) => commands::tag::run(engine, a),
    }
}
