//! `berth save [-o FILE] [--format docker|oci] IMAGE...`
use std::io::{IsTerminal, Write};

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<String>,
    /// Archive format: docker (docker-archive + OCI layout, as Docker 25+ writes) or oci
    #[arg(long, default_value = "docker", value_parser = ["docker", "docker-archive", "oci", "oci-archive"])]
    format: String,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

/// docker exits 1 on a failed save.
fn failed(e: impl std::fmt::Display) -> CliError {
    CliError {
        message: e.to_string(),
        code: 1,
    }
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    // Both formats are the same archive: an OCI layout that also holds docker's manifest.json.
    let _ = (&args.format, &args.platform);
    match args.output.as_deref() {
        None | Some("-") => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(failed(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            engine.save_images(&args.images, &mut out).map_err(failed)?;
            out.flush().map_err(failed)?;
        }
        Some(path) => {
            // Written next to the target and renamed: a failed save leaves no partial archive.
            let target = std::path::Path::new(path);
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = target.with_file_name(format!(".{name}.berth-tmp-{}", std::process::id()));
            let result = (|| {
                let file = std::fs::File::create(&tmp)
                    .map_err(|e| failed(format!("failed to save image: {path}: {e}")))?;
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
                engine.save_images(&args.images, &mut out).map_err(failed)?;
                let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
                file.sync_all().map_err(failed)?;
                std::fs::rename(&tmp, target)
                    .map_err(|e| failed(format!("failed to save image: {path}: {e}")))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
    }
    Ok(0)
}
