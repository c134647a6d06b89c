//! `/images/...`: list, pull (`create?fromImage=`), push, inspect, history, tag, remove, prune,
//! save (`get`) and load.
//! Image names contain slashes (`127.0.0.1:5000/rsx/bb`), so everything under `/images/` that
//! is not a fixed route is dispatched here from the rest of the path.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as QueryExtractor, RawQuery, Request};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::{self, BodyReader};
use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Query};

type Q = QueryExtractor<Query>;

pub async fn list(QueryExtractor(q): Q) -> ApiResult<Json<serde_json::Value>> {
    let all = query::flag(&q, "all", false);
    let filters = query::filters(&q)?;
    let images = engine::call(move |e| e.list_images(all, &filters)).await?;
    let rows: Vec<serde_json::Value> = images
        .into_iter()
        .map(|i| {
            json!({
                "Id": i.id, "ParentId": "", "RepoTags": i.repo_tags, "RepoDigests": [], "Created": i.created,
                "Size": i.size, "VirtualSize": i.size, "SharedSize": -1, "Labels": i.labels, "Containers": i.containers,
            })
        })
        .collect();
    Ok(Json(serde_json::Value::Array(rows)))
}

/// `POST /images/create?fromImage=&tag=`: a pull, reported as JSON progress lines. An error
/// before the first line is a plain error response (the CLI's auto-pull reads its status).
/// With `fromSrc=-` instead: `docker import`, the body being the rootfs tarball.
pub async fn create(
    headers: HeaderMap,
    QueryExtractor(q): Q,
    RawQuery(raw): RawQuery,
    request: Request,
) -> ApiResult<Response> {
    if let Some(source) = query::text(&q, "fromSrc") {
        return import(source, &q, raw.as_deref(), request).await;
    }
    let credentials = crate::registry_auth::from_headers(&headers)?;
    let Some(from) = query::text(&q, "fromImage") else {
        return Err(ApiError::bad_request(
            "images/create needs fromImage (a pull) or fromSrc (an import)",
        ));
    };
    let name = match query::text(&q, "tag") {
        Some(tag) if tag.starts_with("sha256:") => format!("{from}@{tag}"),
        Some(tag)
            if !from.contains('@') && !from.rsplit('/').next().unwrap_or(from).contains(':') =>
        {
            format!("{from}:{tag}")
        }
        _ => from.to_string(),
    };
    let options = berth_engine::distribution::PullOptions {
        platform: query::text(&q, "platform").map(str::to_string),
        all_tags: false,
    };
    progress_stream(move |e, progress| {
        e.pull_image_as(&name, &options, credentials, progress)
            .map(|_| None)
    })
    .await
}

/// `docker import`: the request body (`fromSrc=-`) as a one-layer image, tagged `repo[:tag]`,
/// with `changes` (repeated) and `message`; answers Docker's one status line with the image ID.
async fn import(
    source: &str,
    q: &Query,
    raw: Option<&str>,
    request: Request,
) -> ApiResult<Response> {
    if source != "-" {
        return Err(ApiError::bad_request(format!(
            "importing from {source:?} is not supported: send the tarball as the body (fromSrc=-)"
        )));
    }
    let changes = query::repeated(raw, "changes")?;
    let reference = query::text(q, "repo").map(|repo| match query::text(q, "tag") {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo.to_string(),
    });
    let message = query::text(q, "message").map(str::to_string);
    let input = BodyReader::spawn(request.into_body());
    let id = engine::call(move |e| {
        e.import_image(input, reference.as_deref(), &changes, message.as_deref())
    })
    .await?;
    let mut line = serde_json::to_vec(&json!({ "status": id })).unwrap_or_default();
    line.push(b'\n');
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(line))
        .unwrap_or_default())
}

/// Runs a registry job on the blocking pool and answers with its progress as JSON lines, the
/// job's `aux` result last. An error before the first line is a plain error response.
async fn progress_stream<F>(job: F) -> ApiResult<Response>
where
    F: FnOnce(
            &berth_engine::Engine,
            &mut dyn FnMut(berth_engine::distribution::Progress),
        ) -> Result<Option<serde_json::Value>, berth_engine::Error>
        + Send
        + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<serde_json::Value, ApiError>>(32);
    tokio::task::spawn_blocking(move || {
        let progress_tx = tx.clone();
        let result = engine::with_engine(|e| {
            job(e, &mut |p| {
                let line = match p.id {
                    Some(id) => json!({"status": p.status, "id": id}),
                    None => json!({"status": p.status}),
                };
                let _ = progress_tx.blocking_send(Ok(line));
            })
        });
        let _ = match result {
            Ok(Some(aux)) => tx.blocking_send(Ok(json!({"progressDetail": {}, "aux": aux}))),
            Ok(None) => Ok(()),
            Err(e) => tx.blocking_send(Err(e)),
        };
    });
    let first = match rx.recv().await {
        Some(Ok(line)) => line,
        Some(Err(e)) => return Err(e),
        None => return Err(ApiError::internal("the registry job ended without a word")),
    };
    let body = async_stream_lines(first, rx);
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

/// The first line, then the rest; an error mid-stream becomes Docker's `errorDetail` line.
fn async_stream_lines(
    first: serde_json::Value,
    rx: tokio::sync::mpsc::Receiver<Result<serde_json::Value, ApiError>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    let line = |v: serde_json::Value| {
        let mut text = serde_json::to_vec(&v).unwrap_or_default();
        text.extend_from_slice(b"\r\n");
        Ok(Bytes::from(text))
    };
    futures_util::stream::once(async move { line(first) }).chain(
        crate::containers::tokio_stream(rx).map(move |item| match item {
            Ok(v) => line(v),
            Err(e) => line(json!({"errorDetail": {"message": e.message}, "error": e.message})),
        }),
    )
}

/// `POST /images/prune`: dangling=false (what `image prune -a` sends) widens it to every
/// unused image; the engine reads that and the other filters.
pub async fn prune(QueryExtractor(q): Q) -> ApiResult<Json<berth_engine::prune::ImagesPruned>> {
    let filters = query::filters(&q)?;
    Ok(Json(
        engine::call(move |e| e.prune_images(false, &filters)).await?,
    ))
}

/// Everything else under `/images/`: `{name}/json`, `{name}/history`, `{name}/tag`, `{name}`.
pub async fn by_name(
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    QueryExtractor(q): Q,
) -> ApiResult<Response> {
    let rest = rest.trim_start_matches('/').to_string();
    if method == Method::DELETE {
        let force = query::flag(&q, "force", false);
        let removed = engine::call(move |e| e.remove_image(&rest, force)).await?;
        return Ok(Json(removed).into_response());
    }
    let (name, action) = rest
        .rsplit_once('/')
        .ok_or_else(|| ApiError::not_found(format!("page not found: /images/{rest}")))?;
    let name = name.to_string();
    match (method.as_str(), action) {
        ("GET", "json") => {
            let doc = engine::call(move |e| e.inspect_image(&name)).await?;
            Ok(Json(berth_model::inspect::to_document(&doc)).into_response())
        }
        ("POST", "push") => {
            let target = match query::text(&q, "tag") {
                Some(tag) => format!("{name}:{tag}"),
                None => name,
            };
            let credentials = crate::registry_auth::from_headers(&headers)?;
            progress_stream(move |e, progress| {
                let (tag, digest, size) = e.push_image_as(&target, credentials, progress)?;
                Ok(Some(json!({"Tag": tag, "Digest": digest, "Size": size})))
            })
            .await
        }
        ("GET", "get") => save_archive(vec![name]).await,
        ("GET", "history") => {
            Ok(Json(engine::call(move |e| e.image_history(&name)).await?).into_response())
        }
        ("POST", "tag") => {
            let repo = query::text(&q, "repo")
                .ok_or_else(|| ApiError::bad_request("tag: the repo parameter is missing"))?;
            let target = match query::text(&q, "tag") {
                Some(tag) => format!("{repo}:{tag}"),
                None => repo.to_string(),
            };
            engine::call(move |e| e.tag_image(&name, &target)).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        _ => Err(ApiError::not_found(format!(
            "page not found: {method} /images/{rest}"
        ))),
    }
}

/// `GET /images/get?names=A&names=B` (docker save of several images).
pub async fn save(RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let names = query::repeated(raw.as_deref(), "names")?;
    if names.is_empty() {
        return Err(ApiError::bad_request("no images given: names is empty"));
    }
    save_archive(names).await
}

/// The images as one docker-archive, streamed. Unknown names are a 404 before any byte.
async fn save_archive(names: Vec<String>) -> ApiResult<Response> {
    let checked = names.clone();
    engine::call(move |e| {
        for name in &checked {
            e.inspect_image(name)?;
        }
        Ok(())
    })
    .await?;
    let body = body::from_engine_writer(move |e, out| e.save_images(&names, out));
    Ok(Response::builder()
        .header("Content-Type", "application/x-tar")
        .body(body)
        .unwrap_or_default())
}

/// `POST /images/load`: the body is a docker-archive or OCI archive; the answer is docker's
/// JSON lines, one `Loaded image` per tag (or per untagged image's ID). An archive that cannot
/// be loaded is, as dockerd answers it, a 200 whose one line is the error (`docker load`
/// prints it and exits 1).
pub async fn load(request: Request) -> ApiResult<Response> {
    let input = BodyReader::spawn(request.into_body());
    let loaded = match engine::call(move |e| {
        e.load_images(std::io::BufReader::with_capacity(256 * 1024, input))
    })
    .await
    {
        Ok(loaded) => loaded,
        Err(e) if e.status.is_client_error() => {
            let mut line = serde_json::to_vec(
                &json!({"errorDetail": {"message": e.message}, "error": e.message}),
            )
            .unwrap_or_default();
            line.push(b'\n');
            return Ok(Response::builder()
                .header("Content-Type", "application/json")
                .body(Body::from(line))
                .unwrap_or_default());
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for image in loaded {
        let mut lines: Vec<String> = image
            .tags
            .iter()
            .map(|tag| format!("Loaded image: {tag}\n"))
            .collect();
        if lines.is_empty() {
            lines.push(format!("Loaded image ID: {}\n", image.id));
        }
        for line in lines {
            serde_json::to_writer(&mut out, &json!({ "stream": line }))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            out.push(b'\n');
        }
    }
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(out))
        .unwrap_or_default())
}
