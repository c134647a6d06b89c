//! `/networks/...`: list (filters), inspect, create, connect, disconnect, remove, prune, each
//! over one engine function (the same ones `berth network` calls).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query as QueryExtractor};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::engine;
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::query::{self, Query};

pub async fn list(QueryExtractor(q): QueryExtractor<Query>) -> ApiResult<Json<serde_json::Value>> {
    let filters = query::filters(&q)?;
    let docs = engine::call(move |e| e.list_networks_filtered(&filters)).await?;
    Ok(Json(serde_json::Value::Array(docs)))
}

pub async fn inspect(Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(engine::call(move |e| e.inspect_network(&id)).await?))
}

/// One `IPAM.Config` entry of `POST /networks/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamPool {
    subnet: Option<String>,
    gateway: Option<String>,
    #[serde(rename = "IPRange")]
    ip_range: Option<String>,
    auxiliary_addresses: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    driver: Option<String>,
    config: Option<Vec<IpamPool>>,
    options: Option<BTreeMap<String, String>>,
}

/// The body of `POST /networks/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CreateBody {
    name: String,
    driver: Option<String>,
    internal: Option<bool>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    /// Docker always refuses a duplicate name now; the field is accepted for old clients.
    #[allow(dead_code)]
    check_duplicate: Option<bool>,
    options: Option<BTreeMap<String, String>>,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
}

pub async fn create(JsonBody(body): JsonBody<CreateBody>) -> ApiResult<Response> {
    let ipam = body.ipam.unwrap_or_default();
    let ipam_driver = ipam.driver.unwrap_or_default();
    if !matches!(ipam_driver.as_str(), "" | "default") {
        return Err(ApiError::not_found(format!(
            "plugin \"{ipam_driver}\" not found"
        )));
    }
    // One IPv4 pool and one IPv6 pool at most (by their subnet's family; a pool without a
    // subnet is the IPv4 one).
    let (pools6, pools4): (Vec<IpamPool>, Vec<IpamPool>) = ipam
        .config
        .unwrap_or_default()
        .into_iter()
        .partition(|p| p.subnet.as_deref().is_some_and(|s| s.contains(':')));
    if pools4.len() > 1 || pools6.len() > 1 {
        return Err(ApiError::bad_request(
            "only one IPv4 and one IPv6 IPAM pool per network are supported",
        ));
    }
    let pool = pools4.into_iter().next().unwrap_or_default();
    let pool6 = pools6.into_iter().next().unwrap_or_default();
    let mut aux_addresses = pool.auxiliary_addresses.unwrap_or_default();
    aux_addresses.extend(pool6.auxiliary_addresses.unwrap_or_default());
    let request = berth_engine::networks::NetworkCreate {
        name: body.name,
        driver: body
            .driver
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "bridge".into()),
        subnet: pool.subnet.unwrap_or_default(),
        gateway: pool.gateway.unwrap_or_default(),
        ip_range: pool.ip_range.unwrap_or_default(),
        internal: body.internal.unwrap_or(false),
        labels: body.labels.unwrap_or_default(),
        options: body.options.unwrap_or_default(),
        ipam_options: ipam.options.unwrap_or_default(),
        aux_addresses,
        enable_ipv6: body.enable_ipv6.unwrap_or(false),
        subnet6: pool6.subnet.unwrap_or_default(),
        gateway6: pool6.gateway.unwrap_or_default(),
        ip_range6: pool6.ip_range.unwrap_or_default(),
    };
    let id = engine::call(move |e| e.create_network(request)).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warning": ""}))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ConnectBody {
    container: String,
    endpoint_config: Option<berth_engine::types::EndpointSettings>,
}

pub async fn connect(
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConnectBody>,
) -> ApiResult<StatusCode> {
    if body.container.is_empty() {
        return Err(ApiError::bad_request("no container specified to connect"));
    }
    let settings = body.endpoint_config.unwrap_or_default();
    engine::call(move |e| e.connect_network_endpoint(&id, &body.container, &settings)).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DisconnectBody {
    container: String,
    /// A disconnect never waits for anything here, so force changes nothing.
    #[allow(dead_code)]
    force: Option<bool>,
}

pub async fn disconnect(
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DisconnectBody>,
) -> ApiResult<StatusCode> {
    if body.container.is_empty() {
        return Err(ApiError::bad_request(
            "no container specified to disconnect",
        ));
    }
    engine::call(move |e| e.disconnect_network(&id, &body.container)).await?;
    Ok(StatusCode::OK)
}

pub async fn remove(Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine::call(move |e| e.remove_network(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /networks/prune`: the unused user-defined networks go; `label`/`until` filters
/// narrow it.
pub async fn prune(QueryExtractor(q): QueryExtractor<Query>) -> ApiResult<Json<serde_json::Value>> {
    let filters = query::filters(&q)?;
    let removed = engine::call(move |e| e.prune_networks_matching(&filters)).await?;
    Ok(Json(json!({"NetworksDeleted": removed})))
}
