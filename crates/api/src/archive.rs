//! `/containers/{id}/archive` (docker cp) and `/containers/{id}/changes`: thin wrappers over
//! the engine's container_archive module.

use axum::extract::{Path, Query as QueryExtractor, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use berth_engine::container_archive::{ExtractOptions, PathStat};

use crate::body::{self, BodyReader};
use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Query};

fn stat_header(stat: &PathStat) -> ApiResult<HeaderValue> {
    let json = serde_json::to_vec(stat).map_err(|e| ApiError::internal(e.to_string()))?;
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(json))
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn path_param(q: &Query) -> ApiResult<String> {
    query::text(q, "path")
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("path cannot be empty"))
}

/// `HEAD` (the stat header only) and `GET` (the header and a tar of the path).
pub async fn get(
    method: Method,
    Path(id): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
) -> ApiResult<Response> {
    let path = path_param(&q)?;
    if method == Method::HEAD {
        let stat = engine::call(move |e| e.container_path_stat(&id, &path)).await?;
        return Ok((
            StatusCode::OK,
            [("X-Docker-Container-Path-Stat", stat_header(&stat)?)],
        )
            .into_response());
    }
    // The stat goes out in the headers; the tar streams after it, never whole in memory.
    let stat = engine::call({
        let (id, path) = (id.clone(), path.clone());
        move |e| e.container_path_stat(&id, &path)
    })
    .await?;
    let body =
        body::from_engine_writer(move |e, out| e.container_archive(&id, &path, out).map(|_| ()));
    Ok((
        StatusCode::OK,
        [
            ("X-Docker-Container-Path-Stat", stat_header(&stat)?),
            (
                "Content-Type",
                HeaderValue::from_static("application/x-tar"),
            ),
        ],
        body,
    )
        .into_response())
}

/// `PUT`: extracts the tar body into the directory `path`.
pub async fn put(
    Path(id): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
    request: Request,
) -> ApiResult<Response> {
    let path = path_param(&q)?;
    let options = ExtractOptions {
        no_overwrite_dir_non_dir: query::flag(&q, "noOverwriteDirNonDir", false),
        copy_uid_gid: query::flag(&q, "copyUIDGID", false),
    };
    let body = BodyReader::spawn(request.into_body());
    engine::call(move |e| e.extract_to_container(&id, &path, body, options)).await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /containers/{id}/changes` (docker diff): `null` when nothing changed, as dockerd
/// (its nil slice), which clients tell apart from an empty list.
pub async fn changes(
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Option<Vec<berth_engine::changes::Change>>>> {
    let changes = engine::call(move |e| e.container_changes(&id)).await?;
    Ok(axum::Json(Some(changes).filter(|c| !c.is_empty())))
}
