//! `berth info [--format T]` (also `berth system info`): the engine's `GET /info` document,
//! printed in the docker CLI's layout or through a Go template (`{{.Driver}}`,
//! `{{json .RegistryConfig}}`).
use serde_json::Value;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let info = engine.system_info()?;
    match args.format.as_deref() {
        Some("json") => print!("{}", format::render("{{json .}}", &[info], &[])?),
        Some(template) => print!("{}", format::render(template, &[info], &[])?),
        None => print!("{}", layout(&info)),
    }
    Ok(0)
}

/// Go's `units.BytesSize`: binary units, four significant digits (`23.54GiB`).
fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let decimals = match value {
        v if v >= 1000.0 => 0,
        v if v >= 100.0 => 1,
        v if v >= 10.0 => 2,
        _ => 3,
    };
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", UNITS[unit])
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

/// The docker CLI's `info` text for a server document.
fn layout(info: &Value) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line("Client:".into());
    line(format!(
        " Version:    {}",
        berth_engine::system_info::VERSION
    ));
    line(" Context:    default".into());
    line(" Debug Mode: false".into());
    line(String::new());
    line("Server:".into());
    line(format!(" Containers: {}", text(&info["Containers"])));
    line(format!("  Running: {}", text(&info["ContainersRunning"])));
    line(format!("  Paused: {}", text(&info["ContainersPaused"])));
    line(format!("  Stopped: {}", text(&info["ContainersStopped"])));
    line(format!(" Images: {}", text(&info["Images"])));
    line(format!(" Server Version: {}", text(&info["ServerVersion"])));
    line(format!(" Storage Driver: {}", text(&info["Driver"])));
    for pair in info["DriverStatus"].as_array().into_iter().flatten() {
        line(format!("  {}: {}", text(&pair[0]), text(&pair[1])));
    }
    line(format!(" Logging Driver: {}", text(&info["LoggingDriver"])));
    line(format!(" Cgroup Driver: {}", text(&info["CgroupDriver"])));
    line(format!(" Cgroup Version: {}", text(&info["CgroupVersion"])));
    line(" Plugins:".into());
    for kind in ["Volume", "Network", "Log"] {
        line(format!(
            "  {kind}: {}",
            list(&info["Plugins"][kind]).join(" ")
        ));
    }
    line(format!(
        " Swarm: {}",
        text(&info["Swarm"]["LocalNodeState"])
    ));
    let mut runtimes: Vec<&String> = info["Runtimes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    runtimes.sort();
    line(format!(
        " Runtimes: {}",
        runtimes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    line(format!(
        " Default Runtime: {}",
        text(&info["DefaultRuntime"])
    ));
    let accelerator = &info["BerthVmAccelerator"];
    if accelerator.is_object() {
        let reason = text(&accelerator["Reason"]);
        line(format!(
            " VM accelerator: {}{}",
            text(&accelerator["Name"]),
            if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            }
        ));
    }
    line(format!(" Init Binary: {}", text(&info["InitBinary"])));
    line(format!(
        " containerd version: {}",
        text(&info["ContainerdCommit"]["ID"])
    ));
    line(format!(
        " runc version: {}",
        text(&info["RuncCommit"]["ID"])
    ));
    line(format!(
        " init version: {}",
        text(&info["InitCommit"]["ID"])
    ));
    let options = list(&info["SecurityOptions"]);
    if !options.is_empty() {
        line(" Security Options:".into());
        for option in options {
            for (i, part) in option.split(',').enumerate() {
                let (key, value) = part.split_once('=').unwrap_or(("", part));
                if i == 0 {
                    line(format!("  {value}"));
                } else {
                    let mut key = key.to_string();
                    if let Some(first) = key.get(..1) {
                        key = first.to_uppercase() + &key[1..];
                    }
                    line(format!("   {key}: {value}"));
                }
            }
        }
    }
    line(format!(" Kernel Version: {}", text(&info["KernelVersion"])));
    line(format!(
        " Operating System: {}",
        text(&info["OperatingSystem"])
    ));
    line(format!(" OSType: {}", text(&info["OSType"])));
    line(format!(" Architecture: {}", text(&info["Architecture"])));
    line(format!(" CPUs: {}", text(&info["NCPU"])));
    line(format!(
        " Total Memory: {}",
        bytes_size(info["MemTotal"].as_u64().unwrap_or(0))
    ));
    line(format!(" Name: {}", text(&info["Name"])));
    line(format!(" ID: {}", text(&info["ID"])));
    line(format!(
        " Docker Root Dir: {}",
        text(&info["DockerRootDir"])
    ));
    line(" Debug Mode: false".into());
    line(format!(
        " Experimental: {}",
        text(&info["ExperimentalBuild"])
    ));
    let registry = &info["RegistryConfig"];
    let insecure_names: Vec<String> = registry["IndexConfigs"]
        .as_object()
        .map(|m| {
            m.values()
                .filter(|c| c["Secure"] == Value::Bool(false))
                .map(|c| text(&c["Name"]))
                .collect()
        })
        .unwrap_or_default();
    let cidrs = list(&registry["InsecureRegistryCIDRs"]);
    if !insecure_names.is_empty() || !cidrs.is_empty() {
        line(" Insecure Registries:".into());
        for name in insecure_names.iter().chain(&cidrs) {
            line(format!("  {name}"));
        }
    }
    let mirrors = list(&registry["Mirrors"]);
    if !mirrors.is_empty() {
        line(" Registry Mirrors:".into());
        for mirror in mirrors {
            line(format!("  {mirror}"));
        }
    }
    line(format!(
        " Live Restore Enabled: {}",
        text(&info["LiveRestoreEnabled"])
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(super::bytes_size(25_275_000_000), "23.54GiB");
        assert_eq!(super::bytes_size(512), "512B");
        assert_eq!(super::bytes_size(1536), "1.5KiB");
    }
}
