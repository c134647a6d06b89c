//! Output streams: Docker's stdcopy framing, `logs`, and `attach` with the 101 hijack.
//!
//! Framing: without a TTY each chunk is `[stream, 0, 0, 0, len u32 BE]` + payload (1 stdout,
//! 2 stderr); with a TTY the bytes go raw. Clients pick the decoding from `Config.Tty`.

use std::os::fd::{AsRawFd, OwnedFd};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as QueryExtractor, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use berth_engine::attach::{self, AttachOptions, DetachKeys};
use berth_engine::logs::{LogOptions, Stream};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;

use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Query};
use crate::state::{AppState, PendingAttach};

pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// One stdcopy frame.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Sets a pty's window size (TIOCSWINSZ).
pub fn set_window_size(pty: &OwnedFd, rows: i64, cols: i64) {
    let size = libc::winsize {
        ws_row: rows.clamp(0, u16::MAX as i64) as u16,
        ws_col: cols.clamp(0, u16::MAX as i64) as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a valid winsize; the fd is a pty master we hold open.
    unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size) };
}

/// An mpsc receiver as a body stream.
pub fn tokio_stream<T>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A fresh pipe (read end, write end), close-on-exec.
pub fn pipe_pair() -> ApiResult<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ApiError::internal(format!("pipe: {e}")))
}

/// Docker's time parameters (`since`, `until`): unix seconds, possibly fractional; 0 = unset.
fn time_param(q: &Query, key: &str) -> ApiResult<Option<f64>> {
    match query::text(q, key) {
        None => Ok(None),
        Some(v) => {
            let t: f64 = v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}")))?;
            Ok((t != 0.0).then_some(t))
        }
    }
}

/// Streams the log lines the engine produces (on a blocking thread) as body chunks, framed
/// unless `tty`. Stops when the receiver is gone.
fn log_stream(
    id: String,
    options: LogOptions,
    tty: bool,
) -> tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let timestamps = options.timestamps;
    tokio::task::spawn_blocking(move || {
        let result = engine::with_engine(|e| {
            let watcher = tx.clone();
            e.logs_while(
                &id,
                &options,
                &mut |line| {
                    let mut text = Vec::with_capacity(line.text.len() + 32);
                    if timestamps {
                        text.extend_from_slice(line.time.as_bytes());
                        text.push(b' ');
                    }
                    text.extend_from_slice(&line.text);
                    let chunk = if tty {
                        text
                    } else {
                        frame(
                            if line.stream == Stream::Stderr {
                                STDERR
                            } else {
                                STDOUT
                            },
                            &text,
                        )
                    };
                    tx.blocking_send(Ok(chunk.into())).is_ok()
                },
                &|| !watcher.is_closed(),
            )
        });
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
        }
    });
    rx
}

pub async fn logs(
    Path(id): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
) -> ApiResult<Response> {
    let stdout = query::flag(&q, "stdout", false);
    let stderr = query::flag(&q, "stderr", false);
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match query::text(&q, "tail") {
        None | Some("all") => None,
        Some(n) => match n.parse::<i64>() {
            Ok(n) if n < 0 => None,
            Ok(n) => Some(n as usize),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid value for tail: {n:?}"
                )));
            }
        },
    };
    let options = LogOptions {
        follow: query::flag(&q, "follow", false),
        tail,
        timestamps: query::flag(&q, "timestamps", false),
        since: time_param(&q, "since")?,
        until: time_param(&q, "until")?,
        stdout,
        stderr,
    };
    let rec = engine::call(move |e| e.container(&id)).await?;
    berth_engine::logs::readable(&rec)?;
    let tty = rec.config.config.tty;
    let rx = log_stream(rec.id, options, tty);
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(tokio_stream(rx)))
        .unwrap_or_default())
}

/// The connection's upgrade, when the request asked for one (`Connection: Upgrade`): what a
/// hijacking handler (attach, exec start) answers 101 to. Taken from the request's parts, so
/// the handler can still read the body.
pub struct Upgrade(pub Option<hyper::upgrade::OnUpgrade>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Upgrade {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Upgrade(
            parts.extensions.remove::<hyper::upgrade::OnUpgrade>(),
        ))
    }
}

/// The 101 answer of a hijack (attach, exec start).
pub fn upgraded_response() -> Response {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONTENT_TYPE, "application/vnd.docker.raw-stream")
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .body(Body::empty())
        .unwrap_or_default()
}

/// Reads from `source` if there is one; never resolves otherwise.
async fn read_some<R: AsyncRead + Unpin>(
    source: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match source {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Copies the process's output pipes to the client (framed unless `tty`) until both reach EOF.
pub async fn pump_output<W, O, E>(out: &mut W, stdout: Option<O>, stderr: Option<E>, tty: bool)
where
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let (mut stdout, mut stderr) = (stdout, stderr);
    let mut a = vec![0u8; 32 * 1024];
    let mut b = vec![0u8; 32 * 1024];
    while stdout.is_some() || stderr.is_some() {
        let (stream, result) = tokio::select! {
            r = read_some(&mut stdout, &mut a) => (STDOUT, r),
            r = read_some(&mut stderr, &mut b) => (STDERR, r),
        };
        let n = match result {
            Ok(n) if n > 0 => n,
            _ => {
                if stream == STDOUT {
                    stdout = None
                } else {
                    stderr = None
                }
                continue;
            }
        };
        let data = if stream == STDOUT { &a[..n] } else { &b[..n] };
        let chunk = if tty {
            data.to_vec()
        } else {
            frame(stream, data)
        };
        if out.write_all(&chunk).await.is_err() || out.flush().await.is_err() {
            // The client went away; the process carries on.
            return;
        }
    }
}

/// Copies the client's bytes into `stdin` until the client half-closes; then closes `stdin`
/// (EOF for the process). Without `stdin`, just reads the client to its end.
pub async fn pump_input<R: AsyncRead + Unpin>(input: R, stdin: Option<OwnedFd>) {
    match stdin.map(pipe::Sender::from_owned_fd).transpose() {
        Ok(Some(sender)) => pump_input_to(input, sender).await,
        _ => pump_input_to(input, tokio::io::sink()).await,
    }
}

/// Copies the client's bytes into `target` until the client half-closes.
pub async fn pump_input_to<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut input: R,
    mut target: W,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match input.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        if target.write_all(&buf[..n]).await.is_err() || target.flush().await.is_err() {
            // Nobody reads any more: drain the client so that its half-close is seen.
            let _ = tokio::io::copy(&mut input, &mut tokio::io::sink()).await;
            return;
        }
    }
}

/// Which of a running container's streams an API client asked for.
#[derive(Clone, Copy)]
struct Wanted {
    stdout: bool,
    stderr: bool,
    tty: bool,
}

/// Copies the shim's output frames to the client (stdcopy-framed unless `tty`) until the
/// container exits or the shim lets the client go.
async fn pump_from_shim<W: AsyncWrite + Unpin>(
    mut from_shim: tokio::net::unix::OwnedReadHalf,
    output: &mut W,
    wanted: Wanted,
) {
    let mut header = [0u8; attach::HEADER_LEN];
    let mut payload = Vec::new();
    loop {
        if from_shim.read_exact(&mut header).await.is_err() {
            return;
        }
        let (kind, len) = attach::parse_header(&header);
        if len > attach::MAX_PAYLOAD {
            return;
        }
        payload.resize(len, 0);
        if from_shim.read_exact(&mut payload).await.is_err() {
            return;
        }
        let chunk = match kind {
            attach::STDOUT if wanted.stdout || (wanted.tty && wanted.stderr) => {
                if wanted.tty {
                    payload.clone()
                } else {
                    frame(STDOUT, &payload)
                }
            }
            attach::STDERR if wanted.stderr => frame(STDERR, &payload),
            attach::EXIT => return,
            _ => continue,
        };
        if output.write_all(&chunk).await.is_err() || output.flush().await.is_err() {
            return;
        }
    }
}

/// Copies the client's bytes to the shim as stdin frames, watching for the detach keys (then
/// the connection to the shim closes and the client is let go). The client's half-close ends
/// its attach; the container's stdin stays open. Without stdin, reads the client to its end.
async fn pump_to_shim<R: AsyncRead + Unpin>(
    mut input: R,
    mut to_shim: tokio::net::unix::OwnedWriteHalf,
    with_stdin: bool,
    mut keys: DetachKeys,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = input.read(&mut buf).await.unwrap_or_default();
        if !with_stdin {
            if n == 0 {
                // Keep the shim connection (the output) until the container or client ends.
                std::future::pending::<()>().await;
            }
            continue;
        }
        if n == 0 {
            let _ = to_shim
                .write_all(&attach::frame(attach::STDIN_EOF, &[]))
                .await;
            std::future::pending::<()>().await;
        }
        let (data, detach) = keys.feed(&buf[..n]);
        if !data.is_empty()
            && to_shim
                .write_all(&attach::frame(attach::STDIN, &data))
                .await
                .is_err()
        {
            return;
        }
        if detach {
            // Dropping the write half shuts it down: the shim lets this client go.
            return;
        }
    }
}

/// `POST /containers/{id}/attach?stream=&stdin=&stdout=&stderr=&logs=&detachKeys=`: hijacks
/// the connection. Before the container starts (as `docker run` does it) the pipes wait in the
/// server's state for `start` to hand them to the shim; to a running container the client
/// joins through its shim's attach socket.
pub async fn attach(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
    Upgrade(on_upgrade): Upgrade,
) -> ApiResult<Response> {
    let rec = engine::call(move |e| e.container(&id)).await?;
    let on_upgrade = on_upgrade.ok_or_else(|| {
        ApiError::bad_request("attach needs an HTTP upgrade (Connection: Upgrade, Upgrade: tcp)")
    })?;
    let tty = rec.config.config.tty;
    let want_stdin = query::flag(&q, "stdin", false) && rec.config.config.open_stdin;
    let want_stdout = query::flag(&q, "stdout", false);
    let want_stderr = query::flag(&q, "stderr", false);
    let logs = query::flag(&q, "logs", false);

    if rec.state.has_shim() {
        // Already running: join its shim's attach socket (live output, stdin for `-i`).
        let keys = DetachKeys::parse(query::text(&q, "detachKeys").unwrap_or("ctrl-p,ctrl-q"))?;
        let id = rec.id.clone();
        let options = AttachOptions { stdin: want_stdin };
        let stream = engine::call(move |e| e.attach(&id, options)).await?;
        let replay = (logs && (want_stdout || want_stderr)).then(|| LogOptions {
            follow: false,
            stdout: want_stdout,
            stderr: want_stderr,
            ..Default::default()
        });
        let wanted = Wanted {
            stdout: want_stdout,
            stderr: want_stderr,
            tty,
        };
        stream
            .socket
            .set_nonblocking(true)
            .map_err(|e| ApiError::internal(format!("attach socket: {e}")))?;
        let socket = tokio::net::UnixStream::from_std(stream.socket)
            .map_err(|e| ApiError::internal(format!("attach socket: {e}")))?;
        let id = rec.id.clone();
        let with_stdin = stream.stdin;
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let (input, mut output) = tokio::io::split(TokioIo::new(upgraded));
            if let Some(options) = replay {
                let mut rx = log_stream(id, options, tty);
                while let Some(Ok(chunk)) = rx.recv().await {
                    if output.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            }
            let (from_shim, to_shim) = socket.into_split();
            let writer = tokio::spawn(pump_to_shim(input, to_shim, with_stdin, keys));
            pump_from_shim(from_shim, &mut output, wanted).await;
            let _ = output.shutdown().await;
            writer.abort();
        });
        return Ok(upgraded_response());
    }

    let (stdin_r, stdin_w) = if want_stdin {
        pipe_pair().map(|(r, w)| (Some(r), Some(w)))?
    } else {
        (None, None)
    };
    let (stdout_r, stdout_w) = if want_stdout || (tty && want_stderr) {
        pipe_pair().map(|(r, w)| (Some(r), Some(w)))?
    } else {
        (None, None)
    };
    let (stderr_r, stderr_w) = if want_stderr && !tty {
        pipe_pair().map(|(r, w)| (Some(r), Some(w)))?
    } else {
        (None, None)
    };
    let stdout_rx = stdout_r
        .map(pipe::Receiver::from_owned_fd)
        .transpose()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let stderr_rx = stderr_r
        .map(pipe::Receiver::from_owned_fd)
        .transpose()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    state.lock().pending_attach.insert(
        rec.id.clone(),
        PendingAttach {
            stdin: stdin_r,
            stdout: stdout_w,
            stderr: stderr_w,
        },
    );
    let id = rec.id.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            state.lock().pending_attach.remove(&id);
            return;
        };
        let (input, mut output) = tokio::io::split(TokioIo::new(upgraded));
        let reader = tokio::spawn(pump_input(input, stdin_w));
        pump_output(&mut output, stdout_rx, stderr_rx, tty).await;
        let _ = output.shutdown().await;
        reader.abort();
    });
    Ok(upgraded_response())
}
