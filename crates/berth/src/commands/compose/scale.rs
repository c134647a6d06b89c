//! `berth compose scale SERVICE=N...`: sets how many containers the services run.

use std::collections::BTreeMap;

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    #[arg(required = true, value_name = "SERVICE=REPLICAS")]
    pub scales: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let mut project = flags.load()?;
    let mut scale = BTreeMap::new();
    for s in &args.scales {
        let (name, n) = s
            .split_once('=')
            .and_then(|(k, v)| Some((k.to_string(), v.parse::<u32>().ok()?)))
            .ok_or_else(|| CliError::usage(format!("invalid scale {s:?}: use SERVICE=NUM")))?;
        scale.insert(name, n);
    }
    let names: Vec<String> = scale.keys().cloned().collect();
    super::up::only(&mut project, &names, args.no_deps)?;
    let opts = berth_compose::up::UpOptions {
        scale,
        ..Default::default()
    };
    let engine = berth_engine::Engine::open()?;
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
