//! `GET /events`: the engine's event log as a stream of JSON objects (Docker's shape), from
//! `since` (or now) until `until` (or the client goes away).

use axum::body::{Body, Bytes};
use axum::extract::Query as QueryExtractor;
use axum::http::header;
use axum::response::Response;
use berth_engine::events::{EventQuery, parse_time};

use crate::engine;
use crate::error::ApiResult;
use crate::query::{self, Query};

pub async fn events(QueryExtractor(q): QueryExtractor<Query>) -> ApiResult<Response> {
    let time = |key: &str| -> ApiResult<Option<i64>> {
        query::text(&q, key)
            .map(parse_time)
            .transpose()
            .map_err(Into::into)
    };
    let request = EventQuery {
        since: time("since")?,
        until: time("until")?,
        filters: query::filters(&q)?,
    };
    request.validate()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::task::spawn_blocking(move || {
        let _ = engine::with_engine(|e| {
            e.follow_events(&request, |event| match event {
                Some(event) => {
                    let mut line = event.to_json().to_string();
                    line.push('\n');
                    tx.blocking_send(Ok(Bytes::from(line))).is_ok()
                }
                None => !tx.is_closed(),
            })
        });
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(crate::containers::tokio_stream(rx)))
        .unwrap_or_default())
}
