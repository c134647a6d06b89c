//! `berth kube play FILE|-` (podman's): the file's pods, deployments, configmaps, secrets and
//! claims made and started; `--down` removes them, `--replace` makes them again.

use std::sync::Arc;
use std::time::Duration;

use berth_kube::kubelet::play::{self, PlayOptions};

use super::super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Remove what an earlier play of the file made (as `berth kube down`)
    #[arg(long)]
    down: bool,
    /// Remove what an earlier play of the file made, then play it
    #[arg(long)]
    replace: bool,
    /// Seconds to wait for init containers to complete and containers to start
    #[arg(long, default_value_t = 300)]
    wait: u64,
    /// The Kubernetes YAML file (`-`: standard input)
    file: String,
}

pub fn run(engine: Arc<berth_engine::Engine>, args: Args) -> Result<i32, CliError> {
    if args.down {
        return super::down::run(engine, super::down::Args { file: args.file });
    }
    let (file, text) = super::read_file(&args.file)?;
    let options = PlayOptions {
        replace: args.replace,
        wait: Duration::from_secs(args.wait),
    };
    let played = play::play(engine, &file, &text, options).map_err(error)?;
    for (kind, line) in &played.skipped {
        eprintln!("{file}:{line}: kind {kind} is not used by kube play: skipped");
    }
    for pod in &played.pods {
        if let Some(problem) = pod.problem() {
            eprintln!("pod {}: {problem}", pod.name);
        }
    }
    // podman's output: each pod's id, then its containers'.
    for pod in &played.pods {
        println!("Pod:\n{}", pod.id);
        if !pod.containers.is_empty() {
            let heading = if pod.containers.len() == 1 {
                "Container"
            } else {
                "Containers"
            };
            println!("{heading}:\n{}", pod.containers.join("\n"));
        }
        println!();
    }
    for volume in &played.volumes {
        println!("Volume:\n{volume}\n");
    }
    Ok(0)
}

pub fn error(e: play::PlayError) -> CliError {
    CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    }
}
