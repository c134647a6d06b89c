//! `berth exec-helper` (hidden): one exec for `berth serve`, which must not fork into a
//! container from its own threads. Its request comes as JSON on fd 3, in the engine's private,
//! versioned protocol (`berth_engine::exec::helper`), never as command-line flags.

use super::CliError;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(engine: &berth_engine::Engine, _args: Args) -> Result<i32, CliError> {
    let request = berth_engine::exec::helper::read_request()?;
    super::exec::execute(
        engine,
        &request.container,
        request.exec,
        request.interactive,
        None,
    )
}
