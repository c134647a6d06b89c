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

fn matches(
    engine: &berth_engine::Engine,
    filter: &str,
    v: &berth_engine::volumes::Volume,
) -> Result<bool, CliError> {
    let (key, value) = filter.split_once('=').ok_or_else(|| {
        CliError::usage(format!(
            "bad format of filter (expected name=value): {filter}"
        ))
    })?;
    Ok(match key {
        "name" => v.name.contains(value),
        "driver" => v.driver == value,
        "label" => berth_engine::volumes::label_filter_matches(value, &v.labels),
        "label!" => berth_engine::volumes::label_filter_matches(&format!("!{value}"), &v.labels),
        "dangling" => {
            let dangling = match value {
                "true" | "1" => true,
                "false" | "0" => false,
                other => {
                    return Err(CliError::usage(format!(
                        "invalid filter 'dangling={other}'"
                    )));
                }
            };
            engine.volume_users(&v.name)?.is_empty() == dangling
        }
        other => return Err(CliError::usage(format!("invalid filter '{other}'"))),
    })
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut kept = Vec::new();
    for v in engine.list_volumes()? {
        let mut ok = true;
        for f in &args.filter {
            ok &= matches(engine, f, &v)?;
        }
        if ok {
            kept.push(v);
        }
    }
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
