//! `berth compose ps`: the project's containers (running ones; `-a` all), as a table, ids
//! (`-q`), service names (`--services`) or JSON lines (`--format json`).

use berth_compose::containers::{project_containers, service_of};
use serde_json::json;

use super::{CliError, ProjectFlags, logs};

#[derive(clap::Args)]
pub struct Args {
    /// Show all stopped containers (including those created by the run command)
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Filter services by status. Values: [paused | restarting | removing | running | dead |
    /// created | exited]
    #[arg(long)]
    pub status: Vec<String>,
    /// Format output using a custom template: 'table' (default) or 'json'
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Services to list (default: all)
    pub service: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let all = args.all || !args.status.is_empty();
    let containers: Vec<_> = project_containers(&engine, &project.name, all)?
        .into_iter()
        .filter(|c| args.service.is_empty() || args.service.iter().any(|s| s == service_of(c)))
        .filter(|c| args.status.is_empty() || args.status.iter().any(|s| s == c.state.as_str()))
        .collect();
    if args.quiet {
        for c in &containers {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    if args.services {
        let mut seen: Vec<&str> = Vec::new();
        for c in &containers {
            if !seen.contains(&service_of(c)) {
                seen.push(service_of(c));
                println!("{}", service_of(c));
            }
        }
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = containers
        .iter()
        .map(|c| {
            let summary = engine.summary(c);
            let ports = engine
                .published_ports(&c.id)
                .iter()
                .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
                .collect::<Vec<_>>()
                .join(", ");
            json!({
                "ID": c.id,
                "Name": c.name,
                "Names": c.name,
                "Image": c.image,
                "Command": summary.command,
                "Project": project.name,
                "Service": service_of(c),
                "Created": summary.created,
                "State": c.state.as_str(),
                "Status": c.status_text(),
                "Health": c.health_status().unwrap_or(""),
                "ExitCode": c.exit_code,
                "Ports": ports,
                "Labels": c.config.config.labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                "ShortName": logs::short_name(&project.name, c),
            })
        })
        .collect();
    match args.format.as_str() {
        "json" => {
            for row in &rows {
                println!("{row}");
            }
        }
        "table" => {
            let header = ["NAME", "IMAGE", "COMMAND", "SERVICE", "STATUS", "PORTS"];
            let table: Vec<[String; 6]> = rows
                .iter()
                .map(|r| {
                    let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
                    let mut command = s("Command");
                    if command.chars().count() > 20 {
                        command = command.chars().take(19).collect::<String>() + "…";
                    }
                    [
                        s("Name"),
                        s("Image"),
                        format!("\"{command}\""),
                        s("Service"),
                        s("Status"),
                        s("Ports"),
                    ]
                })
                .collect();
            let mut widths = header.map(str::len);
            for row in &table {
                for (i, cell) in row.iter().enumerate() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
            let line = |cells: Vec<&str>| {
                let mut out = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    if i + 1 == cells.len() {
                        out.push_str(cell);
                    } else {
                        out.push_str(&format!("{cell:<w$}   ", w = widths[i]));
                    }
                }
                println!("{}", out.trim_end());
            };
            line(header.to_vec());
            for row in &table {
                line(row.iter().map(String::as_str).collect());
            }
        }
        other => {
            return Err(CliError::usage(format!(
                "unsupported format {other:?}: use table or json"
            )));
        }
    }
    Ok(0)
}
