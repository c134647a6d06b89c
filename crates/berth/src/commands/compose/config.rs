//! `berth compose config`: the project, loaded, interpolated and merged, in Compose's
//! canonical form (YAML or `--format json`), or only its services' or volumes' names.

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Format the output. Values: [yaml | json]
    #[arg(long, default_value = "yaml")]
    pub format: String,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the service config hash, one per line ("*" for every service, or a
    /// comma-separated list)
    #[arg(long)]
    pub hash: Option<String>,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
    /// Save to file (default to stdout)
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    if args.quiet {
        return Ok(0);
    }
    let text = if let Some(wanted) = &args.hash {
        let names: Vec<&str> = wanted.split(',').map(str::trim).collect();
        let mut out = String::new();
        for (name, service) in &project.services {
            if names.contains(&"*") || names.contains(&name.as_str()) {
                let hash = berth_compose::request::config_hash(service);
                out.push_str(&format!("{name} {hash}\n"));
            }
        }
        out
    } else if args.services {
        lines(project.services.keys())
    } else if args.volumes {
        lines(project.volumes.keys())
    } else if args.profiles {
        let mut all: Vec<&String> = project
            .services
            .values()
            .chain(project.disabled.values())
            .flat_map(|s| &s.profiles)
            .collect();
        all.sort();
        all.dedup();
        lines(all.into_iter())
    } else {
        match args.format.as_str() {
            "json" => berth_compose::canonical::to_json(&project)? + "\n",
            "yaml" => berth_compose::canonical::to_yaml(&project)?,
            other => {
                return Err(CliError::usage(format!(
                    "unsupported format {other:?}: use yaml or json"
                )));
            }
        }
    };
    match args.output {
        Some(path) => std::fs::write(&path, text)
            .map_err(|e| CliError::usage(format!("writing {}: {e}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(0)
}

fn lines<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(|n| format!("{n}\n")).collect()
}
