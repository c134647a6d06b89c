//! `berth machine inspect [-f T] NAME`: the machine as JSON, in docker-machine's shape
//! (`Driver`, `DriverName`, `HostOptions.AuthOptions`, `Name`) plus its state.
use serde_json::json;

use crate::commands::CliError;
use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// Format output using a Go template
    #[arg(short, long)]
    format: Option<String>,
    name: String,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    use berth_machine::certs;
    let status = machines.status(&args.name)?;
    let machine = &status.machine;
    let config = &machine.config;
    let certs_dir = machine.certs_dir();
    let cert = |file: &str| certs_dir.join(file).display().to_string();
    let doc = json!({
        "ConfigVersion": 1,
        "Name": config.name,
        "DriverName": config.driver,
        "State": status.state.as_str(),
        "URL": status.url,
        "Created": config.created,
        "Driver": {
            "MachineName": config.name,
            "IPAddress": "127.0.0.1",
            "APIPort": config.api_port,
            "CPU": config.cpus,
            "Memory": config.memory_mib,
            "DiskSize": config.disk_bytes / (1024 * 1024),
            "DiskPath": machine.paths.disk().display().to_string(),
            "Kernel": config.kernel.as_ref().map(|k| k.display().to_string()),
            "Accelerator": status.accelerator,
            "StorePath": machine.paths.state.display().to_string(),
            "RunPath": machine.paths.run.display().to_string(),
        },
        "HostOptions": {
            "EngineOptions": {
                "StorageDriver": "overlay2",
            },
            "AuthOptions": {
                "CertDir": certs_dir.display().to_string(),
                "CaCertPath": cert(certs::CA),
                "CaPrivateKeyPath": cert(certs::CA_KEY),
                "ServerCertPath": cert(certs::SERVER),
                "ServerKeyPath": cert(certs::SERVER_KEY),
                "ClientCertPath": cert(certs::CLIENT),
                "ClientKeyPath": cert(certs::CLIENT_KEY),
                "ServerCertSANs": ["127.0.0.1", "localhost", config.name],
                "StorePath": machine.paths.state.display().to_string(),
            },
        },
    });
    match args.format {
        Some(template) => print!("{}", format::render(&template, &[doc], &[])?),
        None => println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values serialize")
        ),
    }
    Ok(0)
}
