//! The `journald` log driver: each line of output is one journal entry, sent over the
//! journal's native protocol (a datagram of `FIELD=value` lines to its socket) with the fields
//! dockerd sets: MESSAGE, PRIORITY, CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_NAME,
//! CONTAINER_TAG, IMAGE_NAME and SYSLOG_IDENTIFIER.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use super::settings::LogSettings;
use super::writer::{LogSink, Stamp};
use super::{Stream, tag::Source};
use crate::Error;

/// Where systemd-journald listens.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The journal's socket: systemd's, or `BERTH_JOURNAL_SOCKET` (a journal elsewhere, a test's).
fn socket_path() -> PathBuf {
    std::env::var_os("BERTH_JOURNAL_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(JOURNAL_SOCKET))
}

pub(super) struct Journald {
    socket: UnixDatagram,
    /// The fields every entry of this container carries, encoded once.
    fixed: Vec<u8>,
    buf: Vec<u8>,
}

impl Journald {
    /// Connects as the container starts: without a journal the start fails, as dockerd's.
    pub(super) fn connect(settings: &LogSettings, source: &Source) -> Result<Journald, Error> {
        let path = socket_path();
        let not_enabled = || {
            Error::Internal(
                "failed to initialize logging driver: journald is not enabled on this host".into(),
            )
        };
        if !path.exists() {
            return Err(not_enabled());
        }
        let socket = UnixDatagram::unbound().map_err(|e| Error::io("journald socket", e))?;
        socket.connect(&path).map_err(|_| not_enabled())?;
        let tag = source.tag(settings.option("tag"))?;
        let mut fixed = Vec::new();
        let short: String = source.id.chars().take(12).collect();
        for (field, value) in [
            ("CONTAINER_ID", short.as_str()),
            ("CONTAINER_ID_FULL", &source.id),
            ("CONTAINER_NAME", source.name.trim_start_matches('/')),
            ("CONTAINER_TAG", &tag),
            ("IMAGE_NAME", &source.image_name),
            ("SYSLOG_IDENTIFIER", &tag),
        ] {
            push_field(&mut fixed, field, value.as_bytes());
        }
        Ok(Journald {
            socket,
            fixed,
            buf: Vec::with_capacity(512),
        })
    }
}

/// One field in the native protocol: `NAME=value\n`, or for a value with a newline
/// `NAME\n`, its length as 64-bit little endian, the bytes, `\n`.
fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

impl LogSink for Journald {
    fn line(&mut self, stream: Stream, line: &[u8], _stamp: &Stamp) {
        self.buf.clear();
        push_field(
            &mut self.buf,
            "MESSAGE",
            line.strip_suffix(b"\n").unwrap_or(line),
        );
        let priority: &[u8] = match stream {
            Stream::Stdout => b"6",
            Stream::Stderr => b"3",
        };
        push_field(&mut self.buf, "PRIORITY", priority);
        self.buf.extend_from_slice(&self.fixed);
        // A journal that went away loses lines; the container carries on.
        let _ = self.socket.send(&self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::push_field;

    #[test]
    fn values_with_newlines_are_length_prefixed() {
        let mut out = Vec::new();
        push_field(&mut out, "A", b"one");
        push_field(&mut out, "B", b"x\ny");
        assert_eq!(out, b"A=one\nB\n\x03\0\0\0\0\0\0\0x\ny\n");
    }
}
