//! `berth logout [SERVER]`
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    server: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let (server, removed) = engine
        .logout(args.server.as_deref())
        .map_err(|e| CliError {
            message: e.to_string(),
            code: 1,
            daemon: false,
        })?;
    if removed {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(0)
}
