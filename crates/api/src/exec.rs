//! Exec objects: `POST /containers/{id}/exec` records one, `POST /exec/{id}/start` runs it.
//!
//! The process is started by the engine's exec helper (a `berth exec-helper` child of this
//! same binary, its request in the engine's private protocol: `berth_engine::exec::helper`),
//! never in this process: the engine's exec forks into the container from its caller, which
//! must be single-threaded. The child's stdio are pipes the server frames onto the hijacked
//! connection (or, for `-t`, a terminal of the server's).

use std::process::Stdio;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as QueryExtractor, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;

use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::query::{self, Query};
use crate::state::{AppState, ExecConfig, ExecEntry};
use crate::streams;
use berth_engine::attach::DetachKeys;

/// The body of `POST /exec/{id}/start`. The process's terminal and DetachKeys are the exec
/// create's, as dockerd runs it (`docker exec -it` sends Tty in both).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct StartConfig {
    detach: bool,
    /// Whether the stream is raw (true) or multiplexed, as dockerd frames it by the start's
    /// Tty; the process's terminal is the create's Tty all the same.
    tty: bool,
}

/// Docker's detach keys when an exec names none.
const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

fn detach_keys(config: &ExecConfig) -> ApiResult<DetachKeys> {
    let spec = match config.detach_keys.as_str() {
        "" => DEFAULT_DETACH_KEYS,
        keys => keys,
    };
    Ok(DetachKeys::parse(spec)?)
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(config): JsonBody<ExecConfig>,
) -> ApiResult<Response> {
    if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    detach_keys(&config)?;
    // The engine's rule for where an exec may run (409 for a paused or stopped container).
    let rec = engine::call(move |e| e.exec_container(&id)).await?;
    let exec_id = berth_engine::names::new_id();
    let entry = ExecEntry {
        id: exec_id.clone(),
        container_id: rec.id,
        config,
        running: false,
        exit_code: None,
        pid: 0,
        pty: None,
        finished: None,
    };
    {
        let mut inner = state.lock();
        // Docker forgets finished execs too; keep each for a while for `exec inspect`.
        inner.execs.retain(|_, e| {
            e.finished
                .is_none_or(|t| t.elapsed() < FORGET_FINISHED_AFTER)
        });
        inner.execs.insert(exec_id.clone(), entry);
    }
    Ok((StatusCode::CREATED, Json(json!({"Id": exec_id}))).into_response())
}

fn find(state: &AppState, id: &str) -> ApiResult<ExecEntry> {
    let inner = state.lock();
    inner
        .execs
        .get(id)
        .or_else(|| {
            let mut matches = inner.execs.values().filter(|e| e.id.starts_with(id));
            match (matches.next(), matches.next()) {
                (Some(one), None) if !id.is_empty() => Some(one),
                _ => None,
            }
        })
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
}

/// The engine's exec helper for an exec object: a `berth exec-helper` child (this same
/// binary) that gets the request in the engine's private protocol and runs the exec.
async fn command(entry: &ExecEntry, detach: bool) -> ApiResult<tokio::process::Command> {
    let c = &entry.config;
    let request = exec_request(entry, detach);
    let interactive = c.attach_stdin && !detach;
    let container = entry.container_id.clone();
    let cmd =
        engine::call(move |e| e.exec_helper_command(&container, &request, interactive)).await?;
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(false);
    Ok(cmd)
}

/// The engine's request for an exec object.
fn exec_request(entry: &ExecEntry, detach: bool) -> berth_engine::exec::ExecRequest {
    let c = &entry.config;
    berth_engine::exec::ExecRequest {
        cmd: c.cmd.clone().unwrap_or_default(),
        env: c.env.clone().unwrap_or_default(),
        user: c.user.clone(),
        workdir: c.working_dir.clone(),
        tty: c.tty,
        console_size: None,
        detach,
    }
}

/// How long a finished exec stays inspectable.
const FORGET_FINISHED_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

fn set_done(state: &AppState, id: &str, code: i32) {
    if let Some(entry) = state.lock().execs.get_mut(id) {
        entry.running = false;
        entry.exit_code = Some(code);
        entry.finished = Some(std::time::Instant::now());
    }
}

pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    streams::Upgrade(on_upgrade): streams::Upgrade,
    JsonBody(start): JsonBody<StartConfig>,
) -> ApiResult<Response> {
    let entry = find(&state, &id)?;
    if entry.running || entry.exit_code.is_some() {
        let what = if entry.exit_code.is_some() {
            "has already run"
        } else {
            "is already running"
        };
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Error: Exec command {} {what}", entry.id),
        ));
    }
    let tty = entry.config.tty;
    let keys = detach_keys(&entry.config)?;
    // The engine's checks first (the container runs, the command is there): as dockerd, a
    // failure is the start's error when detached, else written into the stream, and the
    // exec's exit code is 126.
    let checked = {
        let container = entry.container_id.clone();
        let request = exec_request(&entry, start.detach);
        engine::call(move |e| e.exec_check(&container, &request)).await
    };
    if let Err(e) = checked {
        set_done(&state, &entry.id, 126);
        if start.detach {
            return Err(e);
        }
        return Ok(failed_stream(e.message, start.tty, on_upgrade));
    }
    let mut cmd = command(&entry, start.detach).await?;
    if start.detach {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let output = cmd
            .output()
            .await
            .map_err(|e| ApiError::internal(format!("running the exec helper: {e}")))?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr)
                .trim()
                .trim_start_matches("Error: ")
                .to_string();
            set_done(&state, &entry.id, output.status.code().unwrap_or(126));
            return Err(ApiError::new(StatusCode::CONFLICT, message));
        }
        if let Some(e) = state.lock().execs.get_mut(&entry.id) {
            // Its process is not ours to watch: counted as running, and forgotten in time.
            e.running = true;
            e.finished = Some(std::time::Instant::now());
        }
        return Ok(StatusCode::OK.into_response());
    }
    if tty {
        return start_with_terminal(state, entry, cmd, on_upgrade, keys, start.tty);
    }
    let raw = start.tty;
    let c = &entry.config;
    cmd.stdin(if c.attach_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(if c.attach_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stderr(if c.attach_stderr {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .map_err(|e| ApiError::internal(format!("running the exec helper: {e}")))?;
    {
        let mut inner = state.lock();
        if let Some(e) = inner.execs.get_mut(&entry.id) {
            e.running = true;
            e.pid = child.id().unwrap_or(0) as i32;
        }
    }
    let to_pipe =
        |fd: Option<std::os::fd::OwnedFd>| fd.map(pipe::Receiver::from_owned_fd).transpose();
    let stdout = to_pipe(child.stdout.take().and_then(|s| s.into_owned_fd().ok()))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let stderr = to_pipe(child.stderr.take().and_then(|s| s.into_owned_fd().ok()))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let stdin = child.stdin.take().and_then(|s| s.into_owned_fd().ok());
    let exec_id = entry.id.clone();
    match on_upgrade {
        Some(on_upgrade) => {
            tokio::spawn(async move {
                let upgraded = on_upgrade.await.ok();
                let Some(upgraded) = upgraded else {
                    let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
                    set_done(&state, &exec_id, code);
                    return;
                };
                let (input, output) = tokio::io::split(TokioIo::new(upgraded));
                let mut output = streams::Detachable::new(output);
                let detachable = output.clone();
                let reader = tokio::spawn(async move {
                    if streams::pump_input_detaching(input, stdin, keys).await {
                        // The process runs on; its output from now on goes nowhere.
                        detachable.detach().await;
                    }
                });
                streams::pump_output(&mut output, stdout, stderr, raw).await;
                // The exit code must be readable before the client sees the end of the stream.
                let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
                set_done(&state, &exec_id, code);
                let _ = output.shutdown().await;
                reader.abort();
            });
            Ok(streams::upgraded_response())
        }
        None => {
            // An old-style client without Upgrade: the output is the response body.
            drop(stdin);
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
            tokio::spawn(async move {
                let mut writer = ChannelWriter(tx);
                streams::pump_output(&mut writer, stdout, stderr, raw).await;
                let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
                set_done(&state, &exec_id, code);
                let _ = writer.shutdown().await;
            });
            Ok(Response::builder()
                .header("Content-Type", "application/vnd.docker.raw-stream")
                .body(Body::from_stream(streams::tokio_stream(rx)))
                .unwrap_or_default())
        }
    }
}

/// `-t`: the exec helper gets a terminal of the server's (raw, so bytes pass as they
/// are) as its controlling terminal. Its window size is what `resize` sets: the child follows
/// it (SIGWINCH) into the exec's own pty.
fn start_with_terminal(
    state: AppState,
    entry: ExecEntry,
    mut cmd: tokio::process::Command,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
    keys: DetachKeys,
    raw_output: bool,
) -> ApiResult<Response> {
    let on_upgrade = on_upgrade.ok_or_else(|| {
        ApiError::bad_request("exec start with a TTY needs an HTTP upgrade (Upgrade: tcp)")
    })?;
    let master = berth_engine::exec::helper::on_new_terminal(cmd.as_std_mut())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let dup = |fd: &std::os::fd::OwnedFd| {
        fd.try_clone()
            .map_err(|e| ApiError::internal(format!("dup: {e}")))
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| ApiError::internal(format!("running the exec helper: {e}")))?;
    // Only the child holds the terminal now: its exit ends the output (EIO on the master).
    drop(cmd);
    let master = std::sync::Arc::new(master);
    {
        let mut inner = state.lock();
        if let Some(e) = inner.execs.get_mut(&entry.id) {
            e.running = true;
            e.pid = child.id().unwrap_or(0) as i32;
            e.pty = Some(master.clone());
        }
    }
    let reader = tokio::fs::File::from_std(std::fs::File::from(dup(&master)?));
    let writer = tokio::fs::File::from_std(std::fs::File::from(dup(&master)?));
    let exec_id = entry.id.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
            set_done(&state, &exec_id, code);
            return;
        };
        let (input, output) = tokio::io::split(TokioIo::new(upgraded));
        let mut output = streams::Detachable::new(output);
        let detachable = output.clone();
        let input_task = tokio::spawn(async move {
            if streams::pump_input_to_detaching(input, writer, keys).await {
                // The process runs on; its output from now on goes nowhere.
                detachable.detach().await;
            }
        });
        streams::pump_output(
            &mut output,
            Some(reader),
            None::<tokio::fs::File>,
            raw_output,
        )
        .await;
        let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
        set_done(&state, &exec_id, code);
        if let Some(e) = state.lock().execs.get_mut(&exec_id) {
            e.pty = None;
        }
        let _ = output.shutdown().await;
        input_task.abort();
    });
    Ok(streams::upgraded_response())
}

/// The stream of an exec that could not start, as dockerd's: the error's text (a stdout
/// frame unless `tty`), then the end.
fn failed_stream(
    message: String,
    tty: bool,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Response {
    let text = format!("{message}\r\n").into_bytes();
    let chunk = if tty {
        text
    } else {
        streams::frame(streams::STDOUT, &text)
    };
    match on_upgrade {
        Some(on_upgrade) => {
            tokio::spawn(async move {
                if let Ok(upgraded) = on_upgrade.await {
                    let mut io = TokioIo::new(upgraded);
                    tokio::time::sleep(streams::HEADERS_HEAD_START).await;
                    let _ = io.write_all(&chunk).await;
                    let _ = io.shutdown().await;
                }
            });
            streams::upgraded_response()
        }
        None => Response::builder()
            .header("Content-Type", "application/vnd.docker.raw-stream")
            .body(Body::from(chunk))
            .unwrap_or_default(),
    }
}

/// An AsyncWrite that sends each write as one body chunk.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl tokio::io::AsyncWrite for ChannelWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let sender = &self.0;
        match sender.try_send(Ok(Bytes::copy_from_slice(buf))) {
            Ok(()) => std::task::Poll::Ready(Ok(buf.len())),
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                // Back-pressure: try again shortly.
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
            }
        }
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

pub async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let e = find(&state, &id)?;
    let c = &e.config;
    let cmd: Vec<String> = c.cmd.clone().unwrap_or_default();
    Ok(Json(json!({
        "ID": e.id, "Running": e.running, "ExitCode": e.exit_code, "CanRemove": false, "ContainerID": e.container_id,
        "DetachKeys": c.detach_keys, "OpenStdin": c.attach_stdin, "OpenStdout": c.attach_stdout, "OpenStderr": c.attach_stderr, "Pid": e.pid,
        "ProcessConfig": {"tty": c.tty, "entrypoint": cmd.first(), "arguments": cmd.iter().skip(1).collect::<Vec<_>>(),
            "privileged": c.privileged, "user": c.user},
    })))
}

/// Sizes a `-t` exec's terminal (its exec helper passes the size on to the exec's pty).
pub async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
) -> ApiResult<StatusCode> {
    let entry = find(&state, &id)?;
    if let Some(pty) = &entry.pty {
        streams::set_window_size(
            pty,
            query::int(&q, "h")?.unwrap_or(0),
            query::int(&q, "w")?.unwrap_or(0),
        );
    }
    Ok(StatusCode::OK)
}
