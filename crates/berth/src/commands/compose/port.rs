//! `berth compose port SERVICE PRIVATE_PORT`: the host address a service's port is
//! published on.

use super::{CliError, ProjectFlags, running_container};

#[derive(clap::Args)]
pub struct Args {
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    pub service: String,
    pub private_port: u16,
}

pub fn run(flags: &ProjectFlags, args: Args) -> Result<i32, CliError> {
    let project = flags.load()?;
    let engine = berth_engine::Engine::open()?;
    let container = running_container(&engine, &project, &args.service, args.index)?;
    let wanted = format!("{}/{}", args.private_port, args.protocol);
    let published = engine
        .published_ports(&container.id)
        .into_iter()
        .find(|p| p.container_port == wanted)
        .ok_or_else(|| CliError {
            message: format!("no port {wanted} for container {}", container.name),
            code: 1,
            daemon: false,
        })?;
    let ip = if published.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        &published.host_ip
    };
    println!("{ip}:{}", published.host_port);
    Ok(0)
}
