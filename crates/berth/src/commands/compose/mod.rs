//! `berth compose VERB`: the Compose Specification run by berth itself, with Docker Compose
//! v2's verbs and flags, one file per verb. Loading the project is `berth_compose`'s; the
//! verbs that change containers call its plan, which calls the engine.

pub mod attach;
pub mod build;
pub mod config;
pub mod cp;
pub mod create;
pub mod down;
pub mod events;
pub mod exec;
pub mod images;
pub mod kill;
pub mod logs;
pub mod ls;
pub mod pause;
pub mod port;
mod progress;
pub mod ps;
pub mod pull;
pub mod push;
pub mod restart;
pub mod rm;
pub mod run;
pub mod scale;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod unpause;
pub mod up;
pub mod wait;
pub mod watch;

use std::path::PathBuf;

use super::CliError;

/// The flags every compose verb takes (before the verb, as `docker compose -f x up`).
#[derive(clap::Args, Clone)]
pub struct ProjectFlags {
    /// Compose configuration files
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first Compose file)
    #[arg(long = "project-directory")]
    pub project_directory: Option<PathBuf>,
    /// Specify an alternate environment file
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile")]
    pub profile: Vec<String>,
    /// Set type of progress output (auto, tty, plain, json, quiet)
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Control when to print ANSI control characters ("never"|"always"|"auto")
    #[arg(long, default_value = "auto")]
    pub ansi: String,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse, resolve and render compose file in canonical format
    #[command(alias = "convert")]
    Config(config::Args),
    /// Create and start containers
    Up(up::Args),
    /// Stop and remove containers, networks
    Down(down::Args),
    /// List containers
    Ps(ps::Args),
    /// View output from containers
    Logs(logs::Args),
    /// Execute a command in a running container
    Exec(exec::Args),
    /// Stop services
    Stop(stop::Args),
    /// Start services
    Start(start::Args),
    /// Restart service containers
    Restart(restart::Args),
    /// Force stop service containers
    Kill(kill::Args),
    /// Pause services
    Pause(pause::Args),
    /// Unpause services
    Unpause(unpause::Args),
    /// Removes stopped service containers
    Rm(rm::Args),
    /// Print the public port for a port binding
    Port(port::Args),
    /// Display the running processes
    Top(top::Args),
    /// Run a one-off command on a service
    Run(run::Args),
    /// Build or rebuild services
    Build(build::Args),
    /// Pull service images
    Pull(pull::Args),
    /// List images used by the created containers
    Images(images::Args),
    /// List running compose projects
    Ls(ls::Args),
    /// Creates containers for a service
    Create(create::Args),
    /// Block until containers of all (or specified) services stop
    Wait(wait::Args),
    /// Scale services
    Scale(scale::Args),
    /// Copy files/folders between a service container and the local filesystem
    Cp(cp::Args),
    /// Attach local standard input, output, and error streams to a service's running container
    Attach(attach::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::Args),
    /// Receive real time events from containers
    Events(events::Args),
    /// Push service images
    Push(push::Args),
    /// Watch build context for service and rebuild/refresh containers when files are updated
    Watch(watch::Args),
}

/// Runs a compose verb; the errors are printed here with Compose's exit codes.
pub fn run(args: Args) -> i32 {
    if let Err(message) = progress::set_mode(&args.project.progress, &args.project.ansi) {
        eprintln!("{message}");
        return 1;
    }
    let result = match args.command {
        Command::Config(a) => config::run(&args.project, a),
        Command::Up(a) => up::run(&args.project, a),
        Command::Down(a) => down::run(&args.project, a),
        Command::Ps(a) => ps::run(&args.project, a),
        Command::Logs(a) => logs::run(&args.project, a),
        Command::Exec(a) => exec::run(&args.project, a),
        Command::Stop(a) => stop::run(&args.project, a),
        Command::Start(a) => start::run(&args.project, a),
        Command::Restart(a) => restart::run(&args.project, a),
        Command::Kill(a) => kill::run(&args.project, a),
        Command::Pause(a) => pause::run(&args.project, a),
        Command::Unpause(a) => unpause::run(&args.project, a),
        Command::Rm(a) => rm::run(&args.project, a),
        Command::Port(a) => port::run(&args.project, a),
        Command::Top(a) => top::run(&args.project, a),
        Command::Run(a) => run::run(&args.project, a),
        Command::Build(a) => build::run(&args.project, a),
        Command::Pull(a) => pull::run(&args.project, a),
        Command::Images(a) => images::run(&args.project, a),
        Command::Ls(a) => ls::run(a),
        Command::Create(a) => create::run(&args.project, a),
        Command::Wait(a) => wait::run(&args.project, a),
        Command::Scale(a) => scale::run(&args.project, a),
        Command::Cp(a) => cp::run(&args.project, a),
        Command::Attach(a) => attach::run(&args.project, a),
        Command::Stats(a) => stats::run(&args.project, a),
        Command::Events(a) => events::run(&args.project, a),
        Command::Push(a) => push::run(&args.project, a),
        Command::Watch(a) => watch::run(&args.project, a),
    };
    result.unwrap_or_else(|e| {
        eprintln!("{e}");
        e.code
    })
}

impl ProjectFlags {
    /// Loads the project as these flags and the process environment say; warnings are
    /// printed as Compose prints them.
    pub fn load(&self) -> Result<berth_compose::Project, CliError> {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::usage(format!("reading the working directory: {e}")))?;
        let mut opts = berth_compose::LoadOptions::from_process(cwd);
        opts.files = self.file.clone();
        opts.project_name = self.project_name.clone();
        opts.project_directory = self.project_directory.clone();
        opts.env_files = self.env_file.clone();
        opts.profiles = self.profile.clone();
        let mut warn = |message: String| eprintln!("WARN[0000] {message}");
        Ok(berth_compose::load(&opts, &mut warn)?)
    }
}

impl From<berth_compose::Error> for CliError {
    fn from(e: berth_compose::Error) -> Self {
        CliError {
            code: e.exit_code(),
            daemon: false,
            message: e.to_string(),
        }
    }
}

/// The project's containers of `services` (all services when empty), in start order
/// (`reverse`: dependents first, for stopping).
pub fn service_containers(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
    services: &[String],
    all: bool,
    reverse: bool,
) -> Result<Vec<berth_engine::containers::ContainerRecord>, CliError> {
    use berth_compose::containers::{project_containers, service_of};
    for s in services {
        if !project.services.contains_key(s) && !project.disabled.contains_key(s) {
            return Err(CliError {
                message: format!("no such service: {s}"),
                code: 1,
                daemon: false,
            });
        }
    }
    let order = berth_compose::loader::start_order(project);
    let rank = |name: &str| order.iter().position(|s| s == name).unwrap_or(usize::MAX);
    let mut found: Vec<_> = project_containers(engine, &project.name, all)?
        .into_iter()
        .filter(|c| services.is_empty() || services.iter().any(|s| s == service_of(c)))
        .collect();
    found.sort_by_key(|c| rank(service_of(c)));
    if reverse {
        found.reverse();
    }
    Ok(found)
}

/// The running container number `index` of `service` (`exec --index`, `port --index`).
pub fn running_container(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
    service: &str,
    index: u32,
) -> Result<berth_engine::containers::ContainerRecord, CliError> {
    use berth_compose::containers::number_of;
    service_containers(engine, project, &[service.to_string()], false, false)?
        .into_iter()
        .find(|c| number_of(c) == index)
        .ok_or_else(|| CliError {
            message: format!("service {service:?} is not running container #{index}"),
            code: 1,
            daemon: false,
        })
}

/// Applies one engine call to each container with Compose's two progress lines.
pub fn each(
    containers: &[berth_engine::containers::ContainerRecord],
    doing: &str,
    done: &str,
    mut action: impl FnMut(&str) -> Result<(), berth_engine::Error>,
) -> Result<i32, CliError> {
    for c in containers {
        progress::plain("Container", &c.name, doing);
        action(&c.id)?;
        progress::plain("Container", &c.name, done);
    }
    Ok(0)
}

/// One of berth's own container verbs run on containers a compose verb picked, its
/// arguments parsed by that verb's own definition (so the two cannot differ).
pub fn container_verb<A: clap::Args>(argv: &[String]) -> Result<A, CliError> {
    #[derive(clap::Parser)]
    struct Wrap<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    use clap::Parser;
    Wrap::<A>::try_parse_from(argv)
        .map(|w| w.args)
        .map_err(|e| CliError::usage(e.to_string()))
}

/// The container of replica `index` of `service`, running or not.
pub fn replica(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
    service: &str,
    index: u32,
) -> Result<berth_engine::containers::ContainerRecord, CliError> {
    service_containers(engine, project, &[service.to_string()], true, false)?
        .into_iter()
        .find(|c| berth_compose::containers::number_of(c) == index)
        .ok_or_else(|| CliError {
            message: format!("service {service:?} has no container #{index}"),
            code: 1,
            daemon: false,
        })
}
