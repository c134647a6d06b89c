//! `berth compose images [SERVICE...]`: the images the project's containers run.

use berth_compose::containers::service_of;

use super::{CliError, ProjectFlags, service_containers};

#[derive(clap::Args)]
pub struct Args {
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table")]
    pub format: String,
    pub services: Vec<String>,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let containers = service_containers(&engine, &project, &args.services, true, false)?;
    if args.quiet {
        let mut seen = Vec::new();
        for c in &containers {
            if !seen.contains(&c.image_id) {
                println!("{}", c.image_id);
                seen.push(c.image_id.clone());
            }
        }
        return Ok(0);
    }
    let rows: Vec<[String; 4]> = containers
        .iter()
        .map(|c| {
            let (repo, tag) = match c.image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                Some((r, t)) => (r.to_string(), t.to_string()),
                None => (c.image.clone(), "latest".to_string()),
            };
            let short = c.image_id.trim_start_matches("sha256:");
            [c.name.clone(), repo, tag, short.chars().take(12).collect()]
        })
        .collect();
    if args.format == "json" {
        for (c, r) in containers.iter().zip(&rows) {
            let row = serde_json::json!({
                "ContainerName": r[0], "Repository": r[1], "Tag": r[2], "ID": c.image_id,
                "Service": service_of(c),
            });
            println!("{row}");
        }
        return Ok(0);
    }
    let header = ["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: [&str; 4]| {
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", text.join("   ").trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    Ok(0)
}
