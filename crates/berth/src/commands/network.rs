//! `berth network create|ls|inspect|rm|prune`: each subcommand calls one engine function.
use std::collections::BTreeMap;

use super::CliError;
use crate::format;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias")]
    aliases: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    ip: Option<String>,
    network: String,
    container: String,
}

#[derive(clap::Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network (accepted for compatibility: a
    /// disconnect never waits for anything here)
    #[arg(short, long)]
    _force: bool,
    network: String,
    container: String,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Option<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Set metadata on a network
    #[arg(long = "label")]
    labels: Vec<String>,
    name: String,
}

#[derive(clap::Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(clap::Args)]
pub struct RmArgs {
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
    /// Also remove the default network's bridge when no container uses it (tests, uninstall)
    #[arg(long, hide = true)]
    include_default_bridge: bool,
}

pub fn run(engine: &berth_engine::Engine, command: Command) -> Result<i32, CliError> {
    match command {
        Command::Create(a) => create(engine, a),
        Command::Ls(a) => ls(engine, a),
        Command::Inspect(a) => inspect(engine, a),
        Command::Rm(a) => super::for_each(&a.names, |n| engine.remove_network(n)),
        Command::Prune(a) => prune(engine, a),
        Command::Connect(a) => {
            engine.connect_network(&a.network, &a.container, a.ip.as_deref(), &a.aliases)?;
            Ok(0)
        }
        Command::Disconnect(a) => {
            engine.disconnect_network(&a.network, &a.container)?;
            Ok(0)
        }
    }
}

fn create(engine: &berth_engine::Engine, a: CreateArgs) -> Result<i32, CliError> {
    let mut labels = BTreeMap::new();
    for l in &a.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let id = engine.create_network(berth_engine::networks::NetworkCreate {
        name: a.name,
        driver: a.driver,
        subnet: a.subnet.unwrap_or_default(),
        gateway: a.gateway.unwrap_or_default(),
        ip_range: a.ip_range.unwrap_or_default(),
        internal: a.internal,
        labels,
    })?;
    println!("{id}");
    Ok(0)
}

fn ls(engine: &berth_engine::Engine, a: LsArgs) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&a.filter)?;
    let mut rows = Vec::new();
    for net in engine.list_networks_filtered(&filters)? {
        let id = net["Id"].as_str().unwrap_or_default();
        let labels: Vec<String> = net["Labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        rows.push(serde_json::json!({
            "ID": if a.no_trunc { id } else { &id[..id.len().min(12)] },
            "Name": net["Name"],
            "Driver": net["Driver"],
            "Scope": net["Scope"],
            "IPv4": "true",
            "IPv6": net["EnableIPv6"].to_string(),
            "Internal": net["Internal"].to_string(),
            "Labels": labels.join(","),
            "CreatedAt": net["Created"],
        }));
    }
    rows.sort_by(|x, y| x["Name"].as_str().cmp(&y["Name"].as_str()));
    let template = if a.quiet {
        "{{.ID}}".to_string()
    } else {
        a.format
            .unwrap_or_else(|| "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}".into())
    };
    print!(
        "{}",
        format::render(&template, &rows, &[("ID", "NETWORK ID")])?
    );
    Ok(0)
}

fn inspect(engine: &berth_engine::Engine, a: InspectArgs) -> Result<i32, CliError> {
    let mut docs = Vec::new();
    let mut failed = false;
    for name in &a.names {
        match engine.inspect_network(name) {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    match &a.format {
        Some(template) => print!("{}", format::render(template, &docs, &[])?),
        None => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(&docs, &mut ser)
                .map_err(|e| CliError::usage(e.to_string()))?;
            println!("{}", String::from_utf8_lossy(&out));
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn prune(engine: &berth_engine::Engine, a: PruneArgs) -> Result<i32, CliError> {
    let filters = berth_engine::filters::Filters::parse(&a.filter)?;
    if !a.force
        && !super::confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )
    {
        return Ok(0);
    }
    // Docker prints no total for networks.
    print!(
        "{}",
        super::deleted_block("Networks", engine.prune_networks_matching(&filters)?)
    );
    if a.include_default_bridge {
        engine.remove_default_bridge()?;
    }
    Ok(0)
}
