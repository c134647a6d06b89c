//! `berth system df [-v] [--format T]`
use serde_json::json;

use super::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Show detailed information on space usage
    #[arg(short, long)]
    verbose: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

/// `1.2MB (50%)` as docker prints RECLAIMABLE; the bare size when the total is 0.
fn reclaimable(bytes: u64, total: u64, with_percent: bool) -> String {
    if with_percent && total > 0 {
        format!("{} ({}%)", format::human_size(bytes), bytes * 100 / total)
    } else {
        format::human_size(bytes)
    }
}

fn short(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex[..hex.len().min(12)].to_string()
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let usage = engine.disk_usage()?;
    if args.verbose {
        print_verbose(&usage)?;
        return Ok(0);
    }
    let containers_size: u64 = usage.containers.iter().map(|c| c.size_rw).sum();
    let containers_reclaimable: u64 = usage
        .containers
        .iter()
        .filter(|c| !c.is_active())
        .map(|c| c.size_rw)
        .sum();
    let volumes_size: u64 = usage.volumes.iter().map(|v| v.size).sum();
    let volumes_unused: u64 = usage
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let rows = vec![
        json!({
            "Type": "Images",
            "TotalCount": usage.images.len().to_string(),
            "Active": usage.images.iter().filter(|i| i.containers > 0).count().to_string(),
            "Size": format::human_size(usage.layers_size),
            "Reclaimable": reclaimable(usage.images_reclaimable, usage.layers_size, true),
        }),
        json!({
            "Type": "Containers",
            "TotalCount": usage.containers.len().to_string(),
            "Active": usage.containers.iter().filter(|c| c.is_active()).count().to_string(),
            "Size": format::human_size(containers_size),
            "Reclaimable": reclaimable(containers_reclaimable, containers_size, true),
        }),
        json!({
            "Type": "Local Volumes",
            "TotalCount": usage.volumes.len().to_string(),
            "Active": usage.volumes.iter().filter(|v| v.links > 0).count().to_string(),
            "Size": format::human_size(volumes_size),
            "Reclaimable": reclaimable(volumes_unused, volumes_size, true),
        }),
        json!({
            "Type": "Build Cache",
            "TotalCount": usage.build_cache_count.to_string(),
            "Active": "0",
            "Size": format::human_size(usage.build_cache_size),
            "Reclaimable": reclaimable(usage.build_cache_size, usage.build_cache_size, false),
        }),
    ];
    let template = args.format.unwrap_or_else(|| {
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}".into()
    });
    print!("{}", format::render(&template, &rows, HEADERS)?);
    Ok(0)
}

fn print_verbose(usage: &berth_engine::disk_usage::DiskUsage) -> Result<(), CliError> {
    let now = chrono::Utc::now().timestamp();
    let since = |t: i64| format!("{} ago", format::human_duration(now - t));
    let mut images = Vec::new();
    for image in &usage.images {
        let names = format::repository_tag_rows(&image.repo_tags);
        for (repo, tag) in names {
            images.push(json!({
                "Repository": repo, "Tag": tag, "ID": short(&image.id), "CreatedSince": since(image.created),
                "Size": format::human_size(image.size), "SharedSize": format::human_size(image.shared_size),
                "UniqueSize": format::human_size(image.size - image.shared_size), "Containers": image.containers.to_string(),
            }));
        }
    }
    println!("Images space usage:\n");
    print!(
        "{}",
        format::render(
            "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
            &images,
            &[
                ("Repository", "REPOSITORY"),
                ("Tag", "TAG"),
                ("ID", "IMAGE ID"),
                ("CreatedSince", "CREATED"),
                ("Size", "SIZE"),
                ("SharedSize", "SHARED SIZE"),
                ("UniqueSize", "UNIQUE SIZE"),
                ("Containers", "CONTAINERS")
            ],
        )?
    );
    let containers: Vec<serde_json::Value> = usage
        .containers
        .iter()
        .map(|c| {
            let command = if c.command.chars().count() > 20 {
                format!("\"{}…\"", c.command.chars().take(19).collect::<String>())
            } else {
                format!("\"{}\"", c.command)
            };
            json!({
                "ID": c.id[..c.id.len().min(12)], "Image": c.image, "Command": command, "LocalVolumes": c.local_volumes.to_string(),
                "Size": format::human_size(c.size_rw), "RunningFor": since(c.created), "Status": c.status,
                "Names": c.names.iter().map(|n| n.trim_start_matches('/')).collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    println!("\nContainers space usage:\n");
    print!(
        "{}",
        format::render(
            "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
            &containers,
            &[
                ("ID", "CONTAINER ID"),
                ("Image", "IMAGE"),
                ("Command", "COMMAND"),
                ("LocalVolumes", "LOCAL VOLUMES"),
                ("Size", "SIZE"),
                ("RunningFor", "CREATED"),
                ("Status", "STATUS"),
                ("Names", "NAMES")
            ],
        )?
    );
    let volumes: Vec<serde_json::Value> = usage
        .volumes
        .iter()
        .map(|v| json!({"Name": v.name, "Links": v.links.to_string(), "Size": format::human_size(v.size)}))
        .collect();
    println!("\nLocal Volumes space usage:\n");
    print!(
        "{}",
        format::render(
            "table {{.Name}}\t{{.Links}}\t{{.Size}}",
            &volumes,
            &[
                ("Name", "VOLUME NAME"),
                ("Links", "LINKS"),
                ("Size", "SIZE")
            ]
        )?
    );
    println!(
        "\nBuild cache usage: {}\n",
        format::human_size(usage.build_cache_size)
    );
    print!(
        "{}",
        format::render(
            "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
            &[],
            &[
                ("ID", "CACHE ID"),
                ("CacheType", "CACHE TYPE"),
                ("Size", "SIZE"),
                ("CreatedSince", "CREATED"),
                ("LastUsedSince", "LAST USED"),
                ("UsageCount", "USAGE"),
                ("Shared", "SHARED")
            ],
        )?
    );
    Ok(())
}
