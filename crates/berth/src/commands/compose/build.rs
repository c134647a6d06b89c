//! `berth compose build [--no-cache] [SERVICE...]`: builds the services' images through the
//! engine's builder, tagged `image` or `PROJECT-SERVICE`.

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Don't print anything to STDOUT
    #[arg(short, long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    for s in &args.services {
        berth_compose::loader::enable(&mut project, s);
        project.service(s)?;
    }
    let engine = berth_engine::Engine::open()?;
    let quiet = args.quiet;
    let progress = move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    for name in berth_compose::loader::start_order(&project) {
        let wanted = args.services.is_empty() || args.services.contains(&name);
        if !wanted || project.services[&name].build.is_none() {
            continue;
        }
        berth_compose::build::build_service(&engine, &project, &name, args.no_cache, &progress)?;
    }
    Ok(0)
}
