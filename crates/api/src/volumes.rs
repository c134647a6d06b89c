//! `/volumes/...`: list (filters), create, inspect, remove, prune, over the engine's volumes.

use axum::Json;
use axum::extract::{Path, Query as QueryExtractor};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::engine;
use crate::error::ApiResult;
use crate::json_body::JsonBody;
use crate::query::{self, Query};

pub async fn list(QueryExtractor(q): QueryExtractor<Query>) -> ApiResult<Json<serde_json::Value>> {
    let filters = query::filters(&q)?;
    let volumes = engine::call(move |e| {
        let kept = e.list_volumes_filtered(&filters)?;
        Ok(kept.iter().map(|v| e.volume_json(v)).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({"Volumes": volumes, "Warnings": null})))
}

/// The body of `POST /volumes/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CreateBody {
    name: String,
    driver: String,
    driver_opts: Option<std::collections::BTreeMap<String, String>>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

pub async fn create(JsonBody(body): JsonBody<CreateBody>) -> ApiResult<Response> {
    let request = berth_engine::volumes::VolumeCreate {
        name: Some(body.name).filter(|n| !n.is_empty()),
        driver: body.driver,
        labels: body.labels.unwrap_or_default(),
        options: body.driver_opts.unwrap_or_default(),
    };
    let doc = engine::call(move |e| {
        let v = e.create_volume(request)?;
        Ok(e.volume_json(&v))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

pub async fn inspect(Path(name): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    let doc = engine::call(move |e| e.inspect_volume(&name)).await?;
    Ok(Json(berth_model::inspect::to_document(&doc)))
}

pub async fn remove(
    Path(name): Path<String>,
    QueryExtractor(q): QueryExtractor<Query>,
) -> ApiResult<StatusCode> {
    let force = query::flag(&q, "force", false);
    engine::call(move |e| e.remove_volume(&name, force)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune`: at API 1.41 every unused volume goes (the `all` filter of 1.42+ is
/// honoured when a client sends it); `label` filters narrow it.
pub async fn prune(QueryExtractor(q): QueryExtractor<Query>) -> ApiResult<Json<serde_json::Value>> {
    let filters = query::filters(&q)?;
    // Without an `all` filter (API 1.41 clients), every unused volume.
    let all = !filters.contains("all");
    let (removed, reclaimed) = engine::call(move |e| e.prune_volumes(all, &filters)).await?;
    Ok(Json(
        json!({"VolumesDeleted": removed, "SpaceReclaimed": reclaimed}),
    ))
}
