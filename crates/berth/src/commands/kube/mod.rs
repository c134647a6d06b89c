//! `berth kube play|down`: Kubernetes YAML on berth without a server (podman's verbs);
//! `berth kube config`: a kubeconfig for `berth serve --kube`. One file per verb.

pub mod config;
pub mod down;
pub mod play;

use super::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create containers, pods and volumes from Kubernetes YAML
    Play(play::Args),
    /// Remove what `kube play` made of a Kubernetes YAML file
    Down(down::Args),
    /// Write a kubeconfig for `berth serve --kube` (admin client certificate, file mode 0600)
    Config(config::Args),
}

// The kubelet takes its engine in an Arc (the API server's controllers share one); here one
// thread uses it, so the Arc is neither sent nor shared.
#[allow(clippy::arc_with_non_send_sync)]
pub fn run(engine: berth_engine::Engine, command: Command) -> Result<i32, CliError> {
    match command {
        Command::Play(a) => play::run(std::sync::Arc::new(engine), a),
        Command::Down(a) => down::run(std::sync::Arc::new(engine), a),
        Command::Config(a) => config::run(&engine, a),
    }
}

/// The file's name (for errors) and contents; `-` is stdin.
pub fn read_file(path: &str) -> Result<(String, String), CliError> {
    if path == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::usage(format!("reading stdin: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::usage(format!("{path}: {e}")))?;
    Ok((path.to_string(), text))
}
