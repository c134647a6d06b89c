//! Bridges between request/response bodies and the blocking engine, so a body of any size
//! streams through in chunks instead of being held whole in memory (a build context, a
//! `docker cp` archive either way).

use std::io::{Read, Write};

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// A request body as a blocking `Read`, fed by an async task chunk by chunk. Read it only
/// from a blocking thread (`engine::call`, `spawn_blocking`).
pub struct BodyReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl BodyReader {
    /// Starts pumping `body` into the returned reader (at most a few chunks ahead of it).
    pub fn spawn(body: Body) -> BodyReader {
        let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(16);
        let mut body = body.into_data_stream();
        tokio::spawn(async move {
            while let Some(chunk) = body.next().await {
                let failed = chunk.is_err();
                if failed {
                    let _ = tx.send(chunk.map_err(|e| e.to_string())).await;
                    return;
                }
                if tx.send(chunk.map_err(|e| e.to_string())).await.is_err() {
                    // The reader stopped early: a tar reader stops at the first end-of-archive
                    // block, a refused build at its error. Read what the client still sends,
                    // so the answer is not lost to a connection closed under its write.
                    drain_stream(body).await;
                    return;
                }
            }
        });
        BodyReader {
            chunks: rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// How much of a body left unread is read (and dropped) before the connection is let go.
const DRAIN_LIMIT: usize = 1 << 20;

/// Reads and drops up to [`DRAIN_LIMIT`] bytes of a request body that is refused unread.
/// Otherwise the server would close the connection with the client's bytes still unread, and
/// a TCP reset can then lose the answer (or break the client's write) before the client reads
/// it.
pub async fn drain(body: Body) {
    drain_stream(body.into_data_stream()).await
}

async fn drain_stream(mut body: axum::body::BodyDataStream) {
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match body.next().await {
            Some(Ok(chunk)) => read += chunk.len(),
            _ => return,
        }
    }
}

/// A blocking `Write` whose bytes become a response body, in chunks of up to 64 KiB. Write
/// only from a blocking thread. An error passed to [`BodyWriter::fail`] cuts the body short,
/// so the client sees a broken transfer rather than a complete-looking one.
pub struct BodyWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    pending: Vec<u8>,
}

const CHUNK: usize = 64 * 1024;

/// A response body that `write` fills on the blocking pool with that thread's engine: flushed
/// when `write` returns, cut short with the error's message when it fails.
pub fn from_engine_writer<F>(write: F) -> Body
where
    F: FnOnce(&berth_engine::Engine, &mut BodyWriter) -> Result<(), berth_engine::Error>
        + Send
        + 'static,
{
    let (mut writer, body) = BodyWriter::new();
    tokio::task::spawn_blocking(move || {
        let written = crate::engine::with_engine(|e| {
            write(e, &mut writer)?;
            writer
                .flush()
                .map_err(|err| berth_engine::Error::io("sending the response", err))
        });
        if let Err(e) = written {
            writer.fail(e.message);
        }
    });
    body
}

impl BodyWriter {
    /// The writer and the body it feeds.
    fn new() -> (BodyWriter, Body) {
        let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (
            BodyWriter {
                tx,
                pending: Vec::with_capacity(CHUNK),
            },
            Body::from_stream(stream),
        )
    }

    fn fail(self, message: String) {
        let _ = self.tx.blocking_send(Err(std::io::Error::other(message)));
    }

    fn send_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.pending.len());
        self.pending.extend_from_slice(&data[..n]);
        if self.pending.len() >= CHUNK {
            self.send_pending()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send_pending()
    }
}
