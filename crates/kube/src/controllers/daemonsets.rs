//! The DaemonSet controller: one pod of the template on each node, and this cluster has one
//! node (this host): a missing or finished pod is made again, extra ones go.

use serde_json::{Value, json};

use super::replicasets::is_ready;
use super::{kind, meta_str, owned_pods, pod_from_template, quiet, write_status};
use crate::objects::{DeleteOptions, ListQuery, Objects};
use crate::status::ApiError;

pub fn sync_all(objects: &Objects, node: &str) -> Result<(), ApiError> {
    let (all, _, _) = objects.list(kind("apps", "daemonsets"), None, &ListQuery::default())?;
    for set in all {
        if set["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        match sync(objects, &set, node) {
            Err(e) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(())
}

fn sync(objects: &Objects, set: &Value, node: &str) -> Result<(), ApiError> {
    let pods_kind = kind("", "pods");
    let ns = meta_str(set, "namespace");
    let owned = owned_pods(objects, set)?;
    let (finished, mut live): (Vec<Value>, Vec<Value>) = owned
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .partition(|p| matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")));
    for pod in finished.iter().chain(live.iter().skip(1)) {
        match objects.delete(
            pods_kind,
            ns,
            meta_str(pod, "name"),
            &DeleteOptions::default(),
        ) {
            Err(e) if e.code != 404 => return Err(e),
            _ => {}
        }
    }
    live.truncate(1);
    if live.is_empty() {
        let mut pod = pod_from_template(set);
        pod["spec"]["nodeName"] = json!(node);
        let (made, _) = objects.create(pods_kind, ns, pod, &quiet())?;
        let message = format!("Created pod: {}", meta_str(&made, "name"));
        super::events::normal(
            objects,
            set,
            "daemonset-controller",
            "SuccessfulCreate",
            &message,
        );
        live.push(made);
    }
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": live.len(),
        "updatedNumberScheduled": live.len(),
        "numberMisscheduled": 0,
        "numberReady": ready,
        "numberAvailable": ready,
        "observedGeneration": set["metadata"]["generation"],
    });
    let current = objects.get(kind("apps", "daemonsets"), ns, meta_str(set, "name"))?;
    write_status(objects, kind("apps", "daemonsets"), &current, status)
}
