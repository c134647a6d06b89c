//! `berth stats [--no-stream] [-a] [CONTAINER...]`: CPU %, memory used / limit, pids.
use std::time::Duration;

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
        // CPU % is the container's share of host CPU time between two samples, times the CPUs.
        let first: Vec<_> = names
            .iter()
            .map(|n| engine.stats(n))
            .collect::<Result<_, _>>()?;
        let (host0, cpus) = berth_runtime::stats::host_cpu();
        std::thread::sleep(Duration::from_millis(500));
        let (host1, _) = berth_runtime::stats::host_cpu();
        let mut rows = Vec::new();
        for (name, (rec, before)) in names.iter().zip(first) {
            let (_, after) = engine.stats(name)?;
            let cpu_delta = after.cpu_total_ns.saturating_sub(before.cpu_total_ns) as f64;
            let host_delta = host1.saturating_sub(host0) as f64;
            let cpu = if host_delta > 0.0 {
                cpu_delta / host_delta * cpus as f64 * 100.0
            } else {
                0.0
            };
            let mem_pct = if after.memory_limit > 0 {
                after.memory_used as f64 / after.memory_limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(json!({
                "ID": if args.no_trunc { rec.id.clone() } else { rec.id[..12].to_string() },
                "Container": name,
                "Name": rec.name,
                "CPUPerc": format!("{cpu:.2}%"),
                "MemUsage": format!("{} / {}", binary_size(after.memory_used), binary_size(after.memory_limit)),
                "MemPerc": format!("{mem_pct:.2}%"),
                // Only loopback until networking lands: nothing crosses the container's edge.
                "NetIO": "0B / 0B",
                "BlockIO": format!("{} / {}", crate::format::human_size(after.block_read), crate::format::human_size(after.block_write)),
                "PIDs": after.pids.to_string(),
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
