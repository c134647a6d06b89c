//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-01T00:00:00.000000000Z"}`.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{Engine, Error};

#[derive(Serialize, Deserialize)]
struct Entry<'a> {
    log: std::borrow::Cow<'a, str>,
    stream: std::borrow::Cow<'a, str>,
    time: std::borrow::Cow<'a, str>,
}

/// Appends output to a container's log, a line per entry. Keeps a partial line per stream
/// until its newline arrives (or [`LogWriter::flush_partial`] at exit).
pub struct LogWriter {
    file: File,
    partial: [Vec<u8>; 2],
    scratch: Vec<u8>,
}

/// Which output stream bytes came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl LogWriter {
    pub fn open(path: &Path) -> std::io::Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
            scratch: Vec::with_capacity(4096),
        })
    }

    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.scratch.clear();
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(i + 1);
            let partial = &mut self.partial[stream as usize];
            if partial.is_empty() {
                push_entry(&mut self.scratch, line, stream, &time);
            } else {
                partial.extend_from_slice(line);
                let whole = std::mem::take(partial);
                push_entry(&mut self.scratch, &whole, stream, &time);
            }
            rest = tail;
        }
        let partial = &mut self.partial[stream as usize];
        partial.extend_from_slice(rest);
        // Docker splits lines longer than 16 KiB.
        if partial.len() >= 16 * 1024 {
            let whole = std::mem::take(partial);
            push_entry(&mut self.scratch, &whole, stream, &time);
        }
        if !self.scratch.is_empty() {
            let _ = self.file.write_all(&self.scratch);
        }
    }

    /// Writes out any unterminated line (the container exited).
    pub fn flush_partial(&mut self) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        for stream in [Stream::Stdout, Stream::Stderr] {
            let whole = std::mem::take(&mut self.partial[stream as usize]);
            if !whole.is_empty() {
                self.scratch.clear();
                push_entry(&mut self.scratch, &whole, stream, &time);
                let _ = self.file.write_all(&self.scratch);
            }
        }
    }
}

fn push_entry(out: &mut Vec<u8>, line: &[u8], stream: Stream, time: &str) {
    let entry = Entry {
        log: String::from_utf8_lossy(line),
        stream: stream.name().into(),
        time: time.into(),
    };
    if serde_json::to_writer(&mut *out, &entry).is_ok() {
        out.push(b'\n');
    }
}

/// `logs` options, Docker's.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Only entries at or after this time (unix seconds, fractional).
    pub since: Option<f64>,
    pub until: Option<f64>,
    pub stdout: bool,
    pub stderr: bool,
}

/// One log record as read back.
pub struct LogLine {
    pub stream: Stream,
    pub time: String,
    pub text: Vec<u8>,
}

impl Engine {
    /// Streams a container's log to `sink` (stdout/stderr kept apart); with `follow`, keeps
    /// going until the container stops. `sink` returns false to stop early.
    pub fn logs(
        &self,
        name_or_id: &str,
        options: &LogOptions,
        sink: &mut dyn FnMut(LogLine) -> bool,
    ) -> Result<(), Error> {
        self.logs_while(name_or_id, options, sink, &|| true)
    }

    /// [`Engine::logs`] for a reader that may go away while nothing is written (an API
    /// client's `logs -f`): following also stops when `keep_going` turns false.
    pub fn logs_while(
        &self,
        name_or_id: &str,
        options: &LogOptions,
        sink: &mut dyn FnMut(LogLine) -> bool,
        keep_going: &dyn Fn() -> bool,
    ) -> Result<(), Error> {
        let rec = self.container(name_or_id)?;
        let path = self.log_path(&rec.id);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !options.follow {
                    return Ok(());
                }
                std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).ok();
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| Error::io("opening log", e))?;
                File::open(&path).map_err(|e| Error::io("opening log", e))?
            }
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        // Watch before the first read so that no write after it goes unnoticed.
        let mut follower = options.follow.then(|| Follower::new(&path, &rec));
        let mut reader = BufReader::new(file);
        let wanted = |line: &LogLine| {
            let stream_ok = match line.stream {
                Stream::Stdout => options.stdout,
                Stream::Stderr => options.stderr,
            };
            let t = chrono::DateTime::parse_from_rfc3339(&line.time)
                .map(|t| t.timestamp() as f64 + t.timestamp_subsec_nanos() as f64 / 1e9)
                .unwrap_or(0.0);
            stream_ok
                && options.since.is_none_or(|s| t >= s)
                && options.until.is_none_or(|u| t <= u)
        };
        // Tail: read all, keep the last N matching.
        let mut existing = Vec::new();
        let mut buf = String::new();
        loop {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| Error::io("reading log", e))?;
            if n == 0 || !buf.ends_with('\n') {
                // A half-written last line: re-read it later.
                if n > 0 {
                    reader.seek(SeekFrom::Current(-(n as i64))).ok();
                }
                break;
            }
            if let Some(line) = parse_line(&buf)
                && wanted(&line)
            {
                existing.push(line);
            }
        }
        let skip = options
            .tail
            .map(|n| existing.len().saturating_sub(n))
            .unwrap_or(0);
        for line in existing.into_iter().skip(skip) {
            if !sink(line) {
                return Ok(());
            }
        }
        let Some(follower) = follower.as_mut() else {
            return Ok(());
        };
        loop {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| Error::io("reading log", e))?;
            if n > 0 && buf.ends_with('\n') {
                if let Some(line) = parse_line(&buf)
                    && wanted(&line)
                    && !sink(line)
                {
                    return Ok(());
                }
                continue;
            }
            if n > 0 {
                reader.seek(SeekFrom::Current(-(n as i64))).ok();
            }
            if !keep_going() {
                return Ok(());
            }
            let running = match follower.wait() {
                Woke::Written => continue,
                Woke::ShimGone => false,
                // Nothing new for a while: is the container still running?
                Woke::Idle => self
                    .db
                    .container(&rec.id)?
                    .is_some_and(|r| r.state.has_shim()),
            };
            if !running {
                // Drain what the shim wrote last, partial line included.
                let mut rest = String::new();
                while reader
                    .read_line(&mut rest)
                    .map_err(|e| Error::io("reading log", e))?
                    > 0
                {
                    if let Some(line) = parse_line(&rest)
                        && wanted(&line)
                        && !sink(line)
                    {
                        return Ok(());
                    }
                    rest.clear();
                }
                return Ok(());
            }
        }
    }
}

/// How long a follower sleeps when nothing is written before it checks that the container
/// still runs and its reader is still there.
const FOLLOW_IDLE: Duration = Duration::from_millis(250);
/// Without inotify (out of instances), the follower re-reads the log this often.
const FOLLOW_POLL: Duration = Duration::from_millis(5);

/// Why [`Follower::wait`] returned.
enum Woke {
    /// The log may have grown.
    Written,
    /// The container's shim has exited: the log is complete.
    ShimGone,
    /// Nothing happened for [`FOLLOW_IDLE`].
    Idle,
}

/// Blocks a log follower until the log is written to (inotify IN_MODIFY) or the shim exits
/// (pidfd), so a line is passed on as soon as the shim writes it and an idle follower costs
/// nothing.
struct Follower {
    inotify: Option<OwnedFd>,
    shim: Option<OwnedFd>,
    /// Without inotify: when the container's state was last checked.
    last_check: Instant,
    /// No shim to watch (the container is not running, most likely): check the state on the
    /// first wait rather than after [`FOLLOW_IDLE`].
    check_now: bool,
}

impl Follower {
    fn new(path: &Path, rec: &crate::store::ContainerRecord) -> Follower {
        let shim = crate::proc::pidfd(rec.shim_pid)
            // A pidfd on a reused pid would never fire; the idle check still ends the follow.
            .filter(|_| crate::proc::alive(rec.shim_pid, rec.shim_start));
        Follower {
            inotify: watch_modify(path),
            check_now: shim.is_none(),
            shim,
            last_check: Instant::now(),
        }
    }

    fn wait(&mut self) -> Woke {
        if std::mem::take(&mut self.check_now) {
            return Woke::Idle;
        }
        let mut fds: Vec<&OwnedFd> = Vec::with_capacity(2);
        fds.extend(self.shim.as_ref());
        fds.extend(self.inotify.as_ref());
        let timeout = if self.inotify.is_some() {
            FOLLOW_IDLE
        } else {
            FOLLOW_POLL
        };
        let ready = crate::proc::poll_readable(&fds, Some(timeout));
        if self.shim.is_some() && ready[0] {
            return Woke::ShimGone;
        }
        if let Some(inotify) = &self.inotify {
            if ready[ready.len() - 1] {
                drain_events(inotify);
                return Woke::Written;
            }
            return Woke::Idle;
        }
        if self.last_check.elapsed() >= FOLLOW_IDLE {
            self.last_check = Instant::now();
            return Woke::Idle;
        }
        Woke::Written
    }
}

/// An inotify fd reporting writes to `path`; None when inotify is unavailable.
fn watch_modify(path: &Path) -> Option<OwnedFd> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: inotify_init1 takes flags and returns a new fd or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd was just returned to us and has no other owner.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fd is a live inotify fd and c_path a NUL-terminated path for the call.
    let watch =
        unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c_path.as_ptr(), libc::IN_MODIFY) };
    (watch >= 0).then_some(fd)
}

/// Reads the queued inotify events (their content does not matter: one file is watched).
fn drain_events(inotify: &OwnedFd) {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes; the fd is non-blocking.
        let n = unsafe { libc::read(inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
    }
}

fn parse_line(text: &str) -> Option<LogLine> {
    let entry: Entry<'_> = serde_json::from_str(text).ok()?;
    Some(LogLine {
        stream: if entry.stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        time: entry.time.into_owned(),
        text: entry.log.into_owned().into_bytes(),
    })
}
