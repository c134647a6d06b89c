//! `berth compose cp [--index N] SERVICE:SRC DEST` (or `SRC SERVICE:DEST`): `berth cp` on the
//! service's container.

use super::{CliError, ProjectFlags, container_verb, replica};

#[derive(clap::Args)]
pub struct Args {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    pub src: String,
    pub dest: String,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    // A service operand is `SERVICE:PATH` (a path that starts with / or . is local).
    let resolve = |operand: &str| -> Result<String, CliError> {
        match operand.split_once(':') {
            Some((service, path)) if !operand.starts_with(['/', '.']) => {
                let c = replica(&engine, &project, service, args.index)?;
                Ok(format!("{}:{path}", c.name))
            }
            _ => Ok(operand.to_string()),
        }
    };
    let mut argv = vec!["cp".to_string()];
    if args.archive {
        argv.push("-a".into());
    }
    if args.follow_link {
        argv.push("-L".into());
    }
    argv.push(resolve(&args.src)?);
    argv.push(resolve(&args.dest)?);
    crate::commands::cp::run(&engine, container_verb(&argv)?)
}
