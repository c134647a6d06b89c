//! Compose's progress on stderr as `--progress` asks: plain lines (` Container p-web-1
//! Started`), JSON lines (`{"id":"Container p-web-1","text":"Started"}`), nothing (quiet), or
//! on a terminal the redrawn list Compose v2 shows (`[+] Running 2/2`, a tick per finished
//! resource with its time); and the log prefixes (`web-1  | `) in a colour per container.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

/// How progress events are shown, chosen once per command from `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Json,
    Quiet,
    Tty,
}

/// One resource's line of the terminal view.
struct Line {
    id: String,
    status: String,
    started: Instant,
    took: Option<f64>,
}

struct View {
    mode: Mode,
    lines: Vec<Line>,
    /// How many lines the last redraw printed (moved over by the next).
    drawn: usize,
}

static VIEW: Mutex<View> = Mutex::new(View {
    mode: Mode::Plain,
    lines: Vec::new(),
    drawn: 0,
});

/// Sets the display from `--progress auto|tty|plain|json|quiet` (auto: tty on a terminal)
/// and `--ansi` (never: no terminal view).
pub fn set_mode(progress: &str, ansi: &str) -> Result<(), String> {
    let terminal = std::io::stderr().is_terminal() && ansi != "never";
    let mode = match progress {
        "auto" if terminal => Mode::Tty,
        "auto" | "plain" => Mode::Plain,
        "tty" if ansi == "never" => Mode::Plain,
        "tty" => Mode::Tty,
        "json" => Mode::Json,
        "quiet" => Mode::Quiet,
        other => {
            return Err(format!(
                "unsupported --progress value {other:?}: auto, tty, plain, json or quiet"
            ));
        }
    };
    VIEW.lock().unwrap_or_else(|e| e.into_inner()).mode = mode;
    Ok(())
}

/// Whether a status is the end of an action (Started) rather than its course (Starting).
fn finished(status: &str) -> bool {
    !status.ends_with("ing")
}

/// Shows one progress event (`kind` Container/Network/Volume/Image, its name, its status).
pub fn plain(kind: &str, name: &str, status: &str) {
    let mut view = VIEW.lock().unwrap_or_else(|e| e.into_inner());
    let id = format!("{kind} {name}");
    let mut err = std::io::stderr().lock();
    match view.mode {
        Mode::Quiet => {}
        Mode::Plain => {
            let _ = writeln!(err, " {id}  {status}");
        }
        Mode::Json => {
            let line = serde_json::json!({"id": id, "text": status});
            let _ = writeln!(err, "{line}");
        }
        Mode::Tty => {
            let now = Instant::now();
            match view.lines.iter_mut().find(|l| l.id == id) {
                Some(line) => line.status = status.to_string(),
                None => view.lines.push(Line {
                    id,
                    status: status.to_string(),
                    started: now,
                    took: None,
                }),
            }
            for line in view.lines.iter_mut() {
                line.took =
                    finished(&line.status).then(|| now.duration_since(line.started).as_secs_f64());
            }
            redraw(&mut view, &mut err);
        }
    }
}

/// Draws the terminal view over the previous one.
fn redraw(view: &mut View, out: &mut impl Write) {
    if view.drawn > 0 {
        let _ = write!(out, "\x1b[{}A", view.drawn);
    }
    let done = view.lines.iter().filter(|l| l.took.is_some()).count();
    let _ = writeln!(out, "\x1b[2K[+] Running {done}/{}", view.lines.len());
    let width = view.lines.iter().map(|l| l.id.len()).max().unwrap_or(0);
    for line in &view.lines {
        let (mark, took) = match line.took {
            Some(t) => ("\x1b[32m\u{2714}\x1b[0m", format!("{t:.1}s")),
            None => ("\u{280b}", String::new()),
        };
        let _ = writeln!(
            out,
            "\x1b[2K {mark} {:<width$}  {:<10} {took:>6}",
            line.id, line.status
        );
    }
    view.drawn = view.lines.len() + 1;
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
