//! `berth compose wait SERVICE...`: blocks until the services' containers stop; the exit
//! code is the first container's.

use super::{CliError, ProjectFlags, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// Drops project when the first container stops
    #[arg(long)]
    pub down_project: bool,
    #[arg(required = true)]
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let mut first = None;
    for c in service_containers(&engine, &project, &args.services, true, false)? {
        let code = engine.wait_container(&c.id)?;
        println!("{code}");
        first.get_or_insert(code as i32);
        if args.down_project {
            let opts = berth_compose::down::DownOptions::default();
            berth_compose::down::down(&engine, &project, &opts, &mut super::progress::plain)?;
            break;
        }
    }
    Ok(first.unwrap_or(0))
}
