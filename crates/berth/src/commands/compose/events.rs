//! `berth compose events [--json] [SERVICE...]`: the project's containers' events as they
//! happen, in Compose's line or JSON shape (read from the engine's event log).

use berth_compose::labels;
use berth_engine::events::EventQuery;
use berth_engine::filters::Filters;

use super::{CliError, ProjectFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Output events as a stream of json objects
    #[arg(long)]
    pub json: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let query = EventQuery {
        since: None,
        until: None,
        filters: Filters::new()
            .with("type", "container")
            .with("label", &format!("{}={}", labels::PROJECT, project.name)),
    };
    engine.follow_events(&query, |event| {
        let Some(e) = event else {
            return true;
        };
        let service = e
            .attributes
            .get(labels::SERVICE)
            .cloned()
            .unwrap_or_default();
        if !args.services.is_empty() && !args.services.contains(&service) {
            return true;
        }
        let time = chrono::DateTime::from_timestamp_nanos(e.time_nano);
        // Compose shows the event's own attributes, not the container's labels.
        let attributes: std::collections::BTreeMap<&String, &String> = e
            .attributes
            .iter()
            .filter(|(k, _)| !k.contains('.'))
            .collect();
        let line = if args.json {
            serde_json::json!({
                "time": time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "type": e.kind,
                "action": e.action,
                "id": e.actor_id,
                "service": service,
                "attributes": attributes,
            })
            .to_string()
        } else {
            let attrs: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{} {} {} {} ({})",
                time.format("%Y-%m-%d %H:%M:%S%.6f"),
                e.kind,
                e.action,
                e.actor_id,
                attrs.join(", ")
            )
        };
        println!("{line}");
        use std::io::Write;
        std::io::stdout().flush().is_ok()
    })?;
    Ok(0)
}
