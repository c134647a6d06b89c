//! The resource paths: `[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]` under a group/version,
//! each verb's HTTP shape (201 on create, tables when asked, lists with continue tokens,
//! watches, the scale subresource as autoscaling/v1 Scale).

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::routes::{App, error, json_response, ok};
use crate::kinds::{self, Kind};
use crate::objects::{DeleteOptions, FieldValidation, ListQuery, Propagation, WriteOptions};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::{patch, table};

/// What a resource path names.
pub struct Target {
    pub kind: &'static Kind,
    /// None: all namespaces (a namespaced collection listed cluster-wide) or cluster-scoped.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

fn parse_target(group: &str, version: &str, rest: &[String]) -> Result<Target, ApiError> {
    let find =
        |resource: &str| kinds::find(group, version, resource).ok_or_else(ApiError::no_route);
    let target = |kind: &'static Kind,
                  namespace: Option<String>,
                  tail: &[String]|
     -> Result<Target, ApiError> {
        if tail.len() > 2 {
            return Err(ApiError::no_route());
        }
        let subresource = tail.get(1).cloned();
        if let Some(sub) = &subresource
            && !kind.subresources.contains(&sub.as_str())
        {
            return Err(ApiError::no_route());
        }
        Ok(Target {
            kind,
            namespace,
            name: tail.first().cloned(),
            subresource,
        })
    };
    match rest {
        [] => Err(ApiError::no_route()),
        // namespaces/NS/RESOURCE...: a namespaced resource; namespaces/NS[/status]: the namespace.
        [ns_word, ns, resource, tail @ ..]
            if ns_word == "namespaces"
                && group.is_empty()
                && resource != "status"
                && resource != "finalize"
                || ns_word == "namespaces" && !group.is_empty() =>
        {
            let kind = find(resource)?;
            if !kind.namespaced {
                return Err(ApiError::no_route());
            }
            target(kind, Some(ns.clone()), tail)
        }
        [resource, tail @ ..] => target(find(resource)?, None, tail),
    }
}

fn options(query: &HashMap<String, String>) -> WriteOptions {
    WriteOptions {
        dry_run: query.get("dryRun").is_some_and(|v| v == "All"),
        validation: match query.get("fieldValidation").map(String::as_str) {
            Some("Ignore") => FieldValidation::Ignore,
            Some("Warn") => FieldValidation::Warn,
            // kube-apiserver's default is Warn when the client does not say; kubectl says Strict.
            Some("Strict") => FieldValidation::Strict,
            _ => FieldValidation::Warn,
        },
    }
}

fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", warning.replace('"', "'"))) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .any(|part| part.split(';').any(|p| p.trim() == "as=Table"))
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("continue key is not valid: illegal base64 data"))
}

pub fn list_query(query: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    Ok(ListQuery {
        labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?,
        limit: query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0),
        after: query
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(|c| decode_continue(c))
            .transpose()?,
    })
}

fn scale_of(object: &Value) -> Value {
    let selector = table::selector_text(&object["spec"]["selector"]);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "uid": object["metadata"]["uid"],
            "resourceVersion": object["metadata"]["resourceVersion"],
            "creationTimestamp": object["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

pub async fn handle(
    app: App,
    group: &str,
    version: &str,
    rest: Vec<String>,
    query: HashMap<String, String>,
    accept: String,
    request: Request,
) -> Response {
    let target = match parse_target(group, version, &rest) {
        Ok(t) => t,
        Err(e) => return error(&e),
    };
    if matches!(
        target.subresource.as_deref(),
        Some("exec" | "attach" | "portforward")
    ) {
        return super::streaming::handle(app, target, request).await;
    }
    let method = request.method().clone();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = match axum::body::to_bytes(request.into_body(), 64 << 20).await {
        Ok(b) => b,
        Err(e) => return error(&ApiError::bad_request(format!("reading the body: {e}"))),
    };
    // A protobuf body (kubectl 1.33's typed clients) goes on as the JSON it carries.
    let (content_type, body) =
        if content_type.starts_with(super::protobuf::CONTENT_TYPE) && !body.is_empty() {
            match super::protobuf::decode(&body) {
                Ok(object) => (
                    "application/json".to_string(),
                    bytes::Bytes::from(object.to_string()),
                ),
                Err(e) => {
                    return error(&ApiError::unsupported_media(format!(
                        "the body of the request could not be decoded as {}: {e}",
                        super::protobuf::CONTENT_TYPE
                    )));
                }
            }
        } else {
            (content_type, body)
        };
    if method == Method::GET && target.subresource.as_deref() == Some("log") {
        let name = target.name.clone().unwrap_or_default();
        return match app.get(target.kind, &namespace_of(&target), &name) {
            Ok(pod) => super::logs::stream(&pod, &query).await,
            Err(e) => error(&e),
        };
    }
    let watching = query.get("watch").is_some_and(|w| w == "1" || w == "true");
    if method == Method::GET && target.name.is_none() && watching {
        return super::watch::stream(app, target, query, wants_table(&accept));
    }
    match respond(
        &app,
        &target,
        &method,
        &query,
        &accept,
        &content_type,
        &body,
    ) {
        Ok(response) => response,
        Err(e) => error(&e),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding the body: {e}")))
}

fn namespace_of(target: &Target) -> String {
    target.namespace.clone().unwrap_or_default()
}

fn respond(
    app: &App,
    target: &Target,
    method: &Method,
    query: &HashMap<String, String>,
    accept: &str,
    content_type: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let kind = target.kind;
    let ns = namespace_of(target);
    let include = query
        .get("includeObject")
        .map_or("Metadata", String::as_str);
    let write = options(query);
    let sub = target.subresource.as_deref();
    let render_one = |object: &Value, code: u16| -> Response {
        if sub == Some("scale") {
            return json_response(code, &scale_of(object), "application/json");
        }
        if wants_table(accept) && *method == Method::GET {
            let meta = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            return ok(&table::table(
                kind,
                std::slice::from_ref(object),
                meta,
                include,
            ));
        }
        json_response(code, object, "application/json")
    };
    match (method.clone(), &target.name) {
        (Method::GET, None) => {
            let list_query = list_query(query)?;
            let scope = if kind.namespaced {
                target.namespace.as_deref()
            } else {
                None
            };
            let (items, next, rv) = app.list(kind, scope, &list_query)?;
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if let Some(next) = next {
                meta["continue"] =
                    json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(next));
            }
            if wants_table(accept) {
                return Ok(ok(&table::table(kind, &items, meta, include)));
            }
            Ok(ok(
                &json!({"kind": kind.list_kind, "apiVersion": kind.api_version(), "metadata": meta, "items": items}),
            ))
        }
        (Method::GET, Some(name)) => Ok(render_one(&app.get(kind, &ns, name)?, 200)),
        (Method::POST, None) => {
            let (created, warnings) = app.create(kind, &ns, parse_body(body)?, &write)?;
            Ok(with_warnings(render_one(&created, 201), &warnings))
        }
        (Method::PUT, Some(name)) => {
            let mut given = parse_body(body)?;
            if sub == Some("scale") {
                let mut object = app.get(kind, &ns, name)?;
                object["spec"]["replicas"] = given["spec"]["replicas"].clone();
                object["metadata"]["resourceVersion"] = given["metadata"]["resourceVersion"].take();
                given = object;
            }
            let sub_for_update = sub.filter(|s| *s == "status");
            let (updated, warnings) = app.update(kind, &ns, name, sub_for_update, given, &write)?;
            Ok(with_warnings(render_one(&updated, 200), &warnings))
        }
        (Method::PATCH, Some(name)) => {
            if sub == Some("scale") {
                let object = app.get(kind, &ns, name)?;
                let scaled = patch::apply(&scale_of(&object), content_type, body)?;
                let mut next = object.clone();
                next["spec"]["replicas"] = scaled["spec"]["replicas"].clone();
                next["metadata"]["resourceVersion"] = scaled["metadata"]["resourceVersion"].clone();
                let (updated, _) = app.update(kind, &ns, name, None, next, &write)?;
                return Ok(render_one(&updated, 200));
            }
            let (patched, warnings) =
                app.patch(kind, &ns, name, sub, content_type, body, &write)?;
            Ok(with_warnings(render_one(&patched, 200), &warnings))
        }
        (Method::DELETE, Some(name)) => {
            let delete = delete_options(query, body)?;
            let deleted = app.delete(kind, &ns, name, &delete)?;
            Ok(json_response(200, &deleted, "application/json"))
        }
        (Method::DELETE, None) => {
            let delete = delete_options(query, body)?;
            let scope = if kind.namespaced {
                target.namespace.as_deref()
            } else {
                None
            };
            let (items, _, rv) = app.list(kind, scope, &list_query(query)?)?;
            let mut gone = Vec::new();
            for item in items {
                let item_ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
                let item_name = item["metadata"]["name"].as_str().unwrap_or_default();
                match app.delete(kind, item_ns, item_name, &delete) {
                    Ok(deleted) => gone.push(deleted),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(ok(
                &json!({"kind": kind.list_kind, "apiVersion": kind.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": gone}),
            ))
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

fn delete_options(query: &HashMap<String, String>, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let given: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        parse_body(body)?
    };
    let pick = |key: &str| -> Option<String> {
        query
            .get(key)
            .cloned()
            .or_else(|| given[key].as_str().map(String::from))
            .or_else(|| given[key].as_i64().map(|n| n.to_string()))
    };
    let propagation = match pick("propagationPolicy").as_deref() {
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        _ if given["orphanDependents"] == json!(true)
            || query.get("orphanDependents").is_some_and(|v| v == "true") =>
        {
            Propagation::Orphan
        }
        _ => Propagation::Background,
    };
    let dry_run = query.get("dryRun").is_some_and(|v| v == "All")
        || given["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation,
        precondition_rv: given["preconditions"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok()),
        precondition_uid: given["preconditions"]["uid"].as_str().map(String::from),
        grace_seconds: pick("gracePeriodSeconds").and_then(|s| s.parse().ok()),
        dry_run,
    })
}
