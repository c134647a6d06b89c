//! `berth compose ls [-a] [-q] [--format json]`: the projects that have containers, found by
//! Compose's labels (whoever made them: berth compose, or docker-compose through berth serve).

use std::collections::BTreeMap;

use berth_compose::containers::label;
use berth_compose::labels;
use berth_engine::filters::Filters;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Show all stopped Compose projects
    #[arg(short, long)]
    pub all: bool,
    /// Only display project names
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Default)]
struct Row {
    states: BTreeMap<String, usize>,
    config_files: String,
}

pub fn run(args: Args) -> Result<i32, CliError> {
    let engine = berth_engine::Engine::open()?;
    let filters = Filters::new().with("label", labels::PROJECT);
    let mut projects: BTreeMap<String, Row> = BTreeMap::new();
    for c in engine.list_containers_filtered(true, &filters)? {
        let Some(project) = label(&c, labels::PROJECT) else {
            continue;
        };
        let row = projects.entry(project.to_string()).or_default();
        *row.states.entry(c.state.as_str().to_string()).or_default() += 1;
        if let Some(files) = label(&c, labels::CONFIG_FILES) {
            row.config_files = files.to_string();
        }
    }
    if !args.all {
        projects.retain(|_, r| r.states.contains_key("running"));
    }
    if args.quiet {
        for name in projects.keys() {
            println!("{name}");
        }
        return Ok(0);
    }
    let status = |r: &Row| {
        r.states
            .iter()
            .map(|(s, n)| format!("{s}({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if args.format == "json" {
        let list: Vec<serde_json::Value> = projects
            .iter()
            .map(|(name, r)| {
                serde_json::json!({"Name": name, "Status": status(r), "ConfigFiles": r.config_files})
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(0);
    }
    let rows: Vec<[String; 3]> = projects
        .iter()
        .map(|(name, r)| [name.clone(), status(r), r.config_files.clone()])
        .collect();
    let mut widths = [4, 6, 12];
    for r in &rows {
        for i in 0..3 {
            widths[i] = widths[i].max(r[i].len());
        }
    }
    let (a, b) = (widths[0], widths[1]);
    println!("{:<a$}   {:<b$}   CONFIG FILES", "NAME", "STATUS");
    for r in &rows {
        println!("{:<a$}   {:<b$}   {}", r[0], r[1], r[2]);
    }
    Ok(0)
}
