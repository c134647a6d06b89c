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
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
}

impl Renderer {
    /// A renderer that draws bars when `stream` is a terminal.
    pub fn new(stream: Stream) -> Renderer {
        let tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        let bars = tty.then(|| {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            (MultiProgress::with_draw_target(target), HashMap::new())
        });
        Renderer { stream, bars }
    }

    pub fn show(&mut self, p: Progress) {
        let Some((multi, bars)) = &mut self.bars else {
            if p.detail.is_none() {
                let line = match p.id {
                    Some(id) => format!("{id}: {}", p.status),
                    None => p.status,
                };
                match self.stream {
                    Stream::Stdout => println!("{line}"),
                    Stream::Stderr => eprintln!("{line}"),
                }
            }
            return;
        };
        let Some(id) = p.id.clone() else {
            let _ = multi.println(&p.status);
            return;
        };
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

    /// Leaves every line as last drawn.
    pub fn finish(self) {
        if let Some((_, bars)) = self.bars {
            for bar in bars.values() {
                bar.abandon();
            }
        }
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
