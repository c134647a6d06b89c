//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    container: String,
    /// PRIVATE_PORT[/PROTO]
    private_port: Option<String>,
}

/// `HOST:PORT`, an IPv6 host in brackets (`[::]:8080`), as Docker prints it.
fn host_and_port(host_ip: &str, host_port: u16) -> String {
    if host_ip.contains(':') {
        format!("[{host_ip}]:{host_port}")
    } else {
        format!("{host_ip}:{host_port}")
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let ports = engine.container_ports(&args.container)?;
    match &args.private_port {
        None => {
            for p in &ports {
                println!(
                    "{} -> {}",
                    p.container_port,
                    host_and_port(&p.host_ip, p.host_port)
                );
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
                println!("{}", host_and_port(&p.host_ip, p.host_port));
            }
        }
    }
    Ok(0)
}
