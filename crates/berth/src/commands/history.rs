//! `berth history [--no-trunc] [-q] [-H] [--format T] IMAGE`
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long = "human", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    image: String,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let history = engine.image_history(&args.image)?;
    let now = chrono::Utc::now().timestamp();
    let rows: Vec<serde_json::Value> = history
        .iter()
        .map(|h| {
            let id = if h.id == "<missing>" || args.no_trunc {
                h.id.clone()
            } else {
                let hex = h.id.strip_prefix("sha256:").unwrap_or(&h.id);
                hex[..hex.len().min(12)].to_string()
            };
            let created_at = chrono::DateTime::from_timestamp(h.created, 0)
                .map(|t| t.with_timezone(&chrono::Local).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            let created_by = h.created_by.replace('\t', " ");
            json!({
                "ID": id,
                "CreatedSince": if args.human { format!("{} ago", format::human_duration(now - h.created)) } else { created_at.clone() },
                "CreatedAt": created_at,
                "CreatedBy": if args.no_trunc { created_by } else { format::ellipsis(&created_by, 45) },
                "Size": if args.human { format::human_size(h.size) } else { h.size.to_string() },
                "Comment": h.comment,
            })
        })
        .collect();
    if args.quiet {
        for row in &rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let template = args.format.unwrap_or_else(|| {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into()
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
