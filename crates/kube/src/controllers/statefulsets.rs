//! The StatefulSet controller: pods with stable names `NAME-0`, `NAME-1`, ... made in order
//! (OrderedReady: the next one only once every one before it is ready; Parallel: all at once),
//! removed from the highest ordinal down; each replica's claims from the volumeClaimTemplates
//! (`TEMPLATE-NAME-ORDINAL`) made before its pod and kept after it, so a pod made again finds
//! its data.

use serde_json::{Value, json};

use super::replicasets::is_ready;
use super::{kind, meta_str, owned_pods, pod_from_template, quiet, write_status};
use crate::objects::{DeleteOptions, ListQuery, Objects};
use crate::status::ApiError;

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let (all, _, _) = objects.list(kind("apps", "statefulsets"), None, &ListQuery::default())?;
    for set in all {
        if set["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        match sync(objects, &set) {
            Err(e) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(())
}

/// The ordinal of a pod named `SET-N`.
fn ordinal(set_name: &str, pod: &Value) -> Option<usize> {
    meta_str(pod, "name")
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn sync(objects: &Objects, set: &Value) -> Result<(), ApiError> {
    let pods_kind = kind("", "pods");
    let ns = meta_str(set, "namespace");
    let name = meta_str(set, "name");
    let want = set["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let parallel = set["spec"]["podManagementPolicy"] == "Parallel";
    let mut pods: Vec<(usize, Value)> = owned_pods(objects, set)?
        .into_iter()
        .filter_map(|p| Some((ordinal(name, &p)?, p)))
        .collect();
    pods.sort_by_key(|(n, _)| *n);
    // Up: the missing ordinals below `want`, in order.
    for n in 0..want {
        if pods.iter().any(|(i, _)| *i == n) {
            continue;
        }
        let before_ready = pods
            .iter()
            .filter(|(i, _)| *i < n)
            .all(|(_, p)| is_ready(p) && p["metadata"]["deletionTimestamp"].is_null());
        if !parallel && !before_ready {
            break;
        }
        ensure_claims(objects, set, n)?;
        let made = objects.create(pods_kind, ns, pod_for(set, n), &quiet())?.0;
        let message = format!(
            "create Pod {} in StatefulSet {name} successful",
            meta_str(&made, "name")
        );
        super::events::normal(
            objects,
            set,
            "statefulset-controller",
            "SuccessfulCreate",
            &message,
        );
        pods.push((n, made));
        pods.sort_by_key(|(n, _)| *n);
        if !parallel {
            break;
        }
    }
    // Down: the highest ordinal first, one at a time (OrderedReady) or all at once.
    let extra: Vec<&(usize, Value)> = pods.iter().rev().filter(|(n, _)| *n >= want).collect();
    for (_, pod) in extra.iter().take(if parallel { usize::MAX } else { 1 }) {
        if pod["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        match objects.delete(
            pods_kind,
            ns,
            meta_str(pod, "name"),
            &DeleteOptions::default(),
        ) {
            Err(e) if e.code != 404 => return Err(e),
            _ => {
                let message = format!(
                    "delete Pod {} in StatefulSet {name} successful",
                    meta_str(pod, "name")
                );
                super::events::normal(
                    objects,
                    set,
                    "statefulset-controller",
                    "SuccessfulDelete",
                    &message,
                );
            }
        }
    }
    let live: Vec<&Value> = pods
        .iter()
        .map(|(_, p)| p)
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "replicas": live.len(),
        "readyReplicas": ready,
        "currentReplicas": live.len(),
        "updatedReplicas": live.len(),
        "availableReplicas": ready,
        "observedGeneration": set["metadata"]["generation"],
        "collisionCount": 0,
    });
    let current = objects.get(kind("apps", "statefulsets"), ns, name)?;
    write_status(objects, kind("apps", "statefulsets"), &current, status)
}

/// The claim of template `template` for replica `n`: `TEMPLATE-SET-N`.
fn claim_name(template: &Value, set: &Value, n: usize) -> String {
    format!(
        "{}-{}-{n}",
        meta_str(template, "name"),
        meta_str(set, "name")
    )
}

/// Replica `n`'s claims, made from the templates unless they exist (they outlive the pods).
fn ensure_claims(objects: &Objects, set: &Value, n: usize) -> Result<(), ApiError> {
    let ns = meta_str(set, "namespace");
    let claims = kind("", "persistentvolumeclaims");
    for template in set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = claim_name(template, set, n);
        if objects.get(claims, ns, &name).is_ok() {
            continue;
        }
        let mut labels = set["spec"]["selector"]["matchLabels"].clone();
        if !labels.is_object() {
            labels = json!({});
        }
        let claim = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": template["spec"],
        });
        match objects.create(claims, ns, claim, &quiet()) {
            Err(e) if e.reason != "AlreadyExists" => return Err(e),
            _ => {
                let message = format!(
                    "create Claim {name} Pod {}-{n} in StatefulSet {} success",
                    meta_str(set, "name"),
                    meta_str(set, "name")
                );
                super::events::normal(
                    objects,
                    set,
                    "statefulset-controller",
                    "SuccessfulCreate",
                    &message,
                );
            }
        }
    }
    Ok(())
}

/// Replica `n`'s pod: the template with its stable name, hostname, subdomain (the set's
/// service) and its claims in place of the templates' volumes.
fn pod_for(set: &Value, n: usize) -> Value {
    let name = meta_str(set, "name");
    let pod_name = format!("{name}-{n}");
    let mut pod = pod_from_template(set);
    let meta = &mut pod["metadata"];
    meta.as_object_mut().map(|m| m.remove("generateName"));
    meta["name"] = json!(pod_name);
    meta["labels"]["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
    meta["labels"]["apps.kubernetes.io/pod-index"] = json!(n.to_string());
    let spec = &mut pod["spec"];
    spec["hostname"] = json!(pod_name);
    if let Some(service) = set["spec"]["serviceName"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        spec["subdomain"] = json!(service);
    }
    let templates = set["spec"]["volumeClaimTemplates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !templates.is_empty() {
        let mut volumes: Vec<Value> = spec["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !templates.iter().any(|t| t["metadata"]["name"] == v["name"]))
            .collect();
        for template in &templates {
            volumes.push(json!({
                "name": template["metadata"]["name"],
                "persistentVolumeClaim": {"claimName": claim_name(template, set, n)},
            }));
        }
        spec["volumes"] = json!(volumes);
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_have_stable_names_and_their_own_claims() {
        let set = json!({
            "metadata": {"name": "db", "namespace": "default", "uid": "u1"},
            "spec": {"serviceName": "db", "template": {"metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "c", "image": "bb"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]},
        });
        let pod = pod_for(&set, 1);
        assert_eq!(pod["metadata"]["name"], "db-1");
        assert_eq!(pod["spec"]["hostname"], "db-1");
        assert_eq!(pod["spec"]["subdomain"], "db");
        assert_eq!(pod["metadata"]["labels"]["app"], "db");
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "data-db-1"
        );
        assert_eq!(ordinal("db", &pod), Some(1));
        assert_eq!(ordinal("d", &pod), None);
    }
}
