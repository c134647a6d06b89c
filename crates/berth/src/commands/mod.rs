//! One file per CLI verb; each parses its flags and calls one engine function.

pub mod attach;
pub mod build;
pub mod builder;
pub mod container_prune;
pub mod cp;
pub mod create;
pub mod events;
pub mod exec;
pub mod history;
pub mod image_prune;
pub mod images;
pub mod import;
pub mod inspect;
pub mod kill;
pub mod load;
pub mod login;
pub mod logout;
pub mod logs;
pub mod network;
pub mod pause;
pub mod port;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod save;
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
pub mod volume;
pub mod wait;

/// A command's failure: a message and Docker's exit code for it.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 125,
        }
    }

    pub fn exit_code(&self) -> i32 {
        self.code
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<berth_engine::Error> for CliError {
    fn from(e: berth_engine::Error) -> Self {
        CliError {
            code: e.exit_code(),
            message: e.to_string(),
        }
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
