//! The controllers `berth serve --kube` runs: they read desired state from the object store
//! and write what they make back through the same verbs kubectl uses (so ownerReferences,
//! resourceVersions and watches behave as for any client). Deployments own ReplicaSets by
//! pod-template hash, ReplicaSets own Pods, and the pod worker runs this node's pods through
//! the [`crate::kubelet`] and writes their status back. The service proxy and the cluster DNS
//! (kube-proxy's and CoreDNS's parts) run beside them.

pub mod cluster_dns;
mod cronjobs;
mod daemonsets;
mod deployments;
mod endpoints;
mod events;
mod jobs;
mod pods;
mod replicasets;
pub mod services;
mod statefulsets;
mod volumeclaims;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::kinds::{self, Kind};
use crate::objects::{Objects, WriteOptions};
use crate::status::ApiError;

/// How often the controllers look again when nothing told them to.
const RESYNC: Duration = Duration::from_millis(250);

/// Starts the controllers and the pod worker on threads of their own (the kubelet's engine is
/// not Send: it lives on its thread).
pub fn start(objects: Arc<Objects>, node: String) {
    let workloads = objects.clone();
    let services_objects = objects.clone();
    std::thread::Builder::new()
        .name("kube-controllers".into())
        .spawn(move || workload_loop(&workloads))
        .expect("spawning the controllers' thread");
    std::thread::Builder::new()
        .name("kube-pod-worker".into())
        .spawn(move || pods::run(objects, node))
        .expect("spawning the pod worker's thread");
    let proxied = services_objects.clone();
    std::thread::Builder::new()
        .name("kube-proxy".into())
        .spawn(move || services::run(proxied))
        .expect("spawning the service proxy's thread");
    std::thread::Builder::new()
        .name("kube-metrics".into())
        .spawn(crate::metrics::run_sampler)
        .expect("spawning the metrics sampler's thread");
    std::thread::Builder::new()
        .name("kube-dns".into())
        .spawn(move || cluster_dns::run(services_objects))
        .expect("spawning the cluster DNS's thread");
}

fn workload_loop(objects: &Objects) {
    let mut changes = objects.store.subscribe();
    loop {
        if let Err(e) = deployments::sync_all(objects) {
            eprintln!("berth serve: deployment controller: {e}");
        }
        if let Err(e) = replicasets::sync_all(objects) {
            eprintln!("berth serve: replicaset controller: {e}");
        }
        if let Err(e) = endpoints::sync_all(objects) {
            eprintln!("berth serve: endpoints controller: {e}");
        }
        if let Err(e) = jobs::sync_all(objects) {
            eprintln!("berth serve: job controller: {e}");
        }
        if let Err(e) = volumeclaims::sync_all(objects) {
            eprintln!("berth serve: persistent volume controller: {e}");
        }
        if let Err(e) = statefulsets::sync_all(objects) {
            eprintln!("berth serve: statefulset controller: {e}");
        }
        if let Err(e) = daemonsets::sync_all(objects, &crate::node::hostname()) {
            eprintln!("berth serve: daemonset controller: {e}");
        }
        if let Err(e) = cronjobs::sync_all(objects) {
            eprintln!("berth serve: cronjob controller: {e}");
        }
        wait_for_change(&mut changes, RESYNC);
    }
}

/// Sleeps until a change is announced or `at_most` passes; drains what is queued.
pub(crate) fn wait_for_change(
    changes: &mut tokio::sync::broadcast::Receiver<crate::store::Change>,
    at_most: Duration,
) {
    let deadline = std::time::Instant::now() + at_most;
    while std::time::Instant::now() < deadline {
        let mut any = false;
        while changes.try_recv().is_ok() {
            any = true;
        }
        if any {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A served kind by group and plural (every controller's kinds are v1 of their group).
pub(crate) fn kind(group: &str, resource: &str) -> &'static Kind {
    kinds::find(group, "v1", resource).expect("a served kind")
}

/// A controller's writes: no strict validation (it writes what it read).
pub(crate) fn quiet() -> WriteOptions {
    WriteOptions::default()
}

pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object["metadata"][field].as_str().unwrap_or_default()
}

/// The ownerReference a controller puts on what it makes.
pub(crate) fn owner_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// A new pod from `owner`'s `spec.template`, in its namespace, controlled by it; named
/// `OWNER-` plus a random suffix unless the caller names it.
pub(crate) fn pod_from_template(owner: &Value) -> Value {
    let mut template = owner["spec"]["template"].clone();
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": template["metadata"].take(),
        "spec": template["spec"].take(),
    });
    if !pod["metadata"].is_object() {
        pod["metadata"] = json!({});
    }
    pod["metadata"]["generateName"] = json!(format!("{}-", meta_str(owner, "name")));
    pod["metadata"]["namespace"] = json!(meta_str(owner, "namespace"));
    pod["metadata"]["ownerReferences"] = json!([owner_reference(owner)]);
    pod
}

/// Whether `object` is controlled by the object with this uid.
pub(crate) fn controlled_by(object: &Value, uid: &str) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"].as_str() == Some(uid) && r["controller"] == json!(true))
        })
}

/// The pods in `owner`'s namespace that `owner` controls.
pub(crate) fn owned_pods(objects: &Objects, owner: &Value) -> Result<Vec<Value>, ApiError> {
    let uid = meta_str(owner, "uid");
    let (pods, _, _) = objects.list(
        kind("", "pods"),
        Some(meta_str(owner, "namespace")),
        &crate::objects::ListQuery::default(),
    )?;
    Ok(pods.into_iter().filter(|p| controlled_by(p, uid)).collect())
}

/// Writes a new status when it differs from the stored one (a stale read is retried on the
/// next pass).
pub(crate) fn write_status(
    objects: &Objects,
    kind: &Kind,
    current: &Value,
    status: Value,
) -> Result<(), ApiError> {
    if current["status"] == status {
        return Ok(());
    }
    let mut next = current.clone();
    next["status"] = status;
    let ns = meta_str(current, "namespace");
    match objects.update(
        kind,
        ns,
        meta_str(current, "name"),
        Some("status"),
        next,
        &quiet(),
    ) {
        Err(e) if e.code == 409 || e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}
