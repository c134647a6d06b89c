//! The route table, and the wrapper every request goes through: it strips any `/v1.xx`
//! version prefix (clients send none, or one between the minimum and the advertised version;
//! others are answered 400 as dockerd does) and puts Docker's headers on every response.

use axum::Router;
use axum::extract::Request;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{
    archive, build, commit, containers, events, exec, images, networks, registry_auth,
    registry_queries, streams, swarm, system, volumes,
};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}", delete(containers::remove))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/update", post(containers::update))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/stats", get(containers::stats))
        .route("/containers/{id}/logs", get(streams::logs))
        .route("/containers/{id}/attach", post(streams::attach))
        .route("/containers/{id}/exec", post(exec::create))
        .route(
            "/containers/{id}/archive",
            get(archive::get).head(archive::get).put(archive::put),
        )
        .route("/containers/{id}/changes", get(archive::changes))
        .route("/containers/{id}/export", get(commit::export))
        .route("/commit", post(commit::commit))
        .route("/system/df", get(system::disk_usage))
        .route("/auth", post(registry_auth::login))
        .route("/build/prune", post(system::build_prune))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/prune", post(images::prune))
        .route("/images/get", get(images::save))
        .route("/images/load", post(images::load))
        .route(
            "/images/{*rest}",
            get(images::by_name)
                .post(images::by_name)
                .delete(images::by_name),
        )
        .route("/build", post(build::build))
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        .route("/events", get(events::events))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/swarm/leave", post(swarm::not_in_a_swarm))
        .route("/swarm", any(swarm::not_a_manager))
        .route("/swarm/{*rest}", any(swarm::not_a_manager))
        .route("/nodes", any(swarm::not_a_manager))
        .route("/nodes/{*rest}", any(swarm::not_a_manager))
        .route("/services", any(swarm::not_a_manager))
        .route("/services/{*rest}", any(swarm::not_a_manager))
        .route("/tasks", any(swarm::not_a_manager))
        .route("/tasks/{*rest}", any(swarm::not_a_manager))
        .route("/secrets", any(swarm::not_a_manager))
        .route("/secrets/{*rest}", any(swarm::not_a_manager))
        .route("/configs", any(swarm::not_a_manager))
        .route("/configs/{*rest}", any(swarm::not_a_manager))
        .route("/images/search", get(registry_queries::search))
        .route("/distribution/{*rest}", get(registry_queries::distribution))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(refuse_unsupported_version))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// Docker clients read every error as `{"message": ...}`; axum's own rejections (a body over
/// the limit, a wrong method) are plain text: they are rewrapped here.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_string();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_string();
    }
    ApiError::new(status, message).into_response()
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("page not found: {}", uri.path()))
}

/// The `/v1.xx` prefix a request came with, kept by [`rewrite`] for
/// [`refuse_unsupported_version`].
#[derive(Clone, Debug)]
struct ClientVersion(String);

/// `(major, minor)` of a `1.41`-style version; None when it is not one.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Why dockerd would refuse API version `version`, with its words; None when it is served.
pub fn unsupported_version(version: &str) -> Option<String> {
    let asked = parse_version(version)?;
    let min = parse_version(system::MIN_API_VERSION)?;
    let max = parse_version(system::API_VERSION)?;
    if asked < min {
        Some(format!(
            "client version {version} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
            system::MIN_API_VERSION
        ))
    } else if asked > max {
        Some(format!(
            "client version {version} is too new. Maximum supported API version is {}",
            system::API_VERSION
        ))
    } else {
        None
    }
}

/// Answers 400 to a request whose version prefix is out of range, before any handler runs.
async fn refuse_unsupported_version(request: Request, next: axum::middleware::Next) -> Response {
    if let Some(ClientVersion(version)) = request.extensions().get::<ClientVersion>()
        && let Some(message) = unsupported_version(version)
    {
        return ApiError::bad_request(message).into_response();
    }
    next.run(request).await
}

/// `/v1.41/containers/json` -> `/containers/json`; anything else unchanged.
pub fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    let is_version = version.split_once('.').is_some_and(|(major, minor)| {
        !major.is_empty()
            && !minor.is_empty()
            && major.chars().all(|c| c.is_ascii_digit())
            && minor.chars().all(|c| c.is_ascii_digit())
    });
    if is_version && end < rest.len() {
        &rest[end..]
    } else {
        path
    }
}

/// Whether `BERTH_API_LOG` asks for a line on stderr per request (to see what a client sends).
fn log_requests() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("BERTH_API_LOG").is_some_and(|v| !v.is_empty()))
}

pub fn rewrite(mut request: Request) -> Request {
    if log_requests() {
        eprintln!("api: {} {}", request.method(), request.uri());
    }
    let path = request.uri().path();
    let stripped = strip_version(path);
    if stripped.len() != path.len() {
        let version = path[2..path.len() - stripped.len()].to_string();
        request.extensions_mut().insert(ClientVersion(version));
        let path = request.uri().path();
        let stripped = strip_version(path);
        let mut target = stripped.to_string();
        if let Some(q) = request.uri().query() {
            target.push('?');
            target.push_str(q);
        }
        if let Ok(uri) = target.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

pub fn decorate(mut response: Response) -> Response {
    system::add_common_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::strip_version;

    #[test]
    fn version_prefixes_are_stripped_and_other_paths_kept() {
        assert_eq!(strip_version("/v1.41/containers/json"), "/containers/json");
        assert_eq!(strip_version("/v1.99/_ping"), "/_ping");
        assert_eq!(strip_version("/containers/json"), "/containers/json");
        assert_eq!(strip_version("/version"), "/version");
        assert_eq!(strip_version("/v1.41"), "/v1.41");
        assert_eq!(strip_version("/vx.1/_ping"), "/vx.1/_ping");
    }

    #[test]
    fn versions_outside_the_range_are_refused_with_dockerds_words() {
        use super::unsupported_version;
        assert_eq!(unsupported_version("1.24"), None);
        assert_eq!(unsupported_version(crate::system::API_VERSION), None);
        assert_eq!(
            unsupported_version("1.12").as_deref(),
            Some(
                "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
            )
        );
        assert!(
            unsupported_version("1.99")
                .unwrap()
                .starts_with("client version 1.99 is too new. Maximum supported API version is ")
        );
        assert!(unsupported_version("1.100").is_some());
    }
}
