//! `berth compose pull [SERVICE...]`: pulls the services' images (those built from a
//! context are skipped, as Compose does), through the same pull as `berth pull`.

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Ignore images that can be built
    #[arg(long)]
    pub ignore_buildable: bool,
    /// Pull what it can and ignores images with pull failures
    #[arg(long)]
    pub ignore_pull_failures: bool,
    /// Pull without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    for (name, service) in &project.services {
        if !args.services.is_empty() && !args.services.contains(name) {
            continue;
        }
        let Some(image) = &service.image else {
            continue;
        };
        if service.build.is_some() && engine.resolve_image(image).is_ok() {
            continue;
        }
        match crate::commands::pull::pull_for_run(&engine, image, None) {
            Ok(()) => {}
            Err(e) if args.ignore_pull_failures => eprintln!("WARN[0000] {name}: {e}"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(0)
}

/// Pulls the images `up` needs and does not have (Compose's default `pull_policy: missing`).
pub fn missing(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
) -> Result<(), CliError> {
    for service in project.services.values() {
        if let Some(image) = &service.image
            && service.build.is_none()
            && engine.resolve_image(image).is_err()
        {
            crate::commands::pull::pull_for_run(engine, image, None)?;
        }
    }
    Ok(())
}
