//! PATCH bodies: RFC 6902 JSON patch, RFC 7386 merge patch (both by the json-patch crate), and
//! Kubernetes' strategic merge patch, which client-side `kubectl apply` sends: maps merge, null
//! deletes, and lists of objects merge by their merge key (containers by name, ports by port)
//! with the `$patch` and `$setElementOrder` directives.

use serde_json::{Map, Value};

use crate::status::ApiError;

pub const JSON_PATCH: &str = "application/json-patch+json";
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// Applies a patch of this content type to a copy of `current`.
pub fn apply(current: &Value, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let parse = || -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let mut target = current.clone();
    match media {
        JSON_PATCH => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut target, &patch).map_err(|e| {
                ApiError::unprocessable(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
        }
        MERGE_PATCH => json_patch::merge(&mut target, &parse()?),
        STRATEGIC_MERGE_PATCH => strategic_merge(&mut target, &parse()?),
        other => {
            return Err(ApiError::unsupported_media(format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH} (got {other:?})"
            )));
        }
    }
    Ok(target)
}

/// The key that identifies an element of a list field, as Kubernetes' types declare it
/// (`patchMergeKey`); lists not named here are replaced whole.
fn merge_key(field: &str, elements: &[Value]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ports" if elements.iter().any(|e| e.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists of plain values that merge as sets.
fn merges_as_set(field: &str) -> bool {
    matches!(field, "finalizers")
}

pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut whole = patch.clone();
            whole.remove("$patch");
            *target = Value::Object(whole);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(fields) = target.as_object_mut() else {
        return;
    };
    if let Some(keep) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        fields.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key.starts_with("$setElementOrder/") || key == "$retainKeys" || key == "$patch" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(gone)) = (
                fields.get_mut(field).and_then(Value::as_array_mut),
                value.as_array(),
            ) {
                list.retain(|v| !gone.contains(v));
            }
            continue;
        }
        match value {
            Value::Null => {
                fields.remove(key);
            }
            Value::Object(_) => {
                let slot = fields.entry(key.clone()).or_insert(Value::Null);
                strategic_merge(slot, value);
                if slot.is_null() {
                    fields.remove(key);
                }
            }
            Value::Array(items) => {
                let current = fields.get_mut(key).and_then(Value::as_array_mut);
                match (current, merge_key(key, items)) {
                    (Some(list), Some(merge_key)) if items.iter().all(Value::is_object) => {
                        merge_list(list, items, merge_key);
                    }
                    (Some(list), None) if merges_as_set(key) => {
                        for item in items {
                            if !list.contains(item) {
                                list.push(item.clone());
                            }
                        }
                    }
                    _ => {
                        let mut items = items.clone();
                        for item in &mut items {
                            if let Some(o) = item.as_object_mut() {
                                o.remove("$patch");
                            }
                        }
                        fields.insert(key.clone(), Value::Array(items));
                    }
                }
            }
            other => {
                fields.insert(key.clone(), other.clone());
            }
        }
    }
}

fn merge_list(list: &mut Vec<Value>, items: &[Value], merge_key: &str) {
    for item in items {
        let id = &item[merge_key];
        let at = list.iter().position(|e| &e[merge_key] == id);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (at, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut list[i], item),
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item);
                list.push(fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name_and_deletes_with_null() {
        let mut pod = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "x", "image": "i1"}, {"name": "y", "image": "i2"}]}});
        let patch = json!({"metadata": {"labels": {"b": null, "c": "3"}},
            "$setElementOrder/containers": [{"name": "x"}, {"name": "y"}],
            "spec": {"containers": [{"name": "y", "image": "i3"}]}});
        strategic_merge(&mut pod, &patch);
        assert_eq!(pod["metadata"]["labels"], json!({"a": "1", "c": "3"}));
        assert_eq!(pod["spec"]["containers"][0]["image"], "i1");
        assert_eq!(pod["spec"]["containers"][1]["image"], "i3");
        strategic_merge(
            &mut pod,
            &json!({"spec": {"containers": [{"name": "x", "$patch": "delete"}]}}),
        );
        assert_eq!(pod["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_and_merge_patches() {
        let cm = json!({"data": {"a": "1"}});
        let merged = apply(&cm, MERGE_PATCH, br#"{"data":{"b":"2"}}"#).unwrap();
        assert_eq!(merged["data"], json!({"a": "1", "b": "2"}));
        let patched = apply(
            &cm,
            JSON_PATCH,
            br#"[{"op":"replace","path":"/data/a","value":"9"}]"#,
        )
        .unwrap();
        assert_eq!(patched["data"]["a"], "9");
        assert_eq!(
            apply(
                &cm,
                JSON_PATCH,
                br#"[{"op":"test","path":"/data/a","value":"0"}]"#
            )
            .unwrap_err()
            .code,
            422
        );
    }
}
