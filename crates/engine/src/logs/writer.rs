//! What the shim writes a container's output through: cuts it into lines (a partial line
//! waits for its newline; Docker splits lines at 16 KiB) and hands each line to the container's
//! log driver ([`LogSink`], one file per driver) and to the file `logs` reads, when kept.

use super::Stream;
use super::journald::Journald;
use super::json_file::JsonFile;
use super::settings::{Driver, LogSettings};
use super::syslog::Syslog;
use super::tag::Source;
use crate::Error;

/// Docker cuts a line this long into several entries.
const MAX_LINE: usize = 16 * 1024;

/// When a batch of lines was read, in the forms the drivers write.
pub struct Stamp {
    pub utc: chrono::DateTime<chrono::Utc>,
    /// RFC 3339 with nanoseconds, as json-file writes it.
    pub rfc3339: String,
}

impl Stamp {
    pub fn now() -> Stamp {
        let utc = chrono::Utc::now();
        Stamp {
            rfc3339: utc.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            utc,
        }
    }
}

/// One log driver's end: takes whole lines (with their newline, but for a cut or final one).
pub(super) trait LogSink {
    fn line(&mut self, stream: Stream, line: &[u8], stamp: &Stamp);
    /// The end of a batch of lines: a buffering sink writes them now.
    fn flush(&mut self) {}
}

/// A container's log: its driver, and the file `logs` reads when the driver keeps one.
pub struct LogWriter {
    sinks: Vec<Box<dyn LogSink>>,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    /// Opens the log of the container `source` names with its `settings`, as it starts: a
    /// driver that cannot start (no journal, an unreachable syslog) fails the start.
    pub fn open(
        settings: &LogSettings,
        file: &std::path::Path,
        source: &Source,
    ) -> Result<LogWriter, Error> {
        let mut sinks: Vec<Box<dyn LogSink>> = Vec::new();
        match settings.driver {
            Driver::Syslog => sinks.push(Box::new(Syslog::connect(settings, source)?)),
            Driver::Journald => sinks.push(Box::new(Journald::connect(settings, source)?)),
            Driver::JsonFile | Driver::Local | Driver::None => {}
        }
        if settings.keeps_file() {
            let json = JsonFile::open(file, settings.rotation()?)
                .map_err(|e| Error::io(format!("opening {}", file.display()), e))?;
            sinks.push(Box::new(json));
        }
        Ok(LogWriter {
            sinks,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Whether anything is written at all (the `none` driver: nothing).
    pub fn is_discarding(&self) -> bool {
        self.sinks.is_empty()
    }

    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        if self.sinks.is_empty() {
            return;
        }
        let stamp = Stamp::now();
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(i + 1);
            let partial = &mut self.partial[stream as usize];
            if partial.is_empty() {
                emit(&mut self.sinks, stream, line, &stamp);
            } else {
                partial.extend_from_slice(line);
                let whole = std::mem::take(partial);
                emit(&mut self.sinks, stream, &whole, &stamp);
            }
            rest = tail;
        }
        let partial = &mut self.partial[stream as usize];
        partial.extend_from_slice(rest);
        if partial.len() >= MAX_LINE {
            let whole = std::mem::take(partial);
            emit(&mut self.sinks, stream, &whole, &stamp);
        }
        for sink in &mut self.sinks {
            sink.flush();
        }
    }

    /// Writes out any unterminated line (the container exited).
    pub fn flush_partial(&mut self) {
        let stamp = Stamp::now();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let whole = std::mem::take(&mut self.partial[stream as usize]);
            if !whole.is_empty() {
                emit(&mut self.sinks, stream, &whole, &stamp);
            }
        }
        for sink in &mut self.sinks {
            sink.flush();
        }
    }
}

fn emit(sinks: &mut [Box<dyn LogSink>], stream: Stream, line: &[u8], stamp: &Stamp) {
    for sink in sinks {
        sink.line(stream, line, stamp);
    }
}
