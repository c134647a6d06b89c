//! `berth search [--limit N] [--filter K=V] [--format T] [--no-trunc] TERM`: a registry's
//! repositories whose name contains TERM (see `Engine::search_images` for which registry).
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Filter output based on conditions provided
    #[arg(short, long)]
    filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    format: Option<String>,
    /// Max number of search results
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    term: String,
}

const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&args.filter)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let found = engine.search_images(&args.term, args.limit, &filters)?;
    let mark = |yes: bool| if yes { "[OK]" } else { "" };
    let rows: Vec<serde_json::Value> = found
        .iter()
        .map(|r| {
            let description = r.description.replace('\n', " ");
            json!({
                "Name": r.name,
                "Description": if args.no_trunc { description } else { format::ellipsis(&description, 45) },
                "StarCount": r.star_count.to_string(),
                "IsOfficial": mark(r.is_official),
                "IsAutomated": mark(r.is_automated),
            })
        })
        .collect();
    let template = args.format.unwrap_or_else(|| {
        "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}".into()
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
