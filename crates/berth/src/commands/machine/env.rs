//! `berth machine env [-u] NAME`: the shell lines docker-machine prints, so `eval $(berth
//! machine env m1)` points the docker CLI at the machine's engine (mutual TLS through the
//! loopback port forward).
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Print the lines that undo it
    #[arg(short, long)]
    unset: bool,
    name: Option<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    if args.unset {
        for var in [
            "DOCKER_TLS_VERIFY",
            "DOCKER_HOST",
            "DOCKER_CERT_PATH",
            "DOCKER_MACHINE_NAME",
        ] {
            println!("unset {var}");
        }
        println!("# Run this command to configure your shell: ");
        println!("# eval $(berth machine env -u)");
        return Ok(0);
    }
    let Some(name) = args.name else {
        return Err(CliError {
            message: "Error: No machine name(s) specified".into(),
            code: 1,
            daemon: false,
        });
    };
    let status = super::running(machines, &name)?;
    println!("export DOCKER_TLS_VERIFY=\"1\"");
    println!("export DOCKER_HOST=\"{}\"", status.url);
    println!(
        "export DOCKER_CERT_PATH=\"{}\"",
        status.machine.certs_dir().display()
    );
    println!("export DOCKER_MACHINE_NAME=\"{name}\"");
    println!("# Run this command to configure your shell: ");
    println!("# eval $(berth machine env {name})");
    Ok(0)
}
