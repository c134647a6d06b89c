//! Phase timings of the run path, for performance work: with `BERTH_TIMING=FILE` set, each
//! process appends "pid elapsed-µs label" lines to FILE. Costs one check when unset.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

static SINK: OnceLock<Option<(std::fs::File, Instant)>> = OnceLock::new();

pub fn mark(label: &str) {
    let sink = SINK.get_or_init(|| {
        let path = std::env::var_os("BERTH_TIMING")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some((file, Instant::now()))
    });
    if let Some((file, start)) = sink {
        let mut file = file;
        let _ = writeln!(
            file,
            "{} {:>8} {label}",
            std::process::id(),
            start.elapsed().as_micros()
        );
    }
}
