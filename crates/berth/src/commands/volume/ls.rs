//! `berth volume ls [-q] [--filter dangling=|name=|label=|driver=] [--format T]`
use serde_json::json;

use crate::commands::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Driver", "DRIVER"),
    ("Name", "VOLUME NAME"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Scope", "SCOPE"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("CreatedAt", "CREATED AT"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    let kept = engine.list_volumes_filtered(&filters)?;
    if args.quiet {
        for v in &kept {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let mut rows = Vec::new();
    for v in &kept {
        let labels: Vec<String> = v
            .labels
            .iter()
            .map(|(k, val)| format!("{k}={val}"))
            .collect();
        rows.push(json!({
            "Driver": v.driver,
            "Name": v.name,
            "Mountpoint": engine.volume_mountpoint(&v.name),
            "Labels": labels.join(","),
            "Scope": "local",
            "Links": engine.volume_users(&v.name)?.len().to_string(),
            "Size": "N/A",
            "CreatedAt": v.created,
        }));
    }
    let template = args
        .format
        .unwrap_or_else(|| "table {{.Driver}}\t{{.Name}}".into());
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
