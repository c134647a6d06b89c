//! `berth kube down FILE|-` (podman's): the pods and claims' volumes `kube play` made of the
//! file, removed.

use std::sync::Arc;

use berth_kube::kubelet::play;

use super::super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// The Kubernetes YAML file (`-`: standard input)
    pub file: String,
}

pub fn run(engine: Arc<berth_engine::Engine>, args: Args) -> Result<i32, CliError> {
    let (file, text) = super::read_file(&args.file)?;
    let downed = play::down(engine, &file, &text).map_err(super::play::error)?;
    // podman's output: the pods it stopped and removed.
    if !downed.pods.is_empty() {
        println!("Pods stopped:");
        for (_, id) in &downed.pods {
            println!("{id}");
        }
        println!("Pods removed:");
        for (_, id) in &downed.pods {
            println!("{id}");
        }
    }
    if !downed.volumes.is_empty() {
        println!("Volumes removed:");
        for volume in &downed.volumes {
            println!("{volume}");
        }
    }
    Ok(0)
}
