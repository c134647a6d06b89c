//! One file per CLI verb; each parses its flags and calls one engine function.

pub mod attach;
pub mod build;
pub mod builder;
pub mod commit;
pub mod completion;
pub mod compose;
pub mod container_prune;
pub mod cp;
pub mod create;
pub mod diff;
pub mod events;
pub mod exec;
pub mod exec_helper;
pub mod export;
pub mod history;
pub mod image_prune;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod kill;
pub mod kube;
pub mod load;
pub mod login;
pub mod logout;
pub mod logs;
pub mod machine;
pub mod manifest;
pub mod network;
pub mod pause;
pub mod pod_infra;
pub mod port;
pub mod port_proxy;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod save;
pub mod search;
pub mod serve;
pub mod shim;
pub mod start;
pub mod stats;
pub mod stop;
pub mod system_df;
pub mod system_prune;
pub mod tag;
pub mod top;
pub mod unpause;
pub mod update;
pub mod version;
pub mod vm_agent;
pub mod vm_exec;
pub mod vm_floor;
pub mod vm_relay;
pub mod volume;
pub mod wait;

/// A command's failure: a message and Docker's exit code for it.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
    /// The engine refused (the docker CLI's "Error response from daemon"): `run` and `create`
    /// exit 125 for that, every other command 1 (see [`CliError::exit_code_for`]).
    pub daemon: bool,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 125,
            daemon: false,
        }
    }

    pub fn exit_code(&self) -> i32 {
        self.code
    }

    /// Docker's exit code for this failure of a command: the engine's refusals are 125 only
    /// from `run` and `create` (`daemon_is_125`), 1 from the others, as the docker CLI's.
    pub fn exit_code_for(&self, daemon_is_125: bool) -> i32 {
        if self.daemon && self.code == 125 && !daemon_is_125 {
            1
        } else {
            self.code
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<berth_kube::KubeError> for CliError {
    fn from(e: berth_kube::KubeError) -> Self {
        CliError {
            code: 1,
            daemon: false,
            message: e.to_string(),
        }
    }
}

impl From<berth_engine::Error> for CliError {
    fn from(e: berth_engine::Error) -> Self {
        CliError {
            code: e.exit_code(),
            daemon: !e.is_flag_error(),
            message: e.to_string(),
        }
    }
}

impl From<berth_engine::filters::FilterError> for CliError {
    fn from(e: berth_engine::filters::FilterError) -> Self {
        berth_engine::Error::from(e).into()
    }
}

impl From<crate::format::FormatError> for CliError {
    fn from(e: crate::format::FormatError) -> Self {
        CliError::usage(e.to_string())
    }
}

/// Docker's `[y/N]` prompt before a prune: prints `warning` and the question, and reads one
/// answer line from stdin; only `y`/`yes` goes on (end of input means no).
pub fn confirm(warning: &str) -> bool {
    use std::io::Write;
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        println!();
    }
    yes
}

/// A prune's `Deleted WHAT:` block, a line per item (empty when nothing was deleted), as the
/// docker CLI prints it.
pub fn deleted_block(what: &str, items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for item in items {
        if out.is_empty() {
            out = format!("Deleted {what}:\n");
        }
        out.push_str(&item);
        out.push('\n');
    }
    out
}

/// A prune's report: each non-empty block and a blank line, then the space reclaimed.
pub fn print_pruned(blocks: &[String], reclaimed: u64) {
    for block in blocks.iter().filter(|b| !b.is_empty()) {
        println!("{block}");
    }
    println!(
        "Total reclaimed space: {}",
        crate::format::human_size(reclaimed)
    );
}

/// Runs `op` on each name, Docker style: print the name on success, an error line per
/// failure, and exit 1 if any failed.
pub fn for_each(
    names: &[String],
    mut op: impl FnMut(&str) -> Result<(), berth_engine::Error>,
) -> Result<i32, CliError> {
    let mut failed = false;
    for name in names {
        match op(name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Streams an archive (`save`, `export`) to `output`, or to stdout when there is none or it is
/// `-`; never to a terminal. A file is written next to its target and renamed into place, so a
/// failure leaves no partial archive. `what` names the action in errors ("save image"); docker
/// exits 1 on a failed archive.
pub fn write_archive(
    output: Option<&str>,
    what: &str,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), berth_engine::Error>,
) -> Result<(), CliError> {
    use std::io::{IsTerminal, Write};
    let failed = |e: &dyn std::fmt::Display| CliError {
        message: e.to_string(),
        code: 1,
        daemon: false,
    };
    match output {
        None | Some("-") => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(failed(
                    &"cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            write(&mut out).map_err(|e| failed(&e))?;
            out.flush().map_err(|e| failed(&e))
        }
        Some(path) => {
            let target = std::path::Path::new(path);
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = target.with_file_name(format!(".{name}.berth-tmp-{}", std::process::id()));
            let result = (|| {
                let file = std::fs::File::create(&tmp)
                    .map_err(|e| failed(&format!("failed to {what}: {path}: {e}")))?;
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
                write(&mut out).map_err(|e| failed(&e))?;
                let file = out.into_inner().map_err(|e| failed(&e.into_error()))?;
                file.sync_all().map_err(|e| failed(&e))?;
                std::fs::rename(&tmp, target)
                    .map_err(|e| failed(&format!("failed to {what}: {path}: {e}")))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        }
    }
}
