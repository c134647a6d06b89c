//! The wire protocol between the host (the relay, `berth vm-relay`) and the guest agent
//! (`berth vm-agent`), over one byte stream (a virtio-serial port today; vsock would carry the
//! same frames). Every message is a frame: a 9-byte header (kind u8, stream u32 LE, payload
//! length u32 LE) and the payload. Streams multiplex processes: stream 0 is the container's
//! main process, every exec takes a fresh number the host picks; DNS queries number their own.
//!
//! Control payloads are JSON ([`crate::config`] types); data payloads are raw bytes.

use std::io::{self, Read, Write};

/// The largest payload a frame may carry; a larger length means a corrupt stream.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// The stream of the container's main process.
pub const MAIN_STREAM: u32 = 0;

/// What a frame says. Directions: g→h is guest to host, h→g host to guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// g→h, stream 0, JSON [`crate::config::Hello`]: the agent is up and reads frames.
    Hello = 1,
    /// h→g, JSON: on stream 0 a [`crate::config::GuestRun`] (set up the guest, start the main
    /// process), on any other stream a [`crate::config::GuestExec`].
    Run = 2,
    /// g→h, JSON [`crate::config::Started`]: the stream's process runs.
    Started = 3,
    /// g→h, JSON [`crate::config::Failed`]: the stream's process could not start (its exit code
    /// follows as an [`Kind::Exit`] frame too).
    Failed = 4,
    /// h→g, bytes for the process's stdin (or its pty); an empty payload closes it.
    Stdin = 5,
    /// g→h, the process's stdout (or its pty's output); empty: closed.
    Stdout = 6,
    /// g→h, the process's stderr; empty: closed.
    Stderr = 7,
    /// h→g, an i32 LE signal number for the stream's process.
    Signal = 8,
    /// h→g, the pty's new size: rows u16 LE, columns u16 LE.
    Resize = 9,
    /// g→h, an i32 LE exit code as Docker shows it (128 + n for a signal): the stream's process
    /// is gone and its output is drained.
    Exit = 10,
    /// g→h, a raw DNS query a guest resolver sent to the agent; the stream numbers the query.
    DnsQuery = 11,
    /// h→g, the raw DNS answer to the query of the same stream.
    DnsReply = 12,
    /// h→g: sync the disks and power the guest off.
    Poweroff = 13,
    /// h→g, an i64 LE count of nanoseconds since the Unix epoch: set the guest's clock.
    Clock = 14,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        use Kind::*;
        Some(match byte {
            1 => Hello,
            2 => Run,
            3 => Started,
            4 => Failed,
            5 => Stdin,
            6 => Stdout,
            7 => Stderr,
            8 => Signal,
            9 => Resize,
            10 => Exit,
            11 => DnsQuery,
            12 => DnsReply,
            13 => Poweroff,
            14 => Clock,
            _ => return None,
        })
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(kind: Kind, stream: u32, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            kind,
            stream,
            payload: payload.into(),
        }
    }

    /// A frame whose payload is `value` as JSON.
    pub fn json<T: serde::Serialize>(kind: Kind, stream: u32, value: &T) -> Frame {
        let payload = serde_json::to_vec(value).expect("protocol types serialize");
        Frame::new(kind, stream, payload)
    }

    /// A frame carrying one i32 (a signal, an exit code).
    pub fn int(kind: Kind, stream: u32, value: i32) -> Frame {
        Frame::new(kind, stream, value.to_le_bytes().to_vec())
    }

    /// The payload read as JSON.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ProtocolError> {
        serde_json::from_slice(&self.payload).map_err(|source| ProtocolError::Json {
            kind: self.kind,
            source,
        })
    }

    /// The payload read as one i32.
    pub fn as_int(&self) -> Result<i32, ProtocolError> {
        let bytes: [u8; 4] =
            self.payload
                .as_slice()
                .try_into()
                .map_err(|_| ProtocolError::BadLength {
                    kind: self.kind,
                    length: self.payload.len(),
                })?;
        Ok(i32::from_le_bytes(bytes))
    }

    /// The header and payload, ready to write in one call (one write keeps frames whole when
    /// several threads share the stream behind a lock).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.payload.len());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.stream.to_le_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Writes the frame whole.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.encode())?;
        out.flush()
    }

    /// Reads the next frame; `Ok(None)` at a clean end of stream (between frames).
    pub fn read_from(input: &mut impl Read) -> Result<Option<Frame>, ProtocolError> {
        let mut header = [0u8; 9];
        let mut filled = 0;
        while filled < header.len() {
            match input.read(&mut header[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(ProtocolError::Truncated),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ProtocolError::Io(e)),
            }
        }
        let kind = Kind::from_byte(header[0]).ok_or(ProtocolError::UnknownKind(header[0]))?;
        let stream = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes"));
        let length = u32::from_le_bytes(header[5..9].try_into().expect("4 bytes")) as usize;
        if length > MAX_PAYLOAD {
            return Err(ProtocolError::BadLength { kind, length });
        }
        let mut payload = vec![0u8; length];
        input.read_exact(&mut payload).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ProtocolError::Truncated,
            _ => ProtocolError::Io(e),
        })?;
        Ok(Some(Frame {
            kind,
            stream,
            payload,
        }))
    }
}

/// A stream that does not follow the protocol.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("reading from the guest channel: {0}")]
    Io(#[source] io::Error),
    #[error("the guest channel ended inside a frame")]
    Truncated,
    #[error("unknown frame kind {0} on the guest channel")]
    UnknownKind(u8),
    #[error("a {kind:?} frame of {length} bytes on the guest channel")]
    BadLength { kind: Kind, length: usize },
    #[error("a {kind:?} frame's JSON: {source}")]
    Json {
        kind: Kind,
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_clean_end_is_none() {
        let frames = vec![
            Frame::new(Kind::Stdout, 7, b"hello".to_vec()),
            Frame::int(Kind::Exit, 0, 137),
            Frame::new(Kind::Stdin, 3, Vec::new()),
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            f.write_to(&mut bytes).unwrap();
        }
        let mut input = bytes.as_slice();
        for f in &frames {
            assert_eq!(Frame::read_from(&mut input).unwrap().as_ref(), Some(f));
        }
        assert!(Frame::read_from(&mut input).unwrap().is_none());
        assert_eq!(frames[1].as_int().unwrap(), 137);
    }

    #[test]
    fn corrupt_streams_are_errors_not_garbage() {
        let whole = Frame::new(Kind::Stdout, 1, b"abc".to_vec()).encode();
        let mut cut = &whole[..whole.len() - 1];
        assert!(matches!(
            Frame::read_from(&mut cut),
            Err(ProtocolError::Truncated)
        ));
        let mut header_cut = &whole[..4];
        assert!(matches!(
            Frame::read_from(&mut header_cut),
            Err(ProtocolError::Truncated)
        ));
        let mut unknown = whole.clone();
        unknown[0] = 200;
        assert!(matches!(
            Frame::read_from(&mut unknown.as_slice()),
            Err(ProtocolError::UnknownKind(200))
        ));
        let mut huge = whole.clone();
        huge[5..9].copy_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
        assert!(matches!(
            Frame::read_from(&mut huge.as_slice()),
            Err(ProtocolError::BadLength { .. })
        ));
        assert!(Frame::new(Kind::Exit, 0, vec![1, 2]).as_int().is_err());
    }
}
