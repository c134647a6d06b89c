//! `/containers/...`: list, create, inspect, and the lifecycle verbs. Each handler parses the
//! request, makes one engine call on the blocking pool and shapes Docker's answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as QueryExtractor, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::types::CreateRequest;
use berth_engine::wait::WaitCondition;
use serde_json::json;

use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::query::{self, Query};
use crate::state::AppState;
// The body-stream helper lives in `streams` (below this module); build, events and images still
// reach it by this path.
pub use crate::streams::tokio_stream;

type Q = QueryExtractor<Query>;

pub async fn list(QueryExtractor(q): Q) -> ApiResult<Json<serde_json::Value>> {
    let filters = query::filters(&q)?;
    let all = query::flag(&q, "all", false);
    let limit = query::int(&q, "limit")?.filter(|n| *n > 0);
    let size = query::flag(&q, "size", false);
    let rows = engine::call(move |e| {
        let mut rows = Vec::new();
        for rec in e.list_containers_filtered(all || limit.is_some(), &filters)? {
            let summary = e.summary(&rec);
            let (ports, network_settings) = e.container_list_networking(&rec);
            let mut row = json!({
                "Id": summary.id, "Names": summary.names, "Image": summary.image, "ImageID": summary.image_id,
                "Command": summary.command, "Created": summary.created, "Ports": ports, "Labels": summary.labels,
                "State": summary.state, "Status": summary.status,
                "HostConfig": {"NetworkMode": network_mode(&rec)}, "NetworkSettings": network_settings, "Mounts": [],
            });
            if size {
                let (rw, rootfs) = e.container_size(&rec);
                row["SizeRw"] = json!(rw);
                row["SizeRootFs"] = json!(rootfs);
            }
            rows.push(row);
            if limit.is_some_and(|n| rows.len() as i64 >= n) {
                break;
            }
        }
        Ok(rows)
    })
    .await?;
    Ok(Json(serde_json::Value::Array(rows)))
}

fn network_mode(rec: &berth_engine::containers::ContainerRecord) -> String {
    match rec.config.host_config.network_mode.as_str() {
        "" => "default".into(),
        other => other.into(),
    }
}

pub async fn create(
    QueryExtractor(q): Q,
    JsonBody(request): JsonBody<CreateRequest>,
) -> ApiResult<Response> {
    if request.config.image.is_empty() {
        return Err(ApiError::bad_request(
            "config error: no image specified (the Image field is empty)",
        ));
    }
    let name = query::text(&q, "name").map(str::to_string);
    let id = engine::call(move |e| e.create_container(request, name.as_deref())).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warnings": []}))).into_response())
}

pub async fn inspect(
    Path(id): Path<String>,
    QueryExtractor(q): Q,
) -> ApiResult<Json<serde_json::Value>> {
    let size = query::flag(&q, "size", false);
    let doc = engine::call(move |e| {
        let mut doc = e.inspect_container(&id)?;
        if size {
            let rec = e.container(&id)?;
            let (rw, rootfs) = e.container_size(&rec);
            doc.size_rw = Some(rw);
            doc.size_root_fs = Some(rootfs);
        }
        Ok(berth_model::inspect::to_document(&doc))
    })
    .await?;
    Ok(Json(doc))
}

pub async fn start(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    start_tracked(state, id).await
}

/// Starts a container through the engine and keeps its shim's handle: the shim is this
/// server's child (reaped here, never left a zombie) and reports the exit code for `wait`.
async fn start_tracked(state: AppState, id: String) -> ApiResult<StatusCode> {
    let rec = engine::call({
        let id = id.clone();
        move |e| e.container(&id)
    })
    .await?;
    if rec.state.has_shim() {
        return Ok(StatusCode::NOT_MODIFIED);
    }
    let attach = state.lock().pending_attach.remove(&rec.id);
    let container_id = rec.id.clone();
    let started = engine::call(move |e| {
        use std::os::fd::AsFd;
        let fds = attach.as_ref().map(|a| berth_engine::lifecycle::Attach {
            stdin: a.stdin.as_ref().map(|f| f.as_fd()),
            stdout: a.stdout.as_ref().map(|f| f.as_fd()),
            stderr: a.stderr.as_ref().map(|f| f.as_fd()),
        });
        // Our copies of the attach ends close here, after the shim got its own.
        e.start_container(&container_id, fds)
    })
    .await;
    let started = match started {
        Ok(Some(started)) => started,
        Ok(None) => return Ok(StatusCode::NOT_MODIFIED),
        // An --rm container that cannot start is gone already (the engine's start removes it,
        // as dockerd's does); its client waits for condition=removed.
        Err(e) => return Err(e),
    };
    let mut started = started;
    {
        let mut inner = state.lock();
        if let Some(pty) = started.pty.take() {
            inner.ptys.insert(rec.id.clone(), std::sync::Arc::new(pty));
        }
    }
    // The shim is our child: reap it. Waiters read the exit from the engine (engine::wait).
    let state = state.clone();
    let container_id = rec.id;
    std::thread::Builder::new()
        .name("berth-reaper".into())
        // Small: it mostly waits; big enough for an engine lookup when the shim died silently.
        .stack_size(512 * 1024)
        .spawn(move || {
            if started.wait().is_none() {
                // A shim that died without a word (kill -9): the engine's repair (which its
                // wait makes) records the container's end (137) now, for its waiters.
                let _ = engine::with_engine(|e| e.wait_container(&container_id));
            }
            state.lock().ptys.remove(&container_id);
        })
        .map_err(|e| ApiError::internal(format!("starting a reaper thread: {e}")))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn stop(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<StatusCode> {
    let timeout = query::int(&q, "t")?;
    engine::call(move |e| {
        if !e.container(&id)?.state.has_shim() {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        e.stop_container(&id, timeout)
            .map(|_| StatusCode::NO_CONTENT)
    })
    .await
}

/// `restart`: the engine's stop, then this server's start (not the engine's restart, whose
/// shim handle would be dropped and the shim left a zombie of this long-lived process).
pub async fn restart(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryExtractor(q): Q,
) -> ApiResult<StatusCode> {
    let timeout = query::int(&q, "t")?;
    let container_id = engine::call(move |e| {
        e.stop_container(&id, timeout)?;
        Ok(e.container(&id)?.id)
    })
    .await?;
    start_tracked(state, container_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn kill(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<StatusCode> {
    let signal = query::text(&q, "signal").unwrap_or("KILL").to_string();
    engine::call(move |e| e.kill_container(&id, &signal)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<StatusCode> {
    if query::flag(&q, "link", false) {
        // `rm --link NAME`: a link, never the container (a bare name is refused).
        engine::call(move |e| e.remove_link(&id)).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let force = query::flag(&q, "force", false);
    let volumes = query::flag(&q, "v", false);
    engine::call(move |e| e.remove_container_and_volumes(&id, force, volumes)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn pause(Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine::call(move |e| e.pause_container(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unpause(Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine::call(move |e| e.unpause_container(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rename(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<StatusCode> {
    let name = query::text(&q, "name")
        .ok_or_else(|| ApiError::bad_request("rename: the name parameter is missing"))?
        .to_string();
    engine::call(move |e| e.rename_container(&id, &name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/update`: Docker's Resources fields and RestartPolicy.
pub async fn update(
    Path(id): Path<String>,
    JsonBody(update): JsonBody<berth_engine::types::UpdateRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let warnings = engine::call(move |e| e.update_container(&id, &update)).await?;
    Ok(Json(json!({ "Warnings": warnings })))
}

pub async fn prune(QueryExtractor(q): Q) -> ApiResult<Json<berth_engine::prune::ContainersPruned>> {
    let filters = query::filters(&q)?;
    Ok(Json(
        engine::call(move |e| e.prune_containers(&filters)).await?,
    ))
}

pub async fn top(
    Path(id): Path<String>,
    QueryExtractor(q): Q,
) -> ApiResult<Json<serde_json::Value>> {
    let args = query::text(&q, "ps_args").unwrap_or("").to_string();
    let (titles, rows) = engine::call(move |e| e.top(&id, &args)).await?;
    Ok(Json(json!({"Titles": titles, "Processes": rows})))
}

/// `resize?h=&w=`: the pty of a running `-t` container.
pub async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryExtractor(q): Q,
) -> ApiResult<StatusCode> {
    let rows = query::int(&q, "h")?.unwrap_or(0);
    let cols = query::int(&q, "w")?.unwrap_or(0);
    let rec = engine::call(move |e| e.container(&id)).await?;
    let pty = state.lock().ptys.get(&rec.id).cloned();
    if let Some(pty) = pty {
        crate::streams::set_window_size(&pty, rows, cols);
    } else if rec.config.config.tty && rec.state.has_shim() {
        // Started elsewhere (`berth run -dit`, another server): its shim holds the pty.
        let (rows, cols) = (
            rows.clamp(0, u16::MAX as i64),
            cols.clamp(0, u16::MAX as i64),
        );
        engine::call(move |e| e.resize_tty(&rec.id, rows as u16, cols as u16)).await?;
    }
    Ok(StatusCode::OK)
}

/// One engine stats sample in Docker's shape.
fn stats_json(s: &berth_engine::stats::StatsSample) -> serde_json::Value {
    let cpu = |c: &berth_engine::stats::CpuStats| {
        json!({
            "cpu_usage": {"total_usage": c.total_ns, "percpu_usage": c.per_cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": c.system_ns, "online_cpus": c.online_cpus, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let mut doc = json!({
        "read": s.read, "preread": s.preread,
        "pids_stats": {"current": s.pids, "limit": s.pids_limit},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": s.block_read},
            {"major": 0, "minor": 0, "op": "write", "value": s.block_write}],
            "io_serviced_recursive": null, "io_queue_recursive": null, "io_service_time_recursive": null, "io_wait_time_recursive": null,
            "io_merged_recursive": null, "io_time_recursive": null, "sectors_recursive": null},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu(&s.cpu), "precpu_stats": cpu(&s.precpu),
        "memory_stats": {"usage": s.memory_used, "limit": s.memory_limit, "stats": {}},
        "name": format!("/{}", s.name), "id": s.id,
    });
    // As dockerd: no "networks" key for a container without interfaces of its own.
    if !s.networks.is_empty() {
        let networks: serde_json::Map<String, serde_json::Value> = s
            .networks
            .iter()
            .map(|i| {
                (i.name.clone(), json!({
                    "rx_bytes": i.rx_bytes, "rx_packets": i.rx_packets, "rx_errors": i.rx_errors, "rx_dropped": i.rx_dropped,
                    "tx_bytes": i.tx_bytes, "tx_packets": i.tx_packets, "tx_errors": i.tx_errors, "tx_dropped": i.tx_dropped,
                }))
            })
            .collect();
        doc["networks"] = networks.into();
    }
    doc
}

/// `stats?stream=`: the engine's one-shot sample; when streaming, a first sample at once,
/// then one per [`STREAM_INTERVAL`](berth_engine::stats::STREAM_INTERVAL), each over the
/// time since the one before, until the client goes away.
pub async fn stats(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<Response> {
    let stream = query::flag(&q, "stream", true) && !query::flag(&q, "one-shot", false);
    if !stream {
        let mut samples = engine::call(move |e| e.stats_samples(&[id])).await?;
        let sample = samples
            .pop()
            .ok_or_else(|| ApiError::internal("the engine returned no stats sample"))?;
        return Ok(Json(stats_json(&sample)).into_response());
    }
    let reading = |id: String| engine::call(move |e| e.stats_reading(&id));
    let mut before = reading(id).await?;
    let id = before.id().to_string();
    let now = reading(id.clone()).await?;
    let doc = stats_json(&now.since(&before));
    before = now;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut line = serde_json::to_vec(&doc).unwrap_or_default();
        line.push(b'\n');
        if tx.send(Ok(line.into())).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(berth_engine::stats::STREAM_INTERVAL).await;
            let Ok(now) = reading(id.clone()).await else {
                return;
            };
            let mut line = serde_json::to_vec(&stats_json(&now.since(&before))).unwrap_or_default();
            line.push(b'\n');
            if tx.send(Ok(line.into())).await.is_err() {
                return;
            }
            before = now;
        }
    });
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from_stream(tokio_stream(rx)))
        .unwrap_or_default())
}

/// `wait?condition=not-running|next-exit|removed`: the engine's wait. The headers go out at
/// once (the CLI sends `start` only after it has them); the body comes when the condition is
/// met. A client that goes away drops the body, which cancels the engine's wait.
pub async fn wait(Path(id): Path<String>, QueryExtractor(q): Q) -> ApiResult<Response> {
    let condition: WaitCondition = query::text(&q, "condition")
        .unwrap_or("")
        .parse()
        .map_err(ApiError::from)?;
    // Taken before the headers go: the client starts the container once it has them.
    let point = engine::call(move |e| e.wait_point(&id)).await?;
    let body = futures_util::stream::once(async move {
        let cancelled = CancelOnDrop::default();
        let flag = cancelled.0.clone();
        let waited =
            engine::call(move |e| e.wait_from(point, condition, &|| flag.load(Ordering::Relaxed)))
                .await;
        let (code, error) = match waited {
            Ok(code) => (code, serde_json::Value::Null),
            Err(e) => (-1, json!({ "Message": e.message })),
        };
        let mut text =
            serde_json::to_vec(&json!({"StatusCode": code, "Error": error})).unwrap_or_default();
        text.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(text))
    });
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

/// Set when dropped: the body of a wait whose client went away.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `DELETE /containers/{parent}/{alias}?link=1` (`docker rm --link PARENT/ALIAS`): the
/// parent forgets its link; without `link=1` there is no such route.
pub async fn remove_link(
    Path((parent, alias)): Path<(String, String)>,
    QueryExtractor(q): Q,
) -> ApiResult<StatusCode> {
    if !query::flag(&q, "link", false) {
        return Err(ApiError::not_found("page not found"));
    }
    engine::call(move |e| e.remove_link(&format!("{parent}/{alias}"))).await?;
    Ok(StatusCode::NO_CONTENT)
}
