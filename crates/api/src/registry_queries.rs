//! `GET /images/search` (docker search) and `GET /distribution/{name}/json`: thin wrappers over
//! the engine's registry_queries module.

use axum::Json;
use axum::extract::{Path, Query as QueryExtractor};
use axum::http::HeaderMap;

use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Query};

/// `GET /images/search?term=&limit=&filters=`.
pub async fn search(
    QueryExtractor(q): QueryExtractor<Query>,
) -> ApiResult<Json<Vec<berth_engine::registry_queries::SearchResult>>> {
    let term = query::text(&q, "term").unwrap_or_default().to_string();
    let limit = query::int(&q, "limit")?.unwrap_or(0);
    let limit = usize::try_from(limit).map_err(|_| {
        ApiError::bad_request(format!("Limit {limit} is outside the range of [1, 100]"))
    })?;
    let filters = query::filters(&q)?;
    Ok(Json(
        engine::call(move |e| e.search_images(&term, limit, &filters)).await?,
    ))
}

/// `GET /distribution/{name}/json` (the name may hold slashes).
pub async fn distribution(
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> ApiResult<Json<berth_engine::registry_queries::DistributionInspect>> {
    let name = rest
        .trim_start_matches('/')
        .strip_suffix("/json")
        .ok_or_else(|| ApiError::not_found(format!("page not found: /distribution/{rest}")))?
        .to_string();
    let credentials = crate::registry_auth::from_headers(&headers)?;
    Ok(Json(
        engine::call(move |e| e.distribution_inspect(&name, credentials)).await?,
    ))
}
