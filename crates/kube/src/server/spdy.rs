//! SPDY/3.1 as kubectl speaks it for exec, attach and port-forward (1.27 only speaks this;
//! newer ones fall back to it, and tunnel it through a WebSocket for port-forward).
//!
//! Written here by hand: SPDY has no maintained Rust crate (it was superseded by HTTP/2, and
//! Kubernetes keeps it alive only through Go's moby/spdystream). Only the server side of what
//! spdystream does is here: the client opens every stream (SYN_STREAM, answered at once with
//! SYN_REPLY, as spdystream's server does); DATA frames carry the bytes both ways, FIN closes
//! a direction; PING is echoed; WINDOW_UPDATE is sent for what was read (spdystream does not
//! enforce windows, a stricter peer would); SETTINGS and the peer's WINDOW_UPDATEs need no
//! answer. Header blocks are zlib streams (one per direction, for the whole connection) primed
//! with SPDY/3's dictionary.

use std::collections::HashMap;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const WINDOW_UPDATE: u16 = 9;
const FLAG_FIN: u8 = 1;
/// RST_STREAM's status for a stream the server will not take.
const REFUSED_STREAM: u32 = 3;
/// The largest DATA payload written in one frame.
const MAX_DATA: usize = 32 * 1024;

/// SPDY/3's header-compression dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1): each
/// common header name and value with a 4-byte big-endian length, then a run of status lines,
/// dates and media types.
fn dictionary() -> &'static [u8] {
    static DICTIONARY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DICTIONARY.get_or_init(|| {
        const WORDS: &[&str] = &[
            "options",
            "head",
            "post",
            "put",
            "delete",
            "trace",
            "accept",
            "accept-charset",
            "accept-encoding",
            "accept-language",
            "accept-ranges",
            "age",
            "allow",
            "authorization",
            "cache-control",
            "connection",
            "content-base",
            "content-encoding",
            "content-language",
            "content-length",
            "content-location",
            "content-md5",
            "content-range",
            "content-type",
            "date",
            "etag",
            "expect",
            "expires",
            "from",
            "host",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "last-modified",
            "location",
            "max-forwards",
            "pragma",
            "proxy-authenticate",
            "proxy-authorization",
            "range",
            "referer",
            "retry-after",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "vary",
            "via",
            "warning",
            "www-authenticate",
            "method",
            "get",
            "status",
            "200 OK",
            "version",
            "HTTP/1.1",
            "url",
            "public",
            "set-cookie",
            "keep-alive",
            "origin",
        ];
        const TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412\
            413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved \
            Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal \
            Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul \
            Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,\
            text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,\
            text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8\
            charset=iso-8859-1,utf-,*,enq=0.";
        let mut out = Vec::new();
        for word in WORDS {
            out.extend_from_slice(&(word.len() as u32).to_be_bytes());
            out.extend_from_slice(word.as_bytes());
        }
        out.extend_from_slice(TAIL.as_bytes());
        out
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    #[error("reading the SPDY connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a SPDY header block does not inflate: {0}")]
    Inflate(String),
    #[error("a malformed SPDY frame")]
    Malformed,
}

/// A stream the client opened: its headers (names lowercase) and the bytes it sends on it,
/// ending when it half-closes (FIN) or resets it.
pub struct Stream {
    pub id: u32,
    pub headers: HashMap<String, String>,
    pub data: mpsc::UnboundedReceiver<Bytes>,
}

impl Stream {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

enum Outgoing {
    Frame(Vec<u8>),
    Reply(u32),
    Shutdown,
}

/// Writes on the connection; clones share it.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl Writer {
    /// Sends bytes on a stream, in frames of at most 32 KiB.
    pub fn data(&self, id: u32, bytes: &[u8]) {
        for chunk in bytes.chunks(MAX_DATA) {
            let _ = self.tx.send(Outgoing::Frame(data_frame(id, 0, chunk)));
        }
    }

    /// Half-closes a stream: nothing more from the server on it.
    pub fn close(&self, id: u32) {
        let _ = self.tx.send(Outgoing::Frame(data_frame(id, FLAG_FIN, &[])));
    }

    /// Refuses or abandons a stream.
    pub fn reset(&self, id: u32) {
        let _ = self.tx.send(Outgoing::Frame(control(
            RST_STREAM,
            0,
            &[id.to_be_bytes(), REFUSED_STREAM.to_be_bytes()].concat(),
        )));
    }

    /// Says goodbye and closes the connection once what is queued is written.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Outgoing::Frame(control(GOAWAY, 0, &[0; 8])));
        let _ = self.tx.send(Outgoing::Shutdown);
    }
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

fn data_frame(id: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(id & 0x7fff_ffff).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, SpdyError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(SpdyError::Malformed)
}

/// The name/value block of SYN_STREAM, inflated with the connection's inflater.
fn inflate_headers(
    inflater: &mut Decompress,
    block: &[u8],
) -> Result<HashMap<String, String>, SpdyError> {
    let mut plain = Vec::with_capacity(block.len() * 4 + 256);
    let mut offset = 0;
    loop {
        let before = inflater.total_in();
        match inflater.decompress_vec(&block[offset..], &mut plain, FlushDecompress::Sync) {
            Ok(_) => {}
            Err(e) if e.needs_dictionary().is_some() => {
                inflater
                    .set_dictionary(dictionary())
                    .map_err(|e| SpdyError::Inflate(e.to_string()))?;
            }
            Err(e) => return Err(SpdyError::Inflate(e.to_string())),
        }
        offset += (inflater.total_in() - before) as usize;
        if offset >= block.len() && plain.len() < plain.capacity() {
            break;
        }
        plain.reserve(plain.capacity().max(256));
    }
    let count = u32_at(&plain, 0)? as usize;
    let mut at = 4;
    let mut text = || -> Result<String, SpdyError> {
        let n = u32_at(&plain, at)? as usize;
        let bytes = plain.get(at + 4..at + 4 + n).ok_or(SpdyError::Malformed)?;
        at += 4 + n;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    };
    let mut headers = HashMap::new();
    for _ in 0..count.min(256) {
        let name = text()?.to_ascii_lowercase();
        let value = text()?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// An empty name/value block, deflated with the connection's deflater (SYN_REPLY's).
fn deflate_empty_headers(deflater: &mut Compress) -> Vec<u8> {
    let plain = 0u32.to_be_bytes();
    let mut out = Vec::with_capacity(64);
    let mut offset = 0;
    loop {
        let before = deflater.total_in();
        match deflater.compress_vec(&plain[offset..], &mut out, FlushCompress::Sync) {
            Ok(Status::Ok | Status::BufError | Status::StreamEnd) => {}
            Err(_) => break,
        }
        offset += (deflater.total_in() - before) as usize;
        if offset >= plain.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(64);
    }
    out
}

/// Serves SPDY on an upgraded connection: the streams the client opens come out of the
/// receiver (it ends with the connection); the writer sends on them.
pub fn serve<IO>(io: IO) -> (mpsc::UnboundedReceiver<Stream>, Writer)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let (streams_tx, streams_rx) = mpsc::unbounded_channel();
    let handle = Writer { tx: out_tx };
    tokio::spawn(async move {
        let mut deflater = Compress::new(Compression::default(), true);
        if deflater.set_dictionary(dictionary()).is_err() {
            return;
        }
        while let Some(next) = out_rx.recv().await {
            let bytes = match next {
                Outgoing::Frame(bytes) => bytes,
                Outgoing::Reply(id) => {
                    let mut payload = id.to_be_bytes().to_vec();
                    payload.extend(deflate_empty_headers(&mut deflater));
                    control(SYN_REPLY, 0, &payload)
                }
                Outgoing::Shutdown => break,
            };
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let replies = handle.clone();
    tokio::spawn(async move {
        let _ = read_frames(&mut reader, &replies, streams_tx).await;
    });
    (streams_rx, handle)
}

async fn read_frames<R: AsyncRead + Unpin>(
    reader: &mut R,
    writer: &Writer,
    streams: mpsc::UnboundedSender<Stream>,
) -> Result<(), SpdyError> {
    let mut inflater = Decompress::new(true);
    let mut open: HashMap<u32, mpsc::UnboundedSender<Bytes>> = HashMap::new();
    loop {
        let mut head = [0u8; 8];
        if reader.read_exact(&mut head).await.is_err() {
            return Ok(());
        }
        let flags = head[4];
        let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload).await?;
        if head[0] & 0x80 == 0 {
            let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if !payload.is_empty() {
                if let Some(tx) = open.get(&id) {
                    let _ = tx.send(Bytes::from(payload));
                }
                let delta = (len as u32).to_be_bytes();
                let _ = writer.tx.send(Outgoing::Frame(control(
                    WINDOW_UPDATE,
                    0,
                    &[id.to_be_bytes(), delta].concat(),
                )));
            }
            if flags & FLAG_FIN != 0 {
                open.remove(&id);
            }
            continue;
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        match kind {
            SYN_STREAM => {
                let id = u32_at(&payload, 0)? & 0x7fff_ffff;
                let headers = inflate_headers(&mut inflater, payload.get(10..).unwrap_or(&[]))?;
                let (tx, rx) = mpsc::unbounded_channel();
                if flags & FLAG_FIN == 0 {
                    open.insert(id, tx);
                }
                let _ = writer.tx.send(Outgoing::Reply(id));
                if streams
                    .send(Stream {
                        id,
                        headers,
                        data: rx,
                    })
                    .is_err()
                {
                    writer.reset(id);
                }
            }
            RST_STREAM => {
                open.remove(&(u32_at(&payload, 0)? & 0x7fff_ffff));
            }
            PING => {
                let _ = writer.tx.send(Outgoing::Frame(control(PING, 0, &payload)));
            }
            GOAWAY => return Ok(()),
            // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to answer.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        // Its size in the draft, and its first and last bytes.
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b",utf-,*,enq=0."));
    }

    #[test]
    fn headers_round_trip_through_the_dictionary() {
        let mut plain = Vec::new();
        plain.extend_from_slice(&2u32.to_be_bytes());
        for text in ["streamtype", "error", "Port", "8080"] {
            plain.extend_from_slice(&(text.len() as u32).to_be_bytes());
            plain.extend_from_slice(text.as_bytes());
        }
        let mut deflater = Compress::new(Compression::default(), true);
        deflater.set_dictionary(dictionary()).unwrap();
        let mut block = Vec::with_capacity(256);
        deflater
            .compress_vec(&plain, &mut block, FlushCompress::Sync)
            .unwrap();
        let mut inflater = Decompress::new(true);
        let headers = inflate_headers(&mut inflater, &block).unwrap();
        assert_eq!(headers["streamtype"], "error");
        assert_eq!(headers["port"], "8080");
        // The reply's block inflates too (an empty header list).
        let reply = deflate_empty_headers(&mut deflater);
        assert!(inflate_headers(&mut inflater, &reply).unwrap().is_empty());
    }
}
