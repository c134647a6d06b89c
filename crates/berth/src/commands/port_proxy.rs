//! `berth port-proxy TARGET` (hidden): relays a published port the kernel cannot DNAT (the
//! IPv6 loopback address) to the container; started by the engine with the listening socket
//! on fd 3, one per binding, and killed when the container's ports are unpublished.

#[derive(clap::Args)]
pub struct Args {
    /// The container's address and port (`[fd00::2]:80`, `10.0.0.2:80`)
    target: String,
}

pub fn run(_engine: &berth_engine::Engine, args: Args) -> Result<i32, super::CliError> {
    berth_engine::run_port_proxy(&args.target)?;
    Ok(0)
}
