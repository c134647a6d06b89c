//! `berth ps [-a] [-q] [--filter K=V]... [--format T] [--no-trunc] [-n N] [-l]`
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long)]
    last: Option<usize>,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("State", "STATE"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let limit = if args.latest { Some(1) } else { args.last };
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    let mut kept = engine.list_containers_filtered(args.all || limit.is_some(), &filters)?;
    if let Some(n) = limit {
        kept.truncate(n);
    }
    if args.quiet {
        for rec in &kept {
            println!(
                "{}",
                if args.no_trunc {
                    &rec.id[..]
                } else {
                    &rec.id[..12]
                }
            );
        }
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let want_size = args.size || args.format.as_deref().is_some_and(|f| f.contains(".Size"));
    let rows: Vec<serde_json::Value> = kept
        .iter()
        .map(|rec| {
            let created = chrono::DateTime::parse_from_rfc3339(&rec.created).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or(now);
            let mut command = rec.command_line();
            if !args.no_trunc && command.chars().count() > 20 {
                command = format!("{}…", command.chars().take(19).collect::<String>());
            }
            let labels: Vec<String> =
                rec.config.config.labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "ID": if args.no_trunc { rec.id.clone() } else { rec.id[..12].to_string() },
                "Image": rec.image,
                "Command": format!("\"{command}\""),
                "CreatedAt": created.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
                "RunningFor": format!("{} ago", format::human_duration((now - created).num_seconds())),
                "Ports": engine
                    .published_ports(&rec.id)
                    .iter()
                    .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
                    .collect::<Vec<_>>()
                    .join(", "),
                "Status": rec.status_text(),
                "Size": if want_size {
                    let (rw, virtual_size) = engine.container_size(rec);
                    format!("{} (virtual {})", format::human_size(rw), format::human_size(virtual_size))
                } else {
                    String::new()
                },
                "Names": rec.name,
                "Labels": labels.join(","),
                "Mounts": engine.mount_names(&rec.id).into_iter().map(|(name, _)| name).collect::<Vec<_>>().join(","),
                "Networks": match rec.config.host_config.network_mode.as_str() {
                    "" | "default" => "bridge",
                    mode => mode,
                },
                "State": rec.state.as_str(),
            })
        })
        .collect();
    let template = args.format.unwrap_or_else(|| {
        let size = if args.size { "\t{{.Size}}" } else { "" };
        format!("table {{{{.ID}}}}\t{{{{.Image}}}}\t{{{{.Command}}}}\t{{{{.RunningFor}}}}\t{{{{.Status}}}}\t{{{{.Ports}}}}\t{{{{.Names}}}}{size}")
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
