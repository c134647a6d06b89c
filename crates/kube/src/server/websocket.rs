//! kube-apiserver's WebSocket protocols, as kubectl 1.30+ speaks them (axum's WebSocket):
//! - `v5.channel.k8s.io` / `v4.channel.k8s.io` for exec and attach: each binary message is one
//!   channel byte then data; 0 stdin, 1 stdout, 2 stderr, 3 the final metav1.Status, 4
//!   resize; v5 adds 255, the client closing a channel (`[255, 0]`: stdin is done).
//! - `SPDY/3.1+portforward.k8s.io` for port-forward: the messages carry a SPDY connection's
//!   bytes, served by [`super::spdy`] as if it were the upgraded socket itself.

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::exec::{Channels, Output};

pub const V5: &str = "v5.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";
pub const PORT_FORWARD_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// A normal close (1000): client-go reads it as the end of the streams, anything else as an
/// error.
fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: close_code::NORMAL,
        reason: "".into(),
    }))
}

fn framed(channel: u8, data: &[u8]) -> Message {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(channel);
    out.extend_from_slice(data);
    Message::Binary(out.into())
}

/// Serves one exec or attach over the socket: the returned channels are the process's side.
pub fn channels(mut socket: WebSocket, stdin: bool, tty: bool) -> Channels {
    let (stdin_tx, stdin_rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let (resize_tx, resize_rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Output>();
    tokio::spawn(async move {
        let mut stdin_tx = Some(stdin_tx);
        loop {
            tokio::select! {
                message = socket.recv() => match message {
                    Some(Ok(Message::Binary(data))) => match data.first() {
                        Some(&STDIN) => {
                            if let Some(tx) = &stdin_tx {
                                let _ = tx.send(data.slice(1..));
                            }
                        }
                        Some(&RESIZE) => {
                            let _ = resize_tx.send(data.slice(1..));
                        }
                        Some(&CLOSE) if data.get(1) == Some(&STDIN) => stdin_tx = None,
                        _ => {}
                    },
                    Some(Ok(_)) => {}
                    // The client is gone: its stdin is done, nothing more goes out.
                    _ => break,
                },
                output = out_rx.recv() => {
                    let message = match output {
                        Some(Output::Stdout(data)) => framed(STDOUT, &data),
                        Some(Output::Stderr(data)) => framed(STDERR, &data),
                        Some(Output::Done(status)) => {
                            let _ = socket.send(framed(ERROR, status.to_string().as_bytes())).await;
                            let _ = socket.send(normal_close()).await;
                            break;
                        }
                        None => break,
                    };
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    Channels {
        stdin: stdin.then_some(stdin_rx),
        resize: tty.then_some(resize_rx),
        output: out_tx,
    }
}

/// The SPDY connection a port-forward tunnels through the socket, as a byte stream.
pub fn tunnel(mut socket: WebSocket) -> tokio::io::DuplexStream {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (mut read_half, mut write_half) = tokio::io::split(ours);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            tokio::select! {
                message = socket.recv() => match message {
                    Some(Ok(Message::Binary(data))) => {
                        if write_half.write_all(&data).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                n = read_half.read(&mut buf) => match n {
                    Ok(0) | Err(_) => {
                        let _ = socket.send(normal_close()).await;
                        break;
                    }
                    Ok(n) => {
                        if socket.send(Message::Binary(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                            break;
                        }
                    }
                },
            }
        }
        let _ = write_half.shutdown().await;
    });
    theirs
}
