//! `berth machine ls [-q] [--format T]`: NAME ACTIVE DRIVER STATE URL ACCEL, each machine's
//! state reconciled with what is alive now.
use serde_json::json;

use crate::commands::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Only display machine names
    #[arg(short, long)]
    quiet: bool,
    /// Format output using a Go template (fields: Name Active DriverName State URL Accel
    /// CPUs Memory DiskSize)
    #[arg(short, long)]
    format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Active", "ACTIVE"),
    ("DriverName", "DRIVER"),
    ("State", "STATE"),
    ("URL", "URL"),
    ("Accel", "ACCEL"),
    ("CPUs", "CPUS"),
    ("Memory", "MEMORY"),
    ("DiskSize", "DISK"),
];

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    let all = machines.list()?;
    if args.quiet {
        for status in &all {
            println!("{}", status.machine.name());
        }
        return Ok(0);
    }
    let docker_host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let rows: Vec<serde_json::Value> = all
        .iter()
        .map(|status| {
            let running = status.state == berth_machine::State::Running;
            let config = &status.machine.config;
            json!({
                "Name": config.name,
                // docker-machine's mark for the machine DOCKER_HOST points at.
                "Active": if running && status.url == docker_host { "*" } else { "-" },
                "DriverName": config.driver,
                "State": status.state.as_str(),
                "URL": if running { status.url.as_str() } else { "" },
                "Accel": status.accelerator,
                "CPUs": config.cpus,
                "Memory": format!("{} MiB", config.memory_mib),
                "DiskSize": format::human_size(config.disk_bytes),
            })
        })
        .collect();
    let template = args.format.unwrap_or_else(|| {
        "table {{.Name}}\t{{.Active}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Accel}}".into()
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
