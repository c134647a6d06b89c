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
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    ip6: Option<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip")]
    link_local_ips: Vec<String>,
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
    /// Subnet in CIDR format that represents a network segment (one IPv4, one IPv6)
    #[arg(long)]
    subnet: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long)]
    gateway: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver (NAME=IP)
    #[arg(long = "aux-address")]
    aux_addresses: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opts: Vec<String>,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt")]
    ipam_opts: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default")]
    ipam_driver: String,
    /// Enable or disable IPv6 networking
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    ipv6: Option<bool>,
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
            let settings = berth_engine::types::EndpointSettings {
                ipam_config: Some(berth_engine::types::EndpointIpamConfig {
                    ipv4_address: a.ip.unwrap_or_default(),
                    ipv6_address: a.ip6.unwrap_or_default(),
                    link_local_ips: (!a.link_local_ips.is_empty()).then_some(a.link_local_ips),
                }),
                aliases: Some(a.aliases),
                ..Default::default()
            };
            engine.connect_network_endpoint(&a.network, &a.container, &settings)?;
            Ok(0)
        }
        Command::Disconnect(a) => {
            engine.disconnect_network(&a.network, &a.container)?;
            Ok(0)
        }
    }
}

/// `KEY=VALUE` options into a map (a bare key has an empty value).
fn key_values(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// One IPAM pool as the docker CLI builds it from the flags.
#[derive(Default)]
struct Pool {
    subnet: String,
    gateway: String,
    ip_range: String,
}

/// Docker CLI's pairing of `--subnet`, `--gateway` and `--ip-range`: each gateway and range
/// goes to the subnet of its family; one IPv4 and one IPv6 subnet at most.
fn pools(a: &CreateArgs) -> Result<(Pool, Pool), CliError> {
    let is_v6 = |text: &str| text.contains(':');
    let (mut v4, mut v6) = (Pool::default(), Pool::default());
    for subnet in &a.subnet {
        let pool = if is_v6(subnet) { &mut v6 } else { &mut v4 };
        if !pool.subnet.is_empty() {
            return Err(CliError::usage(format!(
                "multiple overlapping subnet configuration is not supported: {subnet}"
            )));
        }
        pool.subnet = subnet.clone();
    }
    // The engine checks that each lies inside its subnet.
    for gateway in &a.gateway {
        let pool = if is_v6(gateway) { &mut v6 } else { &mut v4 };
        pool.gateway = gateway.clone();
    }
    for range in &a.ip_range {
        let pool = if is_v6(range) { &mut v6 } else { &mut v4 };
        pool.ip_range = range.clone();
    }
    Ok((v4, v6))
}

fn create(engine: &berth_engine::Engine, a: CreateArgs) -> Result<i32, CliError> {
    if !matches!(a.ipam_driver.as_str(), "" | "default") {
        return Err(CliError::from(berth_engine::Error::NotFound(format!(
            "plugin \"{}\" not found",
            a.ipam_driver
        ))));
    }
    let (v4, v6) = pools(&a)?;
    let id = engine.create_network(berth_engine::networks::NetworkCreate {
        labels: key_values(&a.labels),
        options: key_values(&a.opts),
        ipam_options: key_values(&a.ipam_opts),
        aux_addresses: key_values(&a.aux_addresses),
        enable_ipv6: a.ipv6.unwrap_or(false),
        name: a.name,
        driver: a.driver,
        subnet: v4.subnet,
        gateway: v4.gateway,
        ip_range: v4.ip_range,
        internal: a.internal,
        subnet6: v6.subnet,
        gateway6: v6.gateway,
        ip_range6: v6.ip_range,
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
