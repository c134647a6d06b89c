//! Every request: authentication first (no client certificate: 401), then discovery, OpenAPI
//! and health paths, then the resource paths (`/api/v1/...`, `/apis/GROUP/VERSION/...`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::resources;
use super::tls::Peer;
use crate::objects::Objects;
use crate::status::ApiError;
use crate::{discovery, openapi, openapi_proto};

pub type App = Arc<Objects>;

pub fn router(objects: App) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(objects)
}

pub fn json_response(code: u16, value: &Value, content_type: &str) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

pub fn ok(value: &Value) -> Response {
    json_response(200, value, "application/json")
}

pub fn error(e: &ApiError) -> Response {
    json_response(e.code, &e.to_status(), "application/json")
}

fn bytes(body: &'static [u8], content_type: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// The aggregated discovery version the client accepts (v2 before v2beta1), if any.
fn aggregated_version(accept: &str) -> Option<(&'static str, &'static str)> {
    let offers = |v: &str| {
        accept.split(',').any(|part| {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            params.contains(&"g=apidiscovery.k8s.io")
                && params.contains(&format!("v={v}").as_str())
                && params.contains(&"as=APIGroupDiscoveryList")
        })
    };
    if offers("v2") {
        Some(("apidiscovery.k8s.io/v2", discovery::AGGREGATED_V2))
    } else if offers("v2beta1") {
        Some(("apidiscovery.k8s.io/v2beta1", discovery::AGGREGATED_V2BETA1))
    } else {
        None
    }
}

/// The v2 document as JSON and as protobuf, made once.
fn openapi_v2() -> &'static (Vec<u8>, Vec<u8>) {
    static DOC: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = openapi::v2();
        (doc.to_string().into_bytes(), openapi_proto::document(&doc))
    })
}

/// Whether the client asks for protobuf before (or instead of) JSON.
fn prefers_protobuf(accept: &str) -> bool {
    let first = |needle: &str| accept.find(needle);
    match (first("protobuf"), first("json")) {
        (Some(p), Some(j)) => p < j,
        (Some(_), None) => true,
        _ => false,
    }
}

async fn handle(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    if !peer.authenticated {
        return error(&ApiError::unauthorized());
    }
    let path = request.uri().path().trim_end_matches('/').to_string();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = request.method() == Method::GET;
    match segments.as_slice() {
        ["version"] if get => ok(&discovery::version()),
        ["healthz" | "livez" | "readyz", ..] if get => bytes(b"ok", "text/plain; charset=utf-8"),
        ["api"] if get => match aggregated_version(&accept) {
            Some((version, content_type)) => {
                json_response(200, &discovery::aggregated(true, version), content_type)
            }
            None => ok(&discovery::api_versions()),
        },
        ["apis"] if get => match aggregated_version(&accept) {
            Some((version, content_type)) => {
                json_response(200, &discovery::aggregated(false, version), content_type)
            }
            None => ok(&discovery::api_group_list()),
        },
        ["api", "v1"] if get => ok(&discovery::resource_list("", "v1").unwrap_or_default()),
        ["apis", group] if get => match discovery::api_group(group) {
            Some(g) => ok(&g),
            None => error(&ApiError::no_route()),
        },
        ["apis", group, version] if get => match discovery::resource_list(group, version) {
            Some(list) => ok(&list),
            None => error(&ApiError::no_route()),
        },
        ["openapi", "v2"] if get && prefers_protobuf(&accept) => {
            bytes(&openapi_v2().1, openapi_proto::CONTENT_TYPE)
        }
        ["openapi", "v2"] if get => bytes(&openapi_v2().0, "application/json"),
        ["openapi", "v3"] if get => ok(&openapi::v3_index()),
        ["openapi", "v3", "api", "v1"] if get => ok(&openapi::v3("", "v1").unwrap_or_default()),
        ["openapi", "v3", "apis", group, version] if get => match openapi::v3(group, version) {
            Some(doc) => ok(&doc),
            None => error(&ApiError::no_route()),
        },
        ["api", "v1", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resources::handle(app, "", "v1", rest, query, accept, request).await
        }
        [
            "apis",
            discovery::METRICS_GROUP,
            discovery::METRICS_VERSION,
            rest @ ..,
        ] if get => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            match crate::metrics::handle(&app, &rest, &query) {
                Ok(value) => ok(&value),
                Err(e) => error(&e),
            }
        }
        ["apis", group, version, rest @ ..] => {
            let (group, version) = (group.to_string(), version.to_string());
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resources::handle(app, &group, &version, rest, query, accept, request).await
        }
        _ => error(&ApiError::no_route()),
    }
}
