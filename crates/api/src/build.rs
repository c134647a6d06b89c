//! `POST /build`: Docker's classic builder protocol over the engine's builder. The request body
//! is the context as a tar (gzip or not), streamed to the engine as it arrives; the answer is
//! JSON lines: `{"stream"}` progress (the classic builder's text, one message per piece as
//! dockerd sends it), `{"aux":{"ID"}}`, `Successfully built`/`Successfully tagged`, and a
//! failure as `{"errorDetail"}` whose `code` the docker CLI exits with. The query's build
//! parameters (limits, network, extra hosts, pull, rm/forcerm) are read as dockerd reads them:
//! a parameter's first value, dockerd's booleans and numbers.

use std::collections::BTreeMap;
use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request};
use axum::response::Response;
use serde_json::json;

use crate::body::BodyReader;
use crate::engine;
use crate::error::{ApiError, ApiResult};

/// A JSON map parameter (`buildargs`, `labels`): its first value, as dockerd reads it.
fn json_map(params: &[(String, String)], key: &str) -> ApiResult<BTreeMap<String, String>> {
    let Some((_, raw)) = params
        .iter()
        .find(|(k, _)| k == key)
        .filter(|(_, v)| !v.is_empty())
    else {
        return Ok(BTreeMap::new());
    };
    let map: BTreeMap<String, Option<String>> = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid {key} {raw:?}: {e}")))?;
    // A build arg given without a value ("--build-arg X" with no X in the client's env) is null.
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

fn line(value: serde_json::Value) -> Result<Bytes, std::io::Error> {
    let mut text = serde_json::to_vec(&value).unwrap_or_default();
    text.extend_from_slice(b"\r\n");
    Ok(Bytes::from(text))
}

pub async fn build(RawQuery(raw): RawQuery, request: Request) -> ApiResult<Response> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    // dockerd reads a parameter's first value (`dockerfile` given twice: the first wins).
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    // dockerd's boolean parameters: anything but "", "0", "no", "false" and "none" is true.
    let flag = |key: &str| {
        get(key).is_some_and(|v| {
            !matches!(
                v.trim().to_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            )
        })
    };
    // dockerd's numbers: a missing or malformed one is 0.
    let number = |key: &str| {
        get(key)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
    };
    if get("version").as_deref() == Some("2") {
        return Err(ApiError::bad_request(
            "BuildKit (version=2) is not supported: use the classic builder (DOCKER_BUILDKIT=0)",
        ));
    }
    if let Some(remote) = get("remote") {
        return Err(ApiError::bad_request(format!(
            "remote build contexts are not supported: {remote}"
        )));
    }
    let quiet = flag("q");
    let build_request = berth_engine::build::BuildRequest {
        context_dir: Default::default(),
        dockerfile: String::new(),
        dockerfile_name: get("dockerfile").unwrap_or_else(|| "Dockerfile".into()),
        tags: params
            .iter()
            .filter(|(k, v)| k == "t" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        build_args: json_map(&params, "buildargs")?,
        target: get("target"),
        no_cache: flag("nocache"),
        labels: json_map(&params, "labels")?,
        style: berth_engine::build::ProgressStyle::Classic,
        // `rm` is on unless sent and false; `forcerm` wins over it.
        intermediate: berth_engine::build::Intermediate::from_classic(
            get("rm").is_none() || flag("rm"),
            flag("forcerm"),
        ),
        step_options: berth_engine::build::StepOptions {
            memory: number("memory"),
            memory_swap: number("memswap"),
            shm_size: number("shmsize"),
            cpu_shares: number("cpushares"),
            cpu_quota: number("cpuquota"),
            cpu_period: number("cpuperiod"),
            cpuset_cpus: get("cpusetcpus").unwrap_or_default(),
            network_mode: get("networkmode").unwrap_or_default(),
            extra_hosts: params
                .iter()
                .filter(|(k, v)| k == "extrahosts" && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect(),
        },
        pull: flag("pull"),
        // The classic API has no secrets, SSH forwarding or entitlements: BuildKit clients send
        // those over their gRPC session (version=2, refused above). A RUN that requires a secret
        // fails naming its line; RUN --security=insecure is refused.
        secrets: Default::default(),
        ssh: Default::default(),
        allow_insecure: false,
        platform: get("platform").filter(|p| !p.is_empty()),
        // BuildKit-only (sent over its session): the classic API has no field for them.
        no_cache_filter: Vec::new(),
        build_contexts: Default::default(),
        outputs: Vec::new(),
    };

    // The body, chunk by chunk, into the blocking builder.
    let mut reader = BodyReader::spawn(request.into_body());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::task::spawn_blocking(move || {
        // A gzip context (docker build --compress) is unpacked on the fly.
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match reader.read(&mut magic[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        let head = std::io::Cursor::new(magic[..got].to_vec()).chain(reader);
        let context: Box<dyn Read> = if got == 2 && magic == [0x1f, 0x8b] {
            Box::new(flate2::read::GzDecoder::new(head))
        } else {
            Box::new(head)
        };
        let progress_tx = tx.clone();
        // The classic text comes as dockerd's messages, line ends included.
        let say = move |text: &str| {
            if !quiet {
                let _ = progress_tx.blocking_send(line(json!({ "stream": text })));
            }
        };
        let result = engine::with_engine(|e| {
            Ok(e.build_tar(context, &build_request, &say).map_err(|err| {
                let code = match &err {
                    berth_engine::build::BuildError::StepFailed { code, .. } => *code,
                    other => other.exit_code(),
                };
                (err.to_string(), code)
            }))
        });
        let last = match result {
            Ok(Ok(built)) => {
                let _ = tx.blocking_send(line(json!({ "aux": { "ID": built.image_id } })));
                if quiet {
                    line(json!({ "stream": format!("{}\n", built.image_id) }))
                } else {
                    for warning in &built.warnings {
                        let _ = tx.blocking_send(line(json!({ "stream": format!("{warning}\n") })));
                    }
                    let short = berth_engine::build::short_id(&built.image_id);
                    let _ = tx.blocking_send(line(
                        json!({ "stream": format!("Successfully built {short}\n") }),
                    ));
                    // The names as stored: `name` is `name:latest`.
                    for tag in &built.tags {
                        let _ = tx.blocking_send(line(
                            json!({ "stream": format!("Successfully tagged {tag}\n") }),
                        ));
                    }
                    return;
                }
            }
            Ok(Err((message, code))) => line(
                json!({ "errorDetail": { "code": code, "message": message }, "error": message }),
            ),
            Err(e) => line(
                json!({ "errorDetail": { "code": 1, "message": e.message }, "error": e.message }),
            ),
        };
        let _ = tx.blocking_send(last);
    });
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from_stream(crate::containers::tokio_stream(rx)))
        .unwrap_or_default())
}
