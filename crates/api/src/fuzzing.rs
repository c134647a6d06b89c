//! Entry points for the fuzz targets under `fuzz/` (not part of the API): the same decoding the
//! handlers do, callable without a server.

/// The body of `POST /containers/create`, decoded as the handler does, then its binds and mounts
/// through the engine's parsers (what create does before touching any state).
pub fn create_body(data: &[u8]) {
    let Ok(request) = crate::json_body::decode::<berth_engine::types::CreateRequest>(data) else {
        return;
    };
    for bind in request.host_config.binds.iter().flatten() {
        let _ = berth_engine::mounts::parse_bind(bind);
    }
    for mount in request.host_config.mounts.iter().flatten() {
        let _ = berth_engine::mounts::parse_mount_spec(mount);
    }
    let _ = serde_json::to_vec(&request);
}

/// A query string as the handlers read it: booleans, integers and `filters` (both shapes),
/// and the prune filters.
pub fn query(raw: &str) {
    let Ok(q) = serde_urlencoded::from_str::<crate::query::Query>(raw) else {
        return;
    };
    let _ = crate::query::flag(&q, "all", false);
    let _ = crate::query::int(&q, "limit");
    if let Ok(filters) = crate::query::filters(&q) {
        let _ = berth_engine::prune_filters::PruneFilters::new(
            &filters,
            berth_engine::prune_filters::IMAGE_KEYS,
            0,
        );
    }
}

/// An `X-Registry-Auth` header value.
pub fn registry_auth(value: &[u8]) {
    if let Ok(Some(config)) = crate::registry_auth::decode_header(value) {
        let _ = config.credentials();
    }
}
