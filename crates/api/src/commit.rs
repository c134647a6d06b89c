//! `POST /commit` (docker commit) and `GET /containers/{id}/export` (docker export).

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::types::ContainerConfig;
use serde_json::json;

use crate::body;
use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::query::{self, Query};

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=` with an optional
/// container Config as the body; `changes` may repeat. Answers 201 `{"Id": "sha256:..."}`.
pub async fn commit(
    RawQuery(raw): RawQuery,
    JsonBody(config): JsonBody<Option<ContainerConfig>>,
) -> ApiResult<Response> {
    let changes = query::repeated(raw.as_deref(), "changes")?;
    let q: Query = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let container = query::text(&q, "container")
        .ok_or_else(|| ApiError::bad_request("commit: the container parameter is missing"))?
        .to_string();
    let reference = match (query::text(&q, "repo"), query::text(&q, "tag")) {
        (Some(repo), Some(tag)) => Some(format!("{repo}:{tag}")),
        (Some(repo), None) => Some(repo.to_string()),
        (None, Some(tag)) => {
            return Err(ApiError::bad_request(format!(
                "commit: tag {tag:?} given without a repository"
            )));
        }
        (None, None) => None,
    };
    let options = berth_engine::commit::CommitOptions {
        reference,
        comment: query::text(&q, "comment").map(str::to_string),
        author: query::text(&q, "author").map(str::to_string),
        changes,
        pause: query::flag(&q, "pause", true),
        config,
    };
    let id = engine::call(move |e| e.commit_container(&container, &options)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id }))).into_response())
}

/// `GET /containers/{id}/export`: the container's filesystem as a tar, streamed. An unknown
/// container is a 404 before any byte.
pub async fn export(Path(id): Path<String>) -> ApiResult<Response> {
    let checked = id.clone();
    engine::call(move |e| e.container(&checked).map(|_| ())).await?;
    let body = body::from_engine_writer(move |e, out| e.export_container(&id, out));
    Ok(Response::builder()
        .header("Content-Type", "application/x-tar")
        .body(body)
        .unwrap_or_default())
}
