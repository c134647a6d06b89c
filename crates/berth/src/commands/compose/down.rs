//! `berth compose down`: stop and remove the project's containers and networks (`-v`: its
//! volumes too; `--remove-orphans`: containers of services no longer in the file).

use berth_compose::down::DownOptions;

use super::{CliError, ProjectFlags, progress};

#[derive(clap::Args)]
pub struct Args {
    /// Remove named volumes declared in the "volumes" section of the Compose file and
    /// anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<i64>,
    /// Remove images used by services. "local" remove only images that don't have a
    /// custom tag ("local"|"all")
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let opts = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
        timeout: args.timeout,
        rmi: args.rmi,
    };
    berth_compose::down::down(&engine, &project, &opts, &mut progress::plain)?;
    Ok(0)
}
