//! `berth compose create [SERVICE...]`: creates the services' containers (and the
//! project's networks and volumes) without starting them: `up --no-start`.

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long)]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long, conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long, conflicts_with = "build")]
    pub no_build: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    super::up::only(&mut project, &args.services, false)?;
    let opts = berth_compose::up::UpOptions {
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans: args.remove_orphans,
        no_start: true,
        build: args.build,
        no_build: args.no_build,
        ..Default::default()
    };
    let engine = berth_engine::Engine::open()?;
    super::pull::by_policy(&engine, &project, None)?;
    let mut warn = |m: String| eprintln!("WARN[0000] {m}");
    berth_compose::up::up(
        &engine,
        &project,
        &opts,
        &mut super::progress::plain,
        &mut warn,
    )?;
    Ok(0)
}
