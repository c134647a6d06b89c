//! Container logs: the log drivers the shim writes through (`json-file`, `local`, `none`,
//! `syslog`, `journald`; one file each) and `logs`, which reads the file berth keeps in
//! Docker's json-file format, rotated files included, and follows it.

mod journald;
mod json_file;
pub mod settings;
mod syslog;
pub mod tag;
mod writer;

pub use settings::LogSettings;
pub use writer::LogWriter;

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Engine, Error};

/// Which output stream bytes came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
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
    /// The log a container's output goes through, opened as it starts (by its shim).
    pub(crate) fn open_log(&self, rec: &crate::store::ContainerRecord) -> Result<LogWriter, Error> {
        let settings = LogSettings::of(rec.config.host_config.log_config.as_ref());
        let source = tag::Source {
            id: rec.id.clone(),
            name: rec.name.clone(),
            image_id: rec.image_id.clone(),
            image_name: rec.image.clone(),
        };
        LogWriter::open(&settings, &self.log_path(&rec.id), &source)
    }

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
        readable(&rec)?;
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
        // Tail: read all, keep the last N matching; the rotated files come first.
        let mut existing = Vec::new();
        let rotated = json_file::read_rotated(&path).map_err(|e| Error::io("reading log", e))?;
        for text in rotated.split(|&b| b == b'\n') {
            if let Some(line) = std::str::from_utf8(text).ok().and_then(parse_line)
                && wanted(&line)
            {
                existing.push(line);
            }
        }
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
        // Set once the container is done: read to the end (across a last rotation), then stop.
        let mut finished = false;
        loop {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| Error::io("reading log", e))?;
            if n > 0 && (buf.ends_with('\n') || finished) {
                // With the shim gone, an unterminated last line is all there will be of it.
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
            } else if let Some(newer) = rotated_away(reader.get_ref(), &path) {
                // The writer rotated: the rest of the file being read, the files rotated
                // meanwhile, then on with the live one.
                let mut missed = Vec::new();
                std::io::Read::read_to_end(&mut reader, &mut missed)
                    .map_err(|e| Error::io("reading log", e))?;
                missed.extend(json_file::read_rotated_between(
                    &path,
                    reader.get_ref(),
                    &newer,
                ));
                for text in missed.split(|&b| b == b'\n') {
                    if let Some(line) = std::str::from_utf8(text).ok().and_then(parse_line)
                        && wanted(&line)
                        && !sink(line)
                    {
                        return Ok(());
                    }
                }
                reader = BufReader::new(newer);
                follower.rewatch(&path);
                continue;
            } else if truncated_under(&mut reader) {
                // One file (max-file=1) is truncated in place: read it again from its start.
                continue;
            } else if finished {
                return Ok(());
            }
            if !keep_going() {
                return Ok(());
            }
            finished = match follower.wait() {
                Woke::Written => continue,
                Woke::ShimGone => true,
                // Nothing new for a while: is the container still running?
                Woke::Idle => !self
                    .db
                    .container(&rec.id)?
                    .is_some_and(|r| r.state.has_shim()),
            };
        }
    }
}

/// The live log at `path` when it is no longer the file `current` (rotated away), opened.
fn rotated_away(current: &File, path: &Path) -> Option<File> {
    use std::os::unix::fs::MetadataExt;
    let reading = current.metadata().ok()?;
    let live = std::fs::metadata(path).ok()?;
    if (reading.dev(), reading.ino()) == (live.dev(), live.ino()) {
        return None;
    }
    File::open(path).ok()
}

/// Refuses, as dockerd does (501), to read the log of a container whose driver keeps none
/// (`none`, or a remote driver with `cache-disabled`). A front end that answers before it
/// streams asks first.
pub fn readable(rec: &crate::store::ContainerRecord) -> Result<(), Error> {
    if LogSettings::of(rec.config.host_config.log_config.as_ref()).keeps_file() {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "configured logging driver does not support reading".into(),
        ))
    }
}

/// Whether the file being read is now shorter than what was read of it (truncated by a
/// one-file rotation); if so the reader goes back to its start.
fn truncated_under(reader: &mut BufReader<File>) -> bool {
    let Ok(position) = reader.stream_position() else {
        return false;
    };
    let size = reader
        .get_ref()
        .metadata()
        .map(|m| m.len())
        .unwrap_or(position);
    size < position && reader.seek(SeekFrom::Start(0)).is_ok()
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

    /// Watches the live log again after a rotation replaced it.
    fn rewatch(&mut self, path: &Path) {
        self.inotify = watch_modify(path);
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
    let entry: json_file::Entry<'_> = serde_json::from_str(text).ok()?;
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
