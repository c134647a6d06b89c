//! Compose's plain progress lines (` Container p-web-1  Started`) on stderr, and the log
//! prefixes (`web-1  | `) in a colour per container.

use std::io::{IsTerminal, Write};

/// Prints one progress event as Compose's plain output does.
pub fn plain(kind: &str, name: &str, status: &str) {
    let _ = writeln!(std::io::stderr(), " {kind} {name}  {status}");
}

/// Whether to colour: `--ansi always|never|auto` (auto: stdout is a terminal).
pub fn colour(ansi: &str) -> bool {
    match ansi {
        "always" => true,
        "never" => false,
        _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Compose's palette, one per container in turn.
const COLOURS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// `web-1  | ` for every container, padded to the widest name, coloured when asked.
pub fn prefixes(names: &[String], colour: bool) -> Vec<String> {
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let text = format!("{n:<width$} | ");
            if colour {
                format!("\x1b[{}m{text}\x1b[0m", COLOURS[i % COLOURS.len()])
            } else {
                text
            }
        })
        .collect()
}
