//! `berth logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER`
use std::io::Write;

use berth_engine::logs::{LogOptions, Stream};

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Number of lines to show from the end of the logs ("all")
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    container: String,
}

/// Docker's time arguments: RFC 3339, a unix timestamp, or a duration ago ("10m", "1h30m", "5s").
pub fn parse_time(value: &str) -> Result<f64, CliError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp() as f64 + t.timestamp_subsec_nanos() as f64 / 1e9);
    }
    if let Ok(t) = value.parse::<f64>() {
        return Ok(t);
    }
    let mut total = 0f64;
    let mut number = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let n: f64 = number
            .parse()
            .map_err(|_| CliError::usage(format!("invalid value for \"since\": {value}")))?;
        number.clear();
        total += n * match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => {
                return Err(CliError::usage(format!(
                    "invalid value for \"since\": {value}"
                )));
            }
        };
    }
    if !number.is_empty() {
        return Err(CliError::usage(format!(
            "invalid value for \"since\": {value}"
        )));
    }
    let now = chrono::Utc::now();
    Ok(now.timestamp() as f64 + now.timestamp_subsec_nanos() as f64 / 1e9 - total)
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| CliError::usage(format!("invalid value for \"tail\": {n}")))?,
        ),
    };
    let options = LogOptions {
        follow: args.follow,
        tail,
        timestamps: args.timestamps,
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        stdout: true,
        stderr: true,
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    engine.logs(&args.container, &options, &mut |line| {
        let result = match line.stream {
            Stream::Stdout => {
                let mut out = stdout.lock();
                write_line(&mut out, &line, args.timestamps)
            }
            Stream::Stderr => {
                let mut err = stderr.lock();
                write_line(&mut err, &line, args.timestamps)
            }
        };
        result.is_ok()
    })?;
    Ok(0)
}

fn write_line(
    out: &mut dyn Write,
    line: &berth_engine::logs::LogLine,
    timestamps: bool,
) -> std::io::Result<()> {
    if timestamps {
        write!(out, "{} ", line.time)?;
    }
    out.write_all(&line.text)?;
    out.flush()
}
