//! `berth compose port SERVICE PRIVATE_PORT`: the host address a service's port is
//! published on.

use berth_compose::containers::number_of;

use super::{CliError, ProjectFlags, service_containers};

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
    let container = service_containers(
        &engine,
        &project,
        std::slice::from_ref(&args.service),
        false,
        false,
    )?
    .into_iter()
    .find(|c| number_of(c) == args.index)
    .ok_or_else(|| CliError {
        message: format!(
            "service {:?} has no running container #{}",
            args.service, args.index
        ),
        code: 1,
        daemon: false,
    })?;
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
