//! `kubectl exec` and `kubectl attach`: a process in a pod's container (or the container's own
//! stdio), its streams carried by whichever transport the client chose (WebSocket or SPDY:
//! both hand over [`Channels`]), its end reported as kubelet reports it: a metav1.Status on
//! the error channel, `NonZeroExitCode` with the code as the cause.
//!
//! The exec runs as `berth exec` and the Docker API run one: the engine's checks, then its
//! exec helper (this multi-threaded server must not fork into a container itself; see
//! `berth_engine::exec::helper`). Attach talks to the container's shim, as `berth attach`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// What goes back to the client.
pub enum Output {
    Stdout(Bytes),
    Stderr(Bytes),
    /// The end: this Status on the error channel, then the transport closes.
    Done(Value),
}

/// The client's side of an exec or attach, whatever the transport.
pub struct Channels {
    /// The client's stdin, ending when it is done; None when it sends none.
    pub stdin: Option<mpsc::UnboundedReceiver<Bytes>>,
    /// Window sizes, `{"Width":W,"Height":H}` JSON, possibly split or joined; None without tty.
    pub resize: Option<mpsc::UnboundedReceiver<Bytes>>,
    pub output: mpsc::UnboundedSender<Output>,
}

pub fn success() -> Value {
    json!({"metadata": {}, "status": "Success"})
}

/// kubelet's Status for a command that exited non-zero (kubectl prints "command terminated
/// with exit code N" and exits N).
pub fn exited(cmd: &[String], code: i32) -> Value {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command {cmd:?}, exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// A failure before the process ran, as kube-apiserver passes the runtime's error on.
pub fn internal(message: &str) -> Value {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: {message}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    })
}

/// Window sizes out of the resize channel's JSON stream: (rows, columns).
struct Sizes {
    buf: Vec<u8>,
}

impl Sizes {
    fn feed(&mut self, data: &[u8]) -> Vec<(u16, u16)> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Size {
            width: u16,
            height: u16,
        }
        self.buf.extend_from_slice(data);
        let mut sizes = Vec::new();
        let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Size>();
        while let Some(Ok(size)) = stream.next() {
            sizes.push((size.height, size.width));
        }
        let used = stream.byte_offset();
        self.buf.drain(..used);
        sizes
    }
}

/// What to run in which container.
pub struct Request {
    pub container_id: String,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

fn set_window(master: &OwnedFd, rows: u16, cols: u16) {
    let size = nix::libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ on a pty master we own, with a valid winsize.
    unsafe {
        nix::libc::ioctl(master.as_raw_fd(), nix::libc::TIOCSWINSZ, &size);
    }
}

/// Sends what a reader yields as output until it ends (EIO from a pty master whose last
/// slave closed counts as the end).
async fn pump_out<R: AsyncRead + Unpin>(
    mut reader: R,
    output: mpsc::UnboundedSender<Output>,
    stderr: bool,
) {
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let data = Bytes::copy_from_slice(&buf[..n]);
        let _ = output.send(if stderr {
            Output::Stderr(data)
        } else {
            Output::Stdout(data)
        });
    }
}

/// Runs the exec and reports its end on the channels.
pub async fn exec(request: Request, channels: Channels) {
    let status = match run(&request, channels.stdin, channels.resize, &channels.output).await {
        Ok(0) => success(),
        Ok(code) => exited(&request.command, code),
        Err(message) => internal(&message),
    };
    let _ = channels.output.send(Output::Done(status));
}

async fn run(
    request: &Request,
    stdin: Option<mpsc::UnboundedReceiver<Bytes>>,
    resize: Option<mpsc::UnboundedReceiver<Bytes>>,
    output: &mpsc::UnboundedSender<Output>,
) -> Result<i32, String> {
    // kubectl sends the window size as soon as the streams are up: wait for it (briefly) so
    // the process starts on a terminal of that size, not 0x0.
    let mut resize = resize;
    let mut initial_size = None;
    if let (true, Some(rx)) = (request.tty, resize.as_mut())
        && let Ok(Some(data)) =
            tokio::time::timeout(std::time::Duration::from_secs(1), rx.recv()).await
    {
        initial_size = Sizes { buf: Vec::new() }.feed(&data).last().copied();
    }
    let engine_request = berth_engine::exec::ExecRequest {
        cmd: request.command.clone(),
        tty: request.tty,
        console_size: initial_size,
        ..Default::default()
    };
    let container = request.container_id.clone();
    let interactive = request.stdin;
    let command = tokio::task::spawn_blocking(move || {
        let engine = berth_engine::Engine::open()?;
        engine.exec_check(&container, &engine_request)?;
        engine.exec_helper_command(&container, &engine_request, interactive)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| {
        format!("error executing command in container: failed to exec in container: {e}")
    })?;
    let mut command = tokio::process::Command::from(command);
    if request.tty {
        return run_on_terminal(command, initial_size, stdin, resize, output).await;
    }
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if request.stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(if request.stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting the exec helper: {e}"))?;
    if let (Some(mut rx), Some(mut to_child)) = (stdin, child.stdin.take()) {
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if to_child.write_all(&data).await.is_err() {
                    break;
                }
            }
            // Dropping it closes the process's stdin: the client is done.
        });
    }
    let out = child
        .stdout
        .take()
        .map(|r| tokio::spawn(pump_out(r, output.clone(), false)));
    let err = child
        .stderr
        .take()
        .map(|r| tokio::spawn(pump_out(r, output.clone(), true)));
    let status = child.wait().await.map_err(|e| e.to_string())?;
    for pump in [out, err].into_iter().flatten() {
        let _ = pump.await;
    }
    Ok(status.code().unwrap_or(255))
}

/// `-t`: the helper gets a terminal of the server's (the engine's `on_new_terminal`, as the
/// Docker API's exec) and relays it to the exec's own pty, following its window size.
async fn run_on_terminal(
    mut command: tokio::process::Command,
    size: Option<(u16, u16)>,
    stdin: Option<mpsc::UnboundedReceiver<Bytes>>,
    resize: Option<mpsc::UnboundedReceiver<Bytes>>,
    output: &mpsc::UnboundedSender<Output>,
) -> Result<i32, String> {
    let master = berth_engine::exec::helper::on_new_terminal(command.as_std_mut())
        .map_err(|e| e.to_string())?;
    if let Some((rows, cols)) = size {
        set_window(&master, rows, cols);
    }
    let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| format!("dup: {e}"));
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting the exec helper: {e}"))?;
    // Only the child holds the terminal now: its exit ends the output (EIO on the master).
    drop(command);
    let master = std::sync::Arc::new(master);
    if let Some(mut rx) = resize {
        let master = master.clone();
        tokio::spawn(async move {
            let mut sizes = Sizes { buf: Vec::new() };
            while let Some(data) = rx.recv().await {
                for (rows, cols) in sizes.feed(&data) {
                    set_window(&master, rows, cols);
                }
            }
        });
    }
    if let Some(mut rx) = stdin {
        let mut writer = tokio::fs::File::from_std(std::fs::File::from(dup(&master)?));
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if writer.write_all(&data).await.is_err() {
                    break;
                }
            }
        });
    }
    let reader = tokio::fs::File::from_std(std::fs::File::from(dup(&master)?));
    let pump = tokio::spawn(pump_out(reader, output.clone(), false));
    let status = child.wait().await.map_err(|e| e.to_string())?;
    let _ = pump.await;
    Ok(status.code().unwrap_or(255))
}

/// Attaches to the container's own stdio through its shim until the container exits or the
/// client goes.
pub async fn attach(container_id: String, stdin: bool, channels: Channels) {
    use berth_engine::attach;
    let Channels {
        stdin: client_stdin,
        resize,
        output,
    } = channels;
    let id = container_id.clone();
    let stream = tokio::task::spawn_blocking(move || {
        berth_engine::Engine::open()?.attach(&id, attach::AttachOptions { stdin })
    })
    .await;
    let stream = match stream {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            let _ = output.send(Output::Done(internal(&e.to_string())));
            return;
        }
        Err(e) => {
            let _ = output.send(Output::Done(internal(&e.to_string())));
            return;
        }
    };
    let socket = stream
        .socket
        .set_nonblocking(true)
        .and_then(|_| tokio::net::UnixStream::from_std(stream.socket));
    let socket = match socket {
        Ok(s) => s,
        Err(e) => {
            let _ = output.send(Output::Done(internal(&e.to_string())));
            return;
        }
    };
    let (mut from_shim, to_shim) = socket.into_split();
    let to_shim = std::sync::Arc::new(tokio::sync::Mutex::new(to_shim));
    if let Some(mut rx) = client_stdin {
        let to_shim = to_shim.clone();
        tokio::spawn(async move {
            // The client's stdin ending is not the end of the attach (the shim would detach
            // on STDIN_EOF): kubectl goes on showing the output until the container ends.
            while let Some(data) = rx.recv().await {
                let frame = attach::frame(attach::STDIN, &data);
                if to_shim.lock().await.write_all(&frame).await.is_err() {
                    return;
                }
            }
        });
    }
    if let Some(mut rx) = resize {
        let to_shim = to_shim.clone();
        tokio::spawn(async move {
            let mut sizes = Sizes { buf: Vec::new() };
            while let Some(data) = rx.recv().await {
                for (rows, cols) in sizes.feed(&data) {
                    let frame = attach::resize_frame(rows, cols);
                    if to_shim.lock().await.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    let mut decoder = attach::Decoder::default();
    let mut buf = vec![0u8; 32 * 1024];
    'read: loop {
        tokio::select! {
            n = from_shim.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                while let Ok(Some((kind, payload))) = decoder.next_frame() {
                    match kind {
                        attach::STDOUT => {
                            let _ = output.send(Output::Stdout(payload.into()));
                        }
                        attach::STDERR => {
                            let _ = output.send(Output::Stderr(payload.into()));
                        }
                        attach::EXIT => break 'read,
                        _ => {}
                    }
                }
            }
            // The client went away: detach.
            _ = output.closed() => break,
        }
    }
    let _ = output.send(Output::Done(success()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_split_and_joined() {
        let mut sizes = Sizes { buf: Vec::new() };
        assert_eq!(sizes.feed(br#"{"Width":80,"Hei"#), vec![]);
        assert_eq!(
            sizes.feed(b"ght\":24}\n{\"Width\":100,\"Height\":40}\n"),
            vec![(24, 80), (40, 100)]
        );
    }

    #[test]
    fn a_non_zero_exit_carries_its_code() {
        let status = exited(&["sh".into(), "-c".into(), "exit 7".into()], 7);
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(status["details"]["causes"][0]["message"], "7");
    }
}
