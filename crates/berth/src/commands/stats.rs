//! `berth stats [--no-stream] [-a] [CONTAINER...]`: CPU %, memory used / limit, pids.
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let names: Vec<String> = if args.containers.is_empty() {
        engine
            .list_containers(args.all)?
            .into_iter()
            .map(|r| r.id)
            .collect()
    } else {
        args.containers.clone()
    };
    let template = args.format.clone().unwrap_or_else(|| {
        "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}".into()
    });
    loop {
        // The engine samples (two readings over the same gap); this only formats.
        let mut rows = Vec::new();
        for (name, sample) in names.iter().zip(engine.stats_samples(&names)?) {
            let (rx, tx) = sample.network_io();
            rows.push(json!({
                "ID": if args.no_trunc { sample.id.clone() } else { sample.id[..12].to_string() },
                "Container": name,
                "Name": sample.name,
                "CPUPerc": format!("{:.2}%", sample.cpu_percent()),
                "MemUsage": format!("{} / {}", binary_size(sample.memory_used), binary_size(sample.memory_limit)),
                "MemPerc": format!("{:.2}%", sample.memory_percent()),
                "NetIO": format!("{} / {}", format::human_size(rx), format::human_size(tx)),
                "BlockIO": format!("{} / {}", format::human_size(sample.block_read), format::human_size(sample.block_write)),
                "PIDs": sample.pids.to_string(),
            }));
        }
        if !args.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        print!("{}", format::render(&template, &rows, HEADERS)?);
        if args.no_stream {
            return Ok(0);
        }
    }
}

/// Docker shows memory in binary units: "1.5MiB / 23.4GiB".
fn binary_size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.3}{}", units[unit]).replace(".000", "")
    }
}
