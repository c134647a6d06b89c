//! `berth kube config [--server URL] [-o FILE]`: a kubeconfig for the API `berth serve --kube`
//! serves, signed by this state root's CA; to stdout, or to FILE (mode 0600).

use super::super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// The API's URL, as `berth serve --kube` listens
    #[arg(long, default_value = "https://127.0.0.1:6443")]
    server: String,
    /// Write the kubeconfig to this file (mode 0600) instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let server = if args.server.contains("://") {
        args.server
    } else {
        format!("https://{}", args.server)
    };
    let text = berth_kube::kubeconfig::render(&berth_kube::kube_dir(engine), &server)?;
    match args.output {
        Some(path) => berth_kube::certs::write_private(&path, &text)?,
        None => print!("{text}"),
    }
    Ok(0)
}
