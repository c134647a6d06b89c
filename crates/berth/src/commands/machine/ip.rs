//! `berth machine ip NAME...`: where the machine's engine is reached from this host: the
//! loopback end of its port forward (the guest's own address is private to QEMU).
use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    let mut code = 0;
    for name in &args.names {
        match super::running(machines, name) {
            Ok(status) => {
                let host = status
                    .url
                    .trim_start_matches("tcp://")
                    .rsplit_once(':')
                    .map(|(host, _)| host.to_string())
                    .unwrap_or_default();
                println!("{host}");
            }
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}
