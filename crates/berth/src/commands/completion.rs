//! `berth completion bash|zsh|fish`: a shell completion script generated from the same clap
//! definitions that parse the command line, so it never falls behind a new verb or flag.
use std::io::Write;

#[derive(clap::Args)]
pub struct Args {
    /// The shell to generate the script for
    shell: clap_complete::Shell,
}

/// Prints the script for `args.shell` for the command line `cli` describes. A closed stdout
/// (`berth completion bash | head`) is not an error.
pub fn run(mut cli: clap::Command, args: Args) -> i32 {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "berth", &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("Error: writing the completion script: {e}");
            1
        }
    }
}
