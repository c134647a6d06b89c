//! The pod worker: this node's scheduler and kubelet loop. A pod with no node is bound to this
//! one; a bound pod is synced through the [`Kubelet`] (each call moves it one step) and its
//! status written back; a pod being deleted has its containers stopped (its grace period) and
//! then goes from the store. A pod deleted outright (grace 0) has its containers removed when
//! the deletion is seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use serde_json::{Value, json};

use super::{kind, meta_str, quiet, wait_for_change, write_status};
use crate::kubelet::Kubelet;
use crate::objects::{DeleteOptions, ListQuery, Objects};

/// How often running pods are looked at again (probes, restarts, exits).
const RESYNC: Duration = Duration::from_millis(500);

/// The kubelet finds the ConfigMaps and Secrets pods name in the API's store.
struct StoreObjects(Arc<Objects>);

impl StoreObjects {
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Option<T> {
        let object = self.0.get(kind("", resource), namespace, name).ok()?;
        serde_json::from_value(object).ok()
    }
}

impl crate::kubelet::Objects for StoreObjects {
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
        self.read("configmaps", namespace, name)
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
        self.read("secrets", namespace, name)
    }

    fn persistent_volume_claim(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<k8s_openapi::api::core::v1::PersistentVolumeClaim> {
        self.read("persistentvolumeclaims", namespace, name)
    }
}

pub fn run(objects: Arc<Objects>, node: String) {
    let engine = match berth_engine::Engine::open() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("berth serve: the pod worker cannot open the engine: {e}");
            return;
        }
    };
    // This thread alone uses the engine and the kubelet.
    #[allow(clippy::arc_with_non_send_sync)]
    let kubelet = Kubelet::with_objects(Arc::new(engine), Box::new(StoreObjects(objects.clone())))
        .with_cluster_dns(crate::kubelet::CLUSTER_DNS_IP);
    let mut changes = objects.store.subscribe();
    let mut known: BTreeMap<String, u64> = BTreeMap::new();
    let stopping = Stopping::default();
    loop {
        if let Err(e) = pass(&objects, &stopping, &kubelet, &node, &mut known) {
            eprintln!("berth serve: pod worker: {e}");
        }
        wait_for_change(&mut changes, RESYNC);
    }
}

/// One look at every pod. `known` holds the uids of pods synced here (and their grace), so a
/// pod that vanished from the store has its containers removed.
fn pass(
    objects: &Arc<Objects>,
    stopping: &Stopping,
    kubelet: &Kubelet,
    node: &str,
    known: &mut BTreeMap<String, u64>,
) -> Result<(), crate::status::ApiError> {
    let pods_kind = kind("", "pods");
    let (pods, _, _) = objects.list(pods_kind, None, &ListQuery::default())?;
    let mut present = Vec::new();
    for pod in pods {
        let ns = meta_str(&pod, "namespace").to_string();
        let name = meta_str(&pod, "name").to_string();
        let uid = meta_str(&pod, "uid").to_string();
        present.push(uid.clone());
        let grace = pod["metadata"]["deletionGracePeriodSeconds"]
            .as_u64()
            .or(pod["spec"]["terminationGracePeriodSeconds"].as_u64())
            .unwrap_or(30);
        if pod["metadata"]["deletionTimestamp"].is_string() {
            if stopping
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&uid)
            {
                continue;
            }
            for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
                let message = format!(
                    "Stopping container {}",
                    container["name"].as_str().unwrap_or_default()
                );
                super::events::normal(objects, &pod, "kubelet", "Killing", &message);
            }
            known.remove(&uid);
            stop_in_background(objects, stopping, &pod, uid, Duration::from_secs(grace));
            continue;
        }
        match pod["spec"]["nodeName"].as_str() {
            None | Some("") => {
                bind(objects, &pod, node);
                continue;
            }
            Some(other) if other != node => continue,
            Some(_) => {}
        }
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) && pod["spec"]["restartPolicy"] != "Always"
        {
            continue;
        }
        known.insert(uid.clone(), grace);
        let typed: Pod = match serde_json::from_value(pod.clone()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("berth serve: pod {ns}/{name}: {e}");
                continue;
            }
        };
        match kubelet.sync_pod(&typed) {
            Ok(status) => {
                let status = serde_json::to_value(status).unwrap_or(Value::Null);
                if status["phase"] == "Running" && pod["status"]["phase"] != "Running" {
                    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                        let message = format!(
                            "Started container {}",
                            c["name"].as_str().unwrap_or_default()
                        );
                        super::events::normal(objects, &pod, "kubelet", "Started", &message);
                    }
                }
                write_status(objects, pods_kind, &pod, status)?;
            }
            Err(e) => eprintln!("berth serve: syncing pod {ns}/{name}: {e}"),
        }
    }
    let gone: Vec<String> = known
        .keys()
        .filter(|uid| !present.contains(uid))
        .cloned()
        .collect();
    for uid in gone {
        if let Err(e) = kubelet.remove_pod(&uid, Duration::ZERO) {
            eprintln!("berth serve: removing the containers of deleted pod {uid}: {e}");
            continue;
        }
        known.remove(&uid);
    }
    Ok(())
}

/// The uids of the pods whose containers are being stopped.
type Stopping = Arc<Mutex<BTreeSet<String>>>;

/// Stops a deleted pod's containers within its grace period on a thread of its own (with an
/// engine of its own: the engine is not Send), so one pod's grace period holds up no other
/// pod; then the pod goes from the store.
fn stop_in_background(
    objects: &Arc<Objects>,
    stopping: &Stopping,
    pod: &Value,
    uid: String,
    grace: Duration,
) {
    stopping
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(uid.clone());
    let (objects, stopping) = (objects.clone(), stopping.clone());
    let (ns, name) = (
        meta_str(pod, "namespace").to_string(),
        meta_str(pod, "name").to_string(),
    );
    std::thread::spawn(move || {
        let stopped = berth_engine::Engine::open()
            .map_err(|e| e.to_string())
            .and_then(|engine| {
                // This thread alone uses this engine.
                #[allow(clippy::arc_with_non_send_sync)]
                let kubelet = Kubelet::new(Arc::new(engine));
                kubelet.remove_pod(&uid, grace).map_err(|e| e.to_string())
            });
        match stopped {
            Ok(()) => {
                let now = DeleteOptions {
                    grace_seconds: Some(0),
                    ..DeleteOptions::default()
                };
                let _ = objects.delete(kind("", "pods"), &ns, &name, &now);
            }
            Err(e) => eprintln!("berth serve: removing pod {ns}/{name}: {e}"),
        }
        stopping
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid);
    });
}

/// The scheduler's binding: one node, so every pod goes to it.
fn bind(objects: &Objects, pod: &Value, node: &str) {
    let mut next = pod.clone();
    next["spec"]["nodeName"] = json!(node);
    let (ns, name) = (meta_str(pod, "namespace"), meta_str(pod, "name"));
    // A conflict means someone wrote first; the next pass binds what is there.
    if objects
        .update(kind("", "pods"), ns, name, None, next, &quiet())
        .is_ok()
    {
        let message = format!("Successfully assigned {ns}/{name} to {node}");
        super::events::normal(objects, pod, "default-scheduler", "Scheduled", &message);
    }
}
