//! The streaming subresources of a pod (`exec`, `attach`, `portforward`): the pod and its
//! container looked up first (errors are ordinary Status answers, as kube-apiserver gives
//! them before any upgrade), then the connection upgraded to what the client asked for:
//! WebSocket (kubectl 1.30+) or SPDY/3.1 (older ones, and newer ones' fallback).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::exec::{self, Channels, Output};
use super::resources::Target;
use super::routes::{App, error};
use super::{logs, portforward, spdy, websocket};
use crate::status::ApiError;

/// The label the kubelet puts on a pod's containers with the pod's uid.
const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";

/// What the client asked for in the query (`command` may repeat).
struct Options {
    commands: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

fn options(request: &Request) -> Options {
    let pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let flag = |name: &str| {
        pairs
            .iter()
            .any(|(k, v)| k == name && (v == "true" || v == "1"))
    };
    Options {
        commands: pairs
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect(),
        container: pairs
            .iter()
            .find(|(k, _)| k == "container")
            .map(|(_, v)| v.clone()),
        stdin: flag("stdin"),
        stdout: flag("stdout"),
        stderr: flag("stderr"),
        tty: flag("tty"),
    }
}

/// The engine's id of the container (`?container=`, else the pod's default), running.
async fn container_id(pod: &Value, wanted: Option<String>) -> Result<String, ApiError> {
    let mut query = HashMap::new();
    if let Some(c) = wanted {
        query.insert("container".to_string(), c);
    }
    let name = logs::container_of(pod, &query)?;
    let uid = crate::controllers::meta_str(pod, "uid").to_string();
    let pod_name = crate::controllers::meta_str(pod, "name").to_string();
    let lookup = name.clone();
    let found = tokio::task::spawn_blocking(move || {
        let engine = berth_engine::Engine::open()?;
        logs::find_container(&engine, &uid, &lookup)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    found.ok_or_else(|| {
        ApiError::bad_request(format!(
            "container {name} is not running in pod {pod_name}: waiting to start: ContainerCreating"
        ))
    })
}

/// The pid of a running process of the pod (its infra container's, or any of its
/// containers'): its network namespace is the pod's.
async fn pod_pid(pod: &Value) -> Result<i32, ApiError> {
    let uid = crate::controllers::meta_str(pod, "uid").to_string();
    let pod_name = crate::controllers::meta_str(pod, "name").to_string();
    let found = tokio::task::spawn_blocking(move || {
        let engine = berth_engine::Engine::open()?;
        Ok::<_, berth_engine::Error>(
            engine
                .list_containers(false)?
                .into_iter()
                .filter(|r| {
                    r.config
                        .config
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(POD_UID_LABEL))
                        == Some(&uid)
                        && r.pid > 0
                })
                .map(|r| r.pid)
                .next(),
        )
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    found.ok_or_else(|| {
        ApiError::bad_request(format!(
            "unable to upgrade connection: pod {pod_name} does not have a host assigned or is not running"
        ))
    })
}

fn offers(request: &Request, name: header::HeaderName, wanted: &str) -> bool {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(wanted))
}

/// The SPDY/3.1 upgrade: 101 with the stream protocol chosen from those offered, then `serve`
/// on the connection.
fn spdy_upgrade<F, Fut>(mut request: Request, protocols: &[&'static str], serve: F) -> Response
where
    F: FnOnce(tokio::sync::mpsc::UnboundedReceiver<spdy::Stream>, spdy::Writer) -> Fut
        + Send
        + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let version = header::HeaderName::from_static("x-stream-protocol-version");
    let Some(protocol) = protocols
        .iter()
        .find(|p| offers(&request, version.clone(), p))
    else {
        return error(&ApiError::bad_request(format!(
            "unable to upgrade: unable to negotiate protocol: client supports {:?}, server supports {protocols:?}",
            request
                .headers()
                .get_all(&version)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
        )));
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let (streams, writer) = spdy::serve(TokioIo::new(upgraded));
            serve(streams, writer).await;
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    headers.insert(version, HeaderValue::from_static(protocol));
    response
}

/// The streams of an exec/attach over SPDY as [`Channels`]: the client opens `error` and what
/// it asked for (`stdin`, `stdout`, `stderr`, `resize` with a tty) before sending anything.
async fn spdy_channels(
    mut streams: tokio::sync::mpsc::UnboundedReceiver<spdy::Stream>,
    writer: spdy::Writer,
    options: &Options,
) -> Option<Channels> {
    let mut wanted = vec!["error"];
    for (on, name) in [
        (options.stdin, "stdin"),
        (options.stdout, "stdout"),
        (options.stderr && !options.tty, "stderr"),
        (options.tty, "resize"),
    ] {
        if on {
            wanted.push(name);
        }
    }
    let mut got: HashMap<String, spdy::Stream> = HashMap::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while wanted.iter().any(|w| !got.contains_key(*w)) {
        match tokio::time::timeout_at(deadline, streams.recv()).await {
            Ok(Some(stream)) => {
                got.insert(stream.header("streamtype").to_string(), stream);
            }
            _ => {
                writer.shutdown();
                return None;
            }
        }
    }
    let ids: HashMap<String, u32> = got.iter().map(|(k, s)| (k.clone(), s.id)).collect();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Output>();
    tokio::spawn(async move {
        // Keeps the connection's stream receiver alive (later streams are refused).
        let _streams = streams;
        while let Some(output) = out_rx.recv().await {
            match output {
                Output::Stdout(data) => {
                    if let Some(id) = ids.get("stdout") {
                        writer.data(*id, &data);
                    }
                }
                Output::Stderr(data) => {
                    if let Some(id) = ids.get("stderr") {
                        writer.data(*id, &data);
                    }
                }
                Output::Done(status) => {
                    let error_id = ids["error"];
                    writer.data(error_id, status.to_string().as_bytes());
                    for id in ids.values() {
                        writer.close(*id);
                    }
                    writer.shutdown();
                    break;
                }
            }
        }
    });
    Some(Channels {
        stdin: got.remove("stdin").map(|s| s.data),
        resize: got.remove("resize").map(|s| s.data),
        output: out_tx,
    })
}

pub async fn handle(app: App, target: Target, request: Request) -> Response {
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_else(|| "default".into());
    let pod = match app.get(target.kind, &namespace, &name) {
        Ok(pod) => pod,
        Err(e) => return error(&e),
    };
    let subresource = target.subresource.clone().unwrap_or_default();
    let options = options(&request);
    let websocket = offers(&request, header::UPGRADE, "websocket");
    if subresource == "portforward" {
        let pid = match pod_pid(&pod).await {
            Ok(pid) => pid,
            Err(e) => return error(&e),
        };
        let uid = pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let serve = move |streams, writer| portforward::serve(streams, writer, name, uid, pid);
        if websocket {
            let (mut parts, _) = request.into_parts();
            return match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                Ok(ws) => ws.protocols([websocket::PORT_FORWARD_TUNNEL]).on_upgrade(
                    move |socket| async move {
                        let (streams, writer) = spdy::serve(websocket::tunnel(socket));
                        serve(streams, writer).await;
                    },
                ),
                Err(rejection) => rejection.into_response(),
            };
        }
        return spdy_upgrade(request, &["portforward.k8s.io"], serve);
    }
    if subresource == "exec" && options.commands.is_empty() {
        return error(&ApiError::bad_request(
            "you must specify at least 1 command",
        ));
    }
    let container = match container_id(&pod, options.container.clone()).await {
        Ok(id) => id,
        Err(e) => return error(&e),
    };
    let run = move |channels: Channels, options: Options| async move {
        if subresource == "attach" {
            exec::attach(container, options.stdin, channels).await;
        } else {
            let request = exec::Request {
                container_id: container,
                command: options.commands.clone(),
                stdin: options.stdin,
                stdout: options.stdout,
                stderr: options.stderr,
                tty: options.tty,
            };
            exec::exec(request, channels).await;
        }
    };
    if websocket {
        let (mut parts, _) = request.into_parts();
        return match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => {
                ws.protocols([websocket::V5, websocket::V4])
                    .on_upgrade(move |socket| async move {
                        let channels = websocket::channels(socket, options.stdin, options.tty);
                        run(channels, options).await;
                    })
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    if offers(&request, header::UPGRADE, "SPDY/3.1") {
        return spdy_upgrade(
            request,
            &["v4.channel.k8s.io"],
            move |streams, writer| async move {
                if let Some(channels) = spdy_channels(streams, writer, &options).await {
                    run(channels, options).await;
                }
            },
        );
    }
    error(&ApiError::bad_request("Upgrade request required"))
}
