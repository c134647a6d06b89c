//! Phase timings of the run path, for performance work: with `BERTH_TIMING=FILE` set, each
//! process appends "pid elapsed-µs label" lines to FILE. Costs one check when unset.
//!
//! Elapsed is counted from the process's first mark, or, with `BERTH_TIMING_ORIGIN` set to a
//! CLOCK_MONOTONIC time in nanoseconds (Python's `time.monotonic_ns()`), from that instant: a
//! benchmark sets it just before spawning the CLI, and the CLI's and the shim's lines (the shim
//! inherits the environment) fall on one time line (scripts/start-latency.py).

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SINK: OnceLock<Option<(std::fs::File, Instant)>> = OnceLock::new();

/// The Instant that `BERTH_TIMING_ORIGIN` names, if it parses and lies in the past.
fn origin_from_env() -> Option<Instant> {
    let origin_ns: u64 = std::env::var("BERTH_TIMING_ORIGIN").ok()?.parse().ok()?;
    let now = Instant::now();
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own; CLOCK_MONOTONIC is Instant's clock.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return None;
    }
    let now_ns = u64::try_from(ts.tv_sec).ok()? * 1_000_000_000 + u64::try_from(ts.tv_nsec).ok()?;
    now.checked_sub(Duration::from_nanos(now_ns.checked_sub(origin_ns)?))
}

pub fn mark(label: &str) {
    let sink = SINK.get_or_init(|| {
        let path = std::env::var_os("BERTH_TIMING")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some((file, origin_from_env().unwrap_or_else(Instant::now)))
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
