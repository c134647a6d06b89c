//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    container: String,
    /// PRIVATE_PORT[/PROTO]
    private_port: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let ports = engine.container_ports(&args.container)?;
    match &args.private_port {
        None => {
            for p in ports {
                println!("{} -> {}:{}", p.container_port, p.host_ip, p.host_port);
            }
        }
        Some(wanted) => {
            let key = if wanted.contains('/') {
                wanted.clone()
            } else {
                format!("{wanted}/tcp")
            };
            let matching: Vec<_> = ports.iter().filter(|p| p.container_port == key).collect();
            if matching.is_empty() {
                return Err(CliError::usage(format!(
                    "No public port '{key}' published for {}",
                    args.container
                )));
            }
            for p in matching {
                println!("{}:{}", p.host_ip, p.host_port);
            }
        }
    }
    Ok(0)
}
