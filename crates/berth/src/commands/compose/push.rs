//! `berth compose push [SERVICE...]`: pushes the images of the services that name one
//! (`image:`), through `berth push`.

use super::{CliError, ProjectFlags, container_verb};

#[derive(clap::Args)]
pub struct Args {
    /// Push what it can and ignores images with push failures
    #[arg(long)]
    pub ignore_push_failures: bool,
    /// Push without printing progress information
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
        let mut argv = vec!["push".to_string()];
        if args.quiet {
            argv.push("-q".into());
        }
        argv.push(image.clone());
        match crate::commands::push::run(&engine, container_verb(&argv)?) {
            Ok(_) => {}
            Err(e) if args.ignore_push_failures => eprintln!("WARN[0000] {name}: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}
