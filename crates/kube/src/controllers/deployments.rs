//! The Deployment controller: the ReplicaSet of the current pod template (found by its
//! `pod-template-hash` label, made when missing, with the next revision), scaled up within
//! maxSurge while the old ones are scaled down within maxUnavailable as the new pods become
//! ready (Recreate: old ones to zero first). Its status is what `kubectl rollout status` reads.

use serde_json::{Value, json};
use sha2::Digest;

use super::{controlled_by, kind, meta_str, owner_reference, quiet, write_status};
use crate::objects::{ListQuery, Objects};
use crate::status::ApiError;

pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// The template's hash: ten hex digits of its SHA-256 (stable across berth versions, unlike
/// std's hasher).
pub fn template_hash(template: &Value) -> String {
    let digest = sha2::Sha256::digest(template.to_string().as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// `25%` of `total` (rounded up for surge, down for unavailability) or a plain number.
fn resolve(value: &Value, total: i64, round_up: bool) -> i64 {
    match value {
        Value::String(text) if text.ends_with('%') => {
            let percent: i64 = text.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = total * percent;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
        Value::String(text) => text.parse().unwrap_or(0),
        other => other.as_i64().unwrap_or(0),
    }
}

/// A pod template as compared between a Deployment and its ReplicaSets: without the hash label
/// and the empty creationTimestamp kubectl's rollback carries.
fn comparable(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH_LABEL);
    }
    drop_nulls(&mut template);
    template
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, v| !v.is_null());
            fields.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn replicas(set: &Value) -> i64 {
    set["spec"]["replicas"].as_i64().unwrap_or(0)
}

fn status_count(set: &Value, field: &str) -> i64 {
    set["status"][field].as_i64().unwrap_or(0)
}

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let (all, _, _) = objects.list(kind("apps", "deployments"), None, &ListQuery::default())?;
    for deployment in all {
        if deployment["metadata"]["deletionTimestamp"].is_string()
            || deployment["spec"]["paused"] == json!(true)
        {
            continue;
        }
        // Deleted meanwhile: nothing left to do for it.
        match sync(objects, &deployment) {
            Err(e) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(())
}

fn scale(objects: &Objects, deployment: &Value, set: &Value, to: i64) -> Result<(), ApiError> {
    let from = replicas(set);
    if from == to {
        return Ok(());
    }
    let message = format!(
        "Scaled {} replica set {} from {from} to {to}",
        if to > from { "up" } else { "down" },
        meta_str(set, "name")
    );
    super::events::normal(
        objects,
        deployment,
        "deployment-controller",
        "ScalingReplicaSet",
        &message,
    );
    let mut next = set.clone();
    next["spec"]["replicas"] = json!(to);
    let sets = kind("apps", "replicasets");
    match objects.update(
        sets,
        meta_str(set, "namespace"),
        meta_str(set, "name"),
        None,
        next,
        &quiet(),
    ) {
        Err(e) if e.code == 409 || e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

fn new_set(
    objects: &Objects,
    deployment: &Value,
    hash: &str,
    revision: i64,
    initial: i64,
) -> Result<Value, ApiError> {
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let set = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", meta_str(deployment, "name")),
            "namespace": meta_str(deployment, "namespace"),
            "labels": template["metadata"]["labels"],
            "annotations": {REVISION: revision.to_string()},
            "ownerReferences": [owner_reference(deployment)],
        },
        "spec": {"replicas": initial, "selector": selector, "template": template},
    });
    let sets = kind("apps", "replicasets");
    match objects.create(sets, meta_str(deployment, "namespace"), set, &quiet()) {
        Ok((made, _)) => {
            if initial > 0 {
                let message = format!(
                    "Scaled up replica set {} from 0 to {initial}",
                    meta_str(&made, "name")
                );
                super::events::normal(
                    objects,
                    deployment,
                    "deployment-controller",
                    "ScalingReplicaSet",
                    &message,
                );
            }
            Ok(made)
        }
        Err(e) if e.reason == "AlreadyExists" => objects.get(
            sets,
            meta_str(deployment, "namespace"),
            &format!("{}-{hash}", meta_str(deployment, "name")),
        ),
        Err(e) => Err(e),
    }
}

fn sync(objects: &Objects, deployment: &Value) -> Result<(), ApiError> {
    let sets_kind = kind("apps", "replicasets");
    let ns = meta_str(deployment, "namespace");
    let uid = meta_str(deployment, "uid");
    let (sets, _, _) = objects.list(sets_kind, Some(ns), &ListQuery::default())?;
    let owned: Vec<Value> = sets.into_iter().filter(|s| controlled_by(s, uid)).collect();
    let hash = template_hash(&deployment["spec"]["template"]);
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let revision_of = |s: &Value| -> i64 {
        s["metadata"]["annotations"][REVISION]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    };
    let wanted = comparable(&deployment["spec"]["template"]);
    let (mut current, old): (Vec<Value>, Vec<Value>) = owned.into_iter().partition(|s| {
        s["metadata"]["labels"][HASH_LABEL].as_str() == Some(hash.as_str())
            || comparable(&s["spec"]["template"]) == wanted
    });
    let newest = old.iter().map(revision_of).max().unwrap_or(0);
    if let Some(set) = current.last_mut()
        && revision_of(set) <= newest
    {
        // A rollback (or an edit back) to an older template: that set becomes the newest
        // revision again, as Kubernetes renumbers it.
        let mut next = set.clone();
        next["metadata"]["annotations"][REVISION] = json!((newest + 1).to_string());
        if let Ok((updated, _)) =
            objects.update(sets_kind, ns, meta_str(set, "name"), None, next, &quiet())
        {
            *set = updated;
        }
    }
    let old_total: i64 = old.iter().map(replicas).sum();
    let recreate = deployment["spec"]["strategy"]["type"] == "Recreate";
    let rolling = &deployment["spec"]["strategy"]["rollingUpdate"];
    let surge = resolve(&rolling["maxSurge"], desired, true);
    let mut unavailable = resolve(&rolling["maxUnavailable"], desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let new = match current.pop() {
        Some(set) => set,
        None => {
            let revision = old.iter().map(revision_of).max().unwrap_or(0) + 1;
            let initial = if old_total == 0 { desired } else { 0 };
            new_set(objects, deployment, &hash, revision, initial)?
        }
    };
    let old_pods: i64 = old.iter().map(|s| status_count(s, "replicas")).sum();
    if recreate {
        for set in &old {
            scale(objects, deployment, set, 0)?;
        }
        scale(
            objects,
            deployment,
            &new,
            if old_pods == 0 { desired } else { 0 },
        )?;
    } else if old_total == 0 {
        scale(objects, deployment, &new, desired)?;
    } else {
        // Up within the surge, then down within what may be unavailable.
        let room = desired + surge - (replicas(&new) + old_total);
        let new_target = desired.min(replicas(&new) + room.max(0));
        scale(objects, deployment, &new, new_target)?;
        let available: i64 = old
            .iter()
            .chain([&new])
            .map(|s| status_count(s, "availableReplicas"))
            .sum();
        let mut removable = (available - (desired - unavailable)).max(0);
        // Old pods that are not ready count for nothing: they can always go.
        for set in &old {
            let unready = (replicas(set) - status_count(set, "availableReplicas")).max(0);
            let cut = (removable + unready).min(replicas(set));
            if cut > 0 {
                scale(objects, deployment, set, replicas(set) - cut)?;
                removable = (removable - (cut - unready).max(0)).max(0);
            }
        }
    }
    let all: Vec<&Value> = old.iter().chain([&new]).collect();
    let sum = |field: &str| -> i64 { all.iter().map(|s| status_count(s, field)).sum() };
    let available = sum("availableReplicas");
    let updated = status_count(&new, "replicas");
    let complete = updated == desired && sum("replicas") == desired && available == desired;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let previous = &deployment["status"]["conditions"];
    let condition = |kind: &str, status: bool, reason: &str, message: String| {
        let status = if status { "True" } else { "False" };
        let since = previous
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind && c["status"] == status && c["reason"] == reason)
            .map(|c| c["lastTransitionTime"].clone())
            .unwrap_or(json!(now));
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastUpdateTime": since, "lastTransitionTime": since})
    };
    let name = meta_str(deployment, "name");
    let conditions = json!([
        condition(
            "Available",
            available >= desired - unavailable,
            if available >= desired - unavailable {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            format!(
                "Deployment {} minimum availability.",
                if available >= desired - unavailable {
                    "has"
                } else {
                    "does not have"
                }
            ),
        ),
        condition(
            "Progressing",
            true,
            if complete {
                "NewReplicaSetAvailable"
            } else {
                "ReplicaSetUpdated"
            },
            if complete {
                format!(
                    "ReplicaSet \"{}\" has successfully progressed.",
                    meta_str(&new, "name")
                )
            } else {
                format!("ReplicaSet \"{}\" is progressing.", meta_str(&new, "name"))
            },
        ),
    ]);
    let mut status = json!({
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": sum("replicas"),
        "updatedReplicas": updated,
        "readyReplicas": sum("readyReplicas"),
        "availableReplicas": available,
        "conditions": conditions,
    });
    if desired > available {
        status["unavailableReplicas"] = json!(desired - available);
    }
    let deployments = kind("apps", "deployments");
    let mut fresh = objects.get(deployments, ns, name)?;
    let revision = revision_of(&new).to_string();
    if fresh["metadata"]["annotations"][REVISION].as_str() != Some(revision.as_str()) {
        fresh["metadata"]["annotations"][REVISION] = json!(revision);
        match objects.update(deployments, ns, name, None, fresh, &quiet()) {
            Ok((updated, _)) => fresh = updated,
            Err(e) if e.code == 409 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    write_status(objects, deployments, &fresh, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_rounds_up_and_unavailability_down() {
        assert_eq!(resolve(&json!("25%"), 3, true), 1);
        assert_eq!(resolve(&json!("25%"), 3, false), 0);
        assert_eq!(resolve(&json!(2), 3, false), 2);
        assert_eq!(template_hash(&json!({"a": 1})).len(), 10);
    }
}
