//! `berth events [--since] [--until] [--filter] [--format]`: the engine's event log, followed
//! live (the same engine function `GET /events` streams from).
use std::io::Write;

use berth_engine::events::{Event, EventQuery, parse_time};

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
    /// Filter output based on conditions provided (e.g. "type=container", "event=start")
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template ("json" for one JSON object a line)
    #[arg(long)]
    format: Option<String>,
}

/// Docker's default line: `TIME TYPE ACTION ID (k=v, ...)`.
fn default_line(event: &Event) -> String {
    let time = chrono::DateTime::from_timestamp_nanos(event.time_nano)
        .with_timezone(&chrono::Local)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let attributes: Vec<String> = event
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut line = format!("{time} {} {} {}", event.kind, event.action, event.actor_id);
    if !attributes.is_empty() {
        line.push_str(&format!(" ({})", attributes.join(", ")));
    }
    line.push('\n');
    line
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)?;
    let query = EventQuery {
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        filters,
    };
    let mut failure = None;
    let mut stdout = std::io::stdout().lock();
    engine.follow_events(&query, |event| {
        let Some(event) = event else { return true };
        let text = match &args.format {
            None => default_line(event),
            Some(template) => match format::render(template, &[event.to_json()], &[]) {
                Ok(text) => text,
                Err(e) => {
                    failure = Some(CliError::usage(e.to_string()));
                    return false;
                }
            },
        };
        // A closed pipe ends the follower.
        stdout.write_all(text.as_bytes()).is_ok() && stdout.flush().is_ok()
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
