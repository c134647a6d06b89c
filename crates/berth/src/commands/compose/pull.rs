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

/// Pulls the images `up` needs as each service's `pull_policy` says (`--pull` over it):
/// `always` pulls, `never` and `build` do not, `missing` (the default) pulls what is absent.
/// A service built from a context is pulled only with `always`.
pub fn by_policy(
    engine: &berth_engine::Engine,
    project: &berth_compose::Project,
    policy: Option<&str>,
) -> Result<(), CliError> {
    for service in project.services.values() {
        let Some(image) = &service.image else {
            continue;
        };
        let pull = match policy.or(service.pull_policy.as_deref()) {
            Some("always") => true,
            Some("never") | Some("build") => false,
            _ => service.build.is_none() && engine.resolve_image(image).is_err(),
        };
        if pull {
            crate::commands::pull::pull_for_run(engine, image, service.platform.as_deref())?;
        }
    }
    Ok(())
}
