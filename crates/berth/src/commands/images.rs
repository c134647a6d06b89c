//! `berth images [-a] [-q] [--filter K=V]... [--format T] [--no-trunc] [REPOSITORY[:TAG]]`: the
//! engine's image list; a REPOSITORY[:TAG] argument is one more `reference` filter, as the
//! docker CLI sends it.
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Show all images
    #[arg(short, long)]
    all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    repository: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Digest", "DIGEST"),
];

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let mut filters = berth_engine::filters::Filters::parse(&args.filter)?;
    if let Some(repository) = &args.repository {
        filters.add("reference", repository);
    }
    let now = chrono::Utc::now().timestamp();
    let mut rows = Vec::new();
    for image in engine.list_images(args.all, &filters)? {
        let id_hex = image.id.strip_prefix("sha256:").unwrap_or(&image.id);
        let id = if args.no_trunc {
            image.id.clone()
        } else {
            id_hex[..12].to_string()
        };
        let names = format::repository_tag_rows(&image.repo_tags);
        for (repo, tag) in names {
            rows.push(json!({
                "Repository": repo,
                "Tag": tag,
                "ID": id,
                "CreatedSince": format!("{} ago", format::human_duration(now - image.created)),
                "CreatedAt": chrono::DateTime::from_timestamp(image.created, 0).map(|t| t.format("%Y-%m-%d %H:%M:%S %z UTC").to_string()).unwrap_or_default(),
                "Size": format::human_size(image.size),
                "Digest": "<none>",
                "Containers": image.containers,
            }));
        }
    }
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for row in &rows {
            let id = row["ID"].as_str().unwrap_or_default().to_string();
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(0);
    }
    let template = args.format.unwrap_or_else(|| {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".into()
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}
