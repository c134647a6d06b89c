//! `/_ping`, `/version`, `/info`: what clients read first to pick an API version.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine;
use crate::error::ApiResult;

/// The API versions berth speaks (clients negotiate down to `API_VERSION`); the engine owns
/// them, as `berth version` prints them too.
pub use berth_engine::system_info::{API_VERSION, MIN_API_VERSION};
pub const SERVER: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));

/// The headers Docker puts on every response; clients read `Api-Version` off `/_ping`.
pub fn add_common_headers(headers: &mut HeaderMap) {
    headers.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    headers.insert("Docker-Experimental", HeaderValue::from_static("false"));
    headers.insert("Ostype", HeaderValue::from_static("linux"));
    headers.insert("Server", HeaderValue::from_static(SERVER));
}

pub async fn ping() -> Response {
    (
        StatusCode::OK,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
        ],
        "OK",
    )
        .into_response()
}

pub async fn version() -> Json<serde_json::Value> {
    Json(berth_engine::system_info::version_document())
}

pub async fn info() -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(engine::call(|e| e.system_info()).await?))
}

/// `GET /system/df`: Docker's shape over the engine's disk_usage.
pub async fn disk_usage() -> ApiResult<Json<serde_json::Value>> {
    let (usage, volumes) = engine::call(|e| {
        let usage = e.disk_usage()?;
        let volumes: Vec<serde_json::Value> = e
            .list_volumes()?
            .iter()
            .map(|v| {
                let mut doc = e.volume_json(v);
                let u = usage.volumes.iter().find(|u| u.name == v.name);
                doc["UsageData"] = json!({
                    "Size": u.map_or(0, |u| u.size),
                    "RefCount": u.map_or(0, |u| u.links),
                });
                doc
            })
            .collect();
        Ok((usage, volumes))
    })
    .await?;
    let images: Vec<serde_json::Value> = usage
        .images
        .iter()
        .map(|i| {
            json!({
                "Id": i.id, "ParentId": "", "RepoTags": i.repo_tags, "RepoDigests": [],
                "Created": i.created, "Size": i.size, "SharedSize": i.shared_size,
                "VirtualSize": i.size, "Labels": null, "Containers": i.containers,
            })
        })
        .collect();
    let containers: Vec<serde_json::Value> = usage
        .containers
        .iter()
        .map(|c| {
            json!({
                "Id": c.id, "Names": c.names, "Image": c.image, "ImageID": "", "Command": c.command,
                "Created": c.created, "State": c.state, "Status": c.status, "SizeRw": c.size_rw,
                "SizeRootFs": 0, "Labels": {}, "Ports": [], "Mounts": [],
                "HostConfig": {"NetworkMode": "default"}, "NetworkSettings": {"Networks": {}},
            })
        })
        .collect();
    // The build cache as one record: berth keeps intermediate images, not BuildKit records.
    let build_cache: Vec<serde_json::Value> = if usage.build_cache_count > 0 {
        vec![json!({
            "ID": "berth-build-cache", "Parents": null, "Type": "regular",
            "Description": format!("{} cached build steps", usage.build_cache_count),
            "InUse": false, "Shared": false, "Size": usage.build_cache_size,
            "CreatedAt": chrono::Utc::now().to_rfc3339(), "LastUsedAt": null,
            "UsageCount": usage.build_cache_count,
        })]
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": build_cache,
    })))
}

/// `POST /build/prune`: drops the build cache; what it freed, as Docker reports it.
pub async fn build_prune() -> ApiResult<Json<serde_json::Value>> {
    let freed = engine::call(|e| {
        let before = e.disk_usage()?.build_cache_size;
        let n = e.prune_build_cache()?;
        Ok((n, before))
    })
    .await?;
    let (count, bytes) = freed;
    let deleted: Vec<String> = (0..count)
        .map(|i| format!("berth-build-cache-{i}"))
        .collect();
    Ok(Json(
        json!({"CachesDeleted": deleted, "SpaceReclaimed": bytes}),
    ))
}
