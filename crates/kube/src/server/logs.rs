//! `GET .../pods/NAME/log` (`kubectl logs [-f] [--tail N] [--timestamps] [-c C]`): the
//! container's log, read by the engine as `berth logs` reads it, streamed as plain text.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::routes::error;
use crate::status::ApiError;

/// The label the kubelet puts on a pod's containers with the container's name.
const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";

/// Which container of the pod the request means: `?container=`, else the default-container
/// annotation, else the only (or first) one.
pub(super) fn container_of(
    pod: &Value,
    query: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            pod["spec"]["initContainers"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .filter_map(|c| c["name"].as_str())
        .collect();
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    if let Some(wanted) = query.get("container").filter(|c| !c.is_empty()) {
        if names.contains(&wanted.as_str()) {
            return Ok(wanted.clone());
        }
        return Err(ApiError::bad_request(format!(
            "container {wanted} is not valid for pod {pod_name}"
        )));
    }
    if let Some(default) =
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].as_str()
    {
        return Ok(default.to_string());
    }
    names
        .first()
        .map(|n| n.to_string())
        .ok_or_else(|| ApiError::bad_request(format!("pod {pod_name} has no containers")))
}

/// The engine's id of the pod's container, its newest attempt.
pub(super) fn find_container(
    engine: &berth_engine::Engine,
    uid: &str,
    container: &str,
) -> Result<Option<String>, berth_engine::Error> {
    let mut found: Vec<(String, String)> = engine
        .list_containers(true)?
        .into_iter()
        .filter(|r| {
            let labels = r.config.config.labels.as_ref();
            labels
                .and_then(|l| l.get("io.kubernetes.pod.uid"))
                .map(String::as_str)
                == Some(uid)
                && labels
                    .and_then(|l| l.get(CONTAINER_NAME_LABEL))
                    .map(String::as_str)
                    == Some(container)
        })
        .map(|r| (r.created.clone(), r.id))
        .collect();
    found.sort();
    Ok(found.pop().map(|(_, id)| id))
}

/// Unix seconds of an RFC 3339 time.
fn seconds(time: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
}

pub async fn stream(pod: &Value, query: &HashMap<String, String>) -> Response {
    let container = match container_of(pod, query) {
        Ok(c) => c,
        Err(e) => return error(&e),
    };
    let uid = crate::controllers::meta_str(pod, "uid").to_string();
    let pod_name = crate::controllers::meta_str(pod, "name").to_string();
    let truthy = |k: &str| query.get(k).is_some_and(|v| v == "true" || v == "1");
    let previous = truthy("previous");
    let mut options = berth_engine::logs::LogOptions {
        follow: truthy("follow"),
        tail: query.get("tailLines").and_then(|t| t.parse().ok()),
        timestamps: truthy("timestamps"),
        since: query
            .get("sinceSeconds")
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| chrono::Utc::now().timestamp() as f64 - s)
            .or_else(|| query.get("sinceTime").and_then(|t| seconds(t))),
        until: None,
        stdout: true,
        stderr: true,
    };
    let (tx, mut rx) = mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(64);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    std::thread::spawn(move || {
        let engine = match berth_engine::Engine::open() {
            Ok(e) => e,
            Err(e) => {
                let _ = first_tx.send(Err(ApiError::internal(e)));
                return;
            }
        };
        let id = match find_container(&engine, &uid, &container) {
            Ok(Some(id)) => id,
            Ok(None) => {
                let _ = first_tx.send(Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
                ))));
                return;
            }
            Err(e) => {
                let _ = first_tx.send(Err(ApiError::internal(e)));
                return;
            }
        };
        // A restarted container keeps one log: each attempt is the part written since its
        // start, the previous one what came before the current start.
        // The start is recorded just after the process starts (it may have written by then):
        // the boundary is the previous attempt's exit when known, else the start less a
        // moment.
        let (started, restarts, boundary) = match engine.container(&id) {
            Ok(rec) => {
                let started = seconds(&rec.started_at);
                let exited = seconds(&rec.finished_at);
                let boundary = match (started, exited) {
                    (Some(s), Some(e)) if rec.restart_count > 0 && e < s => Some(e),
                    (Some(s), _) => Some(s - 0.05),
                    _ => None,
                };
                (started, rec.restart_count, boundary)
            }
            Err(e) => {
                let _ = first_tx.send(Err(ApiError::internal(e)));
                return;
            }
        };
        if previous {
            if restarts == 0 {
                let _ = first_tx.send(Err(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
                ))));
                return;
            }
            options.follow = false;
            options.until = boundary;
        } else if let (Some(start), true) = (boundary, restarts > 0) {
            options.since = Some(options.since.map_or(start, |s| s.max(start)));
        }
        let _ = first_tx.send(Ok(()));
        let timestamps = options.timestamps;
        // `-f` ends with the attempt it began on, as kubelet's stream ends with its container:
        // once the container started again, nothing from the new attempt goes out.
        let newer_start = std::cell::Cell::new(None::<f64>);
        let now = || chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        let last_check = std::cell::Cell::new(now());
        // Checks at most every 200 ms, and for any line written after the last check (it may
        // be the next attempt's).
        let check_attempt = |line_time: Option<f64>| {
            let recent = now() - last_check.get() < 0.2;
            let newer_line = line_time.is_some_and(|t| t > last_check.get() - 0.05);
            if newer_start.get().is_some() || (recent && !newer_line) {
                return;
            }
            last_check.set(now());
            if let Ok(rec) = engine.container(&id)
                && seconds(&rec.started_at) != started
            {
                // The attempt followed ended at its exit; later lines are the next one's.
                let exited = seconds(&rec.finished_at)
                    .filter(|e| started.is_none_or(|s| *e >= s))
                    .unwrap_or(f64::MAX);
                newer_start.set(Some(exited));
            }
        };
        let _ = engine.logs_while(
            &id,
            &options,
            &mut |line| {
                if options.follow {
                    check_attempt(seconds(&line.time));
                    if let (Some(newer), Some(t)) = (newer_start.get(), seconds(&line.time))
                        && t > newer
                    {
                        return false;
                    }
                }
                let mut text = Vec::new();
                if timestamps {
                    text.extend_from_slice(line.time.as_bytes());
                    text.push(b' ');
                }
                text.extend_from_slice(&line.text);
                if !text.ends_with(b"\n") {
                    text.push(b'\n');
                }
                tx.blocking_send(Ok(text.into())).is_ok()
            },
            &|| {
                check_attempt(None);
                !tx.is_closed() && newer_start.get().is_none()
            },
        );
    });
    match first_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(&e),
        Err(_) => return error(&ApiError::internal("the log reader stopped")),
    }
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
