//! Renders the engine's pull/push progress as the docker CLI does: on a terminal, one live line
//! per layer with a bar (`a1b2c3d4e5f6: Downloading [====>    ]  12.3MB/45.6MB`, through
//! indicatif); elsewhere one plain line per state change, without the byte counts.

use std::collections::HashMap;
use std::io::IsTerminal;

use berth_engine::distribution::{Progress, ProgressDetail};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::format::human_size;

/// Docker's bar width inside the brackets.
const BAR_WIDTH: u64 = 50;

/// Where the progress goes: `pull`/`push` print to stdout, `run` (pulling first) to stderr.
#[derive(Clone, Copy, PartialEq)]
pub enum Stream {
    Stdout,
    Stderr,
}

pub struct Renderer {
    stream: Stream,
    tty: bool,
    /// The live lines, while there are any: a line without an id (`Digest: ..`) ends them, so
    /// it prints below them as in docker.
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
}

impl Renderer {
    /// A renderer that draws bars when `stream` is a terminal.
    pub fn new(stream: Stream) -> Renderer {
        let tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        Renderer {
            stream,
            tty,
            bars: None,
        }
    }

    fn print(&self, line: &str) {
        match self.stream {
            Stream::Stdout => println!("{line}"),
            Stream::Stderr => eprintln!("{line}"),
        }
    }

    pub fn show(&mut self, p: Progress) {
        let Some(id) = p.id.clone() else {
            self.end_bars();
            self.print(&p.status);
            return;
        };
        if !self.tty {
            if p.detail.is_none() {
                self.print(&format!("{id}: {}", p.status));
            }
            return;
        }
        let stream = self.stream;
        let (multi, bars) = self.bars.get_or_insert_with(|| {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            (MultiProgress::with_draw_target(target), HashMap::new())
        });
        let bar = bars.entry(id.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        bar.set_message(line_of(&id, &p.status, p.detail));
    }

    /// Leaves every live line as last drawn.
    fn end_bars(&mut self) {
        if let Some((_, bars)) = self.bars.take() {
            for bar in bars.values() {
                bar.abandon();
            }
        }
    }

    pub fn finish(mut self) {
        self.end_bars();
    }
}

/// One layer's line: `id: status`, plus `[==>  ] cur/total` while bytes move.
fn line_of(id: &str, status: &str, detail: Option<ProgressDetail>) -> String {
    let Some(d) = detail else {
        return format!("{id}: {status}");
    };
    match d.total.filter(|t| *t > 0) {
        Some(total) => {
            let filled = (d.current.min(total) * BAR_WIDTH / total).min(BAR_WIDTH);
            let mut bar = "=".repeat(filled as usize);
            if filled < BAR_WIDTH {
                bar.push('>');
                bar.push_str(&" ".repeat((BAR_WIDTH - filled - 1) as usize));
            }
            format!(
                "{id}: {status} [{bar}] {:>8}/{}",
                human_size(d.current),
                human_size(total)
            )
        }
        None => format!("{id}: {status} {:>8}", human_size(d.current)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_lines_look_like_dockers() {
        let half = line_of(
            "a1b2c3d4e5f6",
            "Downloading",
            Some(ProgressDetail {
                current: 500,
                total: Some(1000),
            }),
        );
        assert_eq!(
            half,
            format!(
                "a1b2c3d4e5f6: Downloading [{}>{}]     500B/1kB",
                "=".repeat(25),
                " ".repeat(24)
            )
        );
        let done = line_of(
            "x",
            "Pushing",
            Some(ProgressDetail {
                current: 1000,
                total: Some(1000),
            }),
        );
        assert!(done.contains(&format!("[{}]", "=".repeat(50))), "{done}");
        assert_eq!(line_of("x", "Pull complete", None), "x: Pull complete");
    }
}
