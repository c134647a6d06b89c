//! `berth compose logs [SERVICE...]`: the project's containers' logs, each line prefixed with
//! its container's short name (`web-1  | `); `-f` follows them all at once.

use std::io::Write;
use std::sync::{Arc, Mutex};

use berth_compose::containers::{project_containers, service_of};
use berth_engine::containers::ContainerRecord;
use berth_engine::logs::LogOptions;

use super::{CliError, ProjectFlags, progress};

#[derive(clap::Args)]
pub struct Args {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42
    /// minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42
    /// minutes)
    #[arg(long)]
    pub until: Option<String>,
    /// Don't print prefix in logs
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers: Vec<ContainerRecord> = project_containers(&engine, &project.name, true)
        .map_err(CliError::from)?
        .into_iter()
        .filter(|c| args.services.is_empty() || args.services.iter().any(|s| s == service_of(c)))
        .collect();
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .map_err(|_| CliError::usage(format!("invalid tail value {n:?}")))?,
        ),
    };
    let options = LogOptions {
        follow: args.follow,
        tail,
        timestamps: args.timestamps,
        since: args
            .since
            .as_deref()
            .map(crate::commands::logs::parse_time)
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(crate::commands::logs::parse_time)
            .transpose()?,
        stdout: true,
        stderr: true,
    };
    let colour = !args.no_color && progress::colour(&flags.ansi);
    stream(
        &project.name,
        &containers,
        options,
        !args.no_log_prefix,
        colour,
    )
    .into_iter()
    .for_each(|t| {
        let _ = t.join();
    });
    Ok(0)
}

/// A container's name without the project: `web-1`.
pub fn short_name(project: &str, c: &ContainerRecord) -> String {
    c.name
        .strip_prefix(&format!("{project}-"))
        .unwrap_or(&c.name)
        .to_string()
}

/// Streams every container's log on its own thread (each with its own engine handle: the
/// engine is not shared across threads), whole lines at a time; returns the threads.
pub fn stream(
    project: &str,
    containers: &[ContainerRecord],
    options: LogOptions,
    prefix: bool,
    colour: bool,
) -> Vec<std::thread::JoinHandle<()>> {
    let names: Vec<String> = containers.iter().map(|c| short_name(project, c)).collect();
    let prefixes = progress::prefixes(&names, colour);
    let out = Arc::new(Mutex::new(()));
    containers
        .iter()
        .zip(prefixes)
        .map(|(c, p)| {
            let id = c.id.clone();
            let out = out.clone();
            let options = options.clone();
            let p = if prefix { p } else { String::new() };
            std::thread::spawn(move || {
                let Ok(engine) = berth_engine::Engine::open() else {
                    return;
                };
                let mut partial: Vec<u8> = Vec::new();
                let _ = engine.logs(&id, &options, &mut |line| {
                    partial.extend_from_slice(&line.text);
                    while let Some(end) = partial.iter().position(|b| *b == b'\n') {
                        let rest = partial.split_off(end + 1);
                        let _guard = out.lock();
                        let mut o = std::io::stdout().lock();
                        let stamp = if options.timestamps {
                            format!("{} ", line.time)
                        } else {
                            String::new()
                        };
                        let _ = o.write_all(p.as_bytes());
                        let _ = o.write_all(stamp.as_bytes());
                        let _ = o.write_all(&partial);
                        let _ = o.flush();
                        partial = rest;
                    }
                    true
                });
                if !partial.is_empty() {
                    let _guard = out.lock();
                    let mut o = std::io::stdout().lock();
                    let _ = o.write_all(p.as_bytes());
                    let _ = o.write_all(&partial);
                    let _ = o.write_all(b"\n");
                }
            })
        })
        .collect()
}
