//! `berth machine scp SOURCE TARGET`: copies one file between the host and a machine; the
//! machine's side is written `NAME:PATH`. Through the VM agent: `cat > PATH` with the file as
//! its stdin, or `cat PATH` into a temporary file beside the target, renamed when complete.
//! Directories (`-r`) are refused: `berth machine ssh NAME tar ...` carries trees.
use std::path::{Path, PathBuf};
use std::process::Stdio;

use berth_machine::ExecRequest;

use crate::commands::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Copy directories (not supported: pipe tar through `berth machine ssh`)
    #[arg(short, long)]
    recursive: bool,
    source: String,
    target: String,
}

fn failed(message: String) -> CliError {
    CliError {
        message,
        code: 1,
        daemon: false,
    }
}

/// `NAME:PATH` split, when `spec` names a machine (a local path with a colon is written with a
/// `/` or `./` before it, as with scp).
fn remote(spec: &str) -> Option<(&str, &str)> {
    let (name, path) = spec.split_once(':')?;
    (!name.is_empty() && !name.contains('/')).then_some((name, path))
}

/// The guest's shell quoting of one word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

pub fn run(machines: &berth_machine::Machines, args: Args) -> Result<i32, CliError> {
    if args.recursive {
        return Err(failed(
            "scp -r is not supported: use `tar -C DIR -c . | berth machine ssh NAME tar -C DIR -x`"
                .into(),
        ));
    }
    match (remote(&args.source), remote(&args.target)) {
        (None, Some((name, path))) => upload(machines, Path::new(&args.source), name, path),
        (Some((name, path)), None) => download(machines, name, path, Path::new(&args.target)),
        (Some(_), Some(_)) => Err(failed(
            "copying between two machines is not supported: copy through the host".into(),
        )),
        (None, None) => Err(failed(format!(
            "neither {:?} nor {:?} names a machine (NAME:PATH)",
            args.source, args.target
        ))),
    }
}

fn upload(
    machines: &berth_machine::Machines,
    source: &Path,
    name: &str,
    path: &str,
) -> Result<i32, CliError> {
    let file =
        std::fs::File::open(source).map_err(|e| failed(format!("{}: {e}", source.display())))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(failed(format!(
            "{} is a directory (scp -r is not supported)",
            source.display()
        )));
    }
    let code = machines.exec(
        name,
        ExecRequest {
            args: vec!["sh".into(), "-c".into(), format!("cat > {}", quote(path))],
            console_socket: None,
            interactive: true,
            stdin: Stdio::from(file),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
        },
    )?;
    Ok(code)
}

fn download(
    machines: &berth_machine::Machines,
    name: &str,
    path: &str,
    target: &Path,
) -> Result<i32, CliError> {
    let target: PathBuf = if target.is_dir() {
        target.join(Path::new(path).file_name().unwrap_or_default())
    } else {
        target.to_path_buf()
    };
    let partial = target.with_file_name(format!(
        ".{}.partial",
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    let file = std::fs::File::create(&partial)
        .map_err(|e| failed(format!("{}: {e}", partial.display())))?;
    let result = machines.exec(
        name,
        ExecRequest {
            args: vec!["cat".into(), path.into()],
            console_socket: None,
            interactive: false,
            stdin: Stdio::null(),
            stdout: Stdio::from(file),
            stderr: Stdio::inherit(),
        },
    );
    match result {
        Ok(0) => std::fs::rename(&partial, &target)
            .map(|_| 0)
            .map_err(|e| failed(format!("{}: {e}", target.display()))),
        other => {
            let _ = std::fs::remove_file(&partial);
            Ok(other?)
        }
    }
}
