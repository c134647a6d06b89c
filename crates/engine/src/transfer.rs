//! Runs a pull's or push's blob transfers on a few threads at once (as Docker: 3 downloads,
//! 5 uploads) and funnels their progress back to the calling thread, which alone calls the
//! caller's progress callback. The first failure cancels the transfers still running.
//! Owns the progress message too, which both this module and `distribution` build.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use crate::Error;

/// One progress message, shaped like Docker's JSON progress messages
/// (`{"id":..,"status":..,"progressDetail":{"current":..,"total":..}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub id: Option<String>,
    pub status: String,
    /// Bytes moved so far: set on `Downloading` / `Pushing` updates, which a terminal shows as
    /// a bar and a log leaves out; None on state changes.
    pub detail: Option<ProgressDetail>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressDetail {
    pub current: u64,
    pub total: Option<u64>,
}

impl Progress {
    pub(crate) fn line(status: impl Into<String>) -> Progress {
        Progress {
            id: None,
            status: status.into(),
            detail: None,
        }
    }
    pub(crate) fn of(id: impl Into<String>, status: impl Into<String>) -> Progress {
        Progress {
            id: Some(id.into()),
            status: status.into(),
            detail: None,
        }
    }
}

/// Docker's default `max-concurrent-downloads`.
pub const DOWNLOADS: usize = 3;
/// Docker's default `max-concurrent-uploads`.
pub const UPLOADS: usize = 5;

/// How often a transfer reports its byte count at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

enum Event {
    Progress(Progress),
    Done(usize, Result<u64, Error>),
}

/// A transfer's handle for reporting progress and noticing that the whole operation failed.
#[derive(Clone)]
pub struct Reporter {
    tx: Sender<Event>,
    cancelled: Arc<AtomicBool>,
}

impl Reporter {
    pub fn send(&self, progress: Progress) {
        let _ = self.tx.send(Event::Progress(progress));
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Runs `job(i, reporter)` for every i in 0..count on up to `workers` threads; returns each
/// job's result (a byte count) in order, or the first error once every thread has stopped.
pub fn run_parallel<F>(
    count: usize,
    workers: usize,
    progress: &mut dyn FnMut(Progress),
    job: F,
) -> Result<Vec<u64>, Error>
where
    F: Fn(usize, &Reporter) -> Result<u64, Error> + Sync,
{
    let (tx, rx) = channel();
    let reporter = Reporter {
        tx,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<u64>> = vec![None; count];
    let mut first_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers.min(count) {
            let reporter = reporter.clone();
            let (next, job) = (&next, &job);
            scope.spawn(move || {
                while !reporter.cancelled() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let result = job(i, &reporter);
                    let _ = reporter.tx.send(Event::Done(i, result));
                }
            });
        }
        let cancelled = reporter.cancelled.clone();
        drop(reporter);
        // Ends when every worker has dropped its sender.
        for event in rx {
            match event {
                Event::Progress(p) => progress(p),
                Event::Done(i, Ok(n)) => results[i] = Some(n),
                Event::Done(_, Err(e)) => {
                    cancelled.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}

/// A reader that reports `action` progress (`Downloading`, `Pushing`) for `id` as bytes go
/// through it, and fails once the operation was cancelled.
pub struct ProgressReader<R> {
    inner: R,
    reporter: Reporter,
    id: String,
    action: &'static str,
    current: u64,
    total: Option<u64>,
    last: Option<Instant>,
}

impl<R: Read> ProgressReader<R> {
    pub fn new(
        inner: R,
        reporter: Reporter,
        id: &str,
        action: &'static str,
        total: Option<u64>,
    ) -> Self {
        ProgressReader {
            inner,
            reporter,
            id: id.to_string(),
            action,
            current: 0,
            total,
            // The first report waits a moment too: the first read is only the few bytes that
            // tell the compression.
            last: Some(Instant::now()),
        }
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.reporter.cancelled() {
            return Err(std::io::Error::other("cancelled: another layer failed"));
        }
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        let due = self.last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
        if n > 0 && due {
            self.last = Some(Instant::now());
            self.reporter.send(Progress {
                id: Some(self.id.clone()),
                status: self.action.to_string(),
                detail: Some(ProgressDetail {
                    current: self.current,
                    total: self.total,
                }),
            });
        }
        Ok(n)
    }
}
