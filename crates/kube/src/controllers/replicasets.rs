//! The ReplicaSet controller: as many live pods (made from the template, owned by the set) as
//! `spec.replicas` says; extra ones go, newest and unready first. Its status counts them.

use serde_json::{Value, json};

use super::{kind, meta_str, owned_pods, pod_from_template, quiet, write_status};
use crate::objects::{DeleteOptions, ListQuery, Objects};
use crate::status::ApiError;

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn alive(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && !matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        )
}

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let sets = kind("apps", "replicasets");
    let (all, _, _) = objects.list(sets, None, &ListQuery::default())?;
    for set in all {
        if set["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        // Deleted meanwhile: nothing left to do for it.
        match sync(objects, &set) {
            Err(e) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(())
}

fn sync(objects: &Objects, set: &Value) -> Result<(), ApiError> {
    let pods_kind = kind("", "pods");
    let ns = meta_str(set, "namespace");
    let mut owned = owned_pods(objects, set)?;
    let mut live: Vec<Value> = owned.iter().filter(|p| alive(p)).cloned().collect();
    let want = set["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    if live.len() < want {
        for _ in live.len()..want {
            let pod = pod_from_template(set);
            let (made, _) = objects.create(pods_kind, ns, pod, &quiet())?;
            let message = format!("Created pod: {}", meta_str(&made, "name"));
            super::events::normal(
                objects,
                set,
                "replicaset-controller",
                "SuccessfulCreate",
                &message,
            );
            owned.push(made.clone());
            live.push(made);
        }
    } else if live.len() > want {
        // Unready first, then the newest.
        live.sort_by_key(|p| {
            (
                is_ready(p),
                std::cmp::Reverse(meta_str(p, "creationTimestamp").to_string()),
            )
        });
        for pod in live.drain(..live.len() - want) {
            match objects.delete(
                pods_kind,
                ns,
                meta_str(&pod, "name"),
                &DeleteOptions::default(),
            ) {
                Err(e) if e.code != 404 => return Err(e),
                _ => {}
            }
        }
    }
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "replicas": live.len(),
        "fullyLabeledReplicas": live.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": set["metadata"]["generation"],
    });
    let current = objects.get(kind("apps", "replicasets"), ns, meta_str(set, "name"))?;
    write_status(objects, kind("apps", "replicasets"), &current, status)
}
