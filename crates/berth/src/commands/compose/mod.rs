//! `berth compose VERB`: the Compose Specification run by berth itself, with Docker Compose
//! v2's verbs and flags, one file per verb. Loading the project is `berth_compose`'s; the
//! verbs that change containers call its plan, which calls the engine.

pub mod config;
pub mod down;
pub mod logs;
mod progress;
pub mod ps;
pub mod up;

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
}

/// Runs a compose verb; the errors are printed here with Compose's exit codes.
pub fn run(args: Args) -> i32 {
    let result = match args.command {
        Command::Config(a) => config::run(&args.project, a),
        Command::Up(a) => up::run(&args.project, a),
        Command::Down(a) => down::run(&args.project, a),
        Command::Ps(a) => ps::run(&args.project, a),
        Command::Logs(a) => logs::run(&args.project, a),
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
