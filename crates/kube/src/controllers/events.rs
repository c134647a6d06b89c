//! Events the controllers record about what they did (what `kubectl describe` lists under
//! Events and `kubectl get events` shows): the reasons and messages Kubernetes' own
//! controllers use.

use serde_json::{Value, json};

use super::{kind, meta_str};
use crate::objects::{Objects, WriteOptions};

/// Records a Normal event about `involved` from `component`. A failure to record is not the
/// caller's failure: events are best effort, as in Kubernetes.
pub fn normal(objects: &Objects, involved: &Value, component: &str, reason: &str, message: &str) {
    record(objects, involved, component, "Normal", reason, message);
}

/// Records a Warning event (something the user must fix, such as a missing storage class).
pub fn warning(objects: &Objects, involved: &Value, component: &str, reason: &str, message: &str) {
    record(objects, involved, component, "Warning", reason, message);
}

fn record(
    objects: &Objects,
    involved: &Value,
    component: &str,
    event_type: &str,
    reason: &str,
    message: &str,
) {
    let ns = match meta_str(involved, "namespace") {
        "" => "default",
        ns => ns,
    };
    let now = chrono::Utc::now();
    let stamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", meta_str(involved, "name"), now.timestamp_nanos_opt().unwrap_or_default()),
            "namespace": ns,
        },
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": involved["metadata"]["name"],
            "namespace": involved["metadata"]["namespace"],
            "uid": involved["metadata"]["uid"],
            "resourceVersion": involved["metadata"]["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    });
    let _ = objects.create(kind("", "events"), ns, event, &WriteOptions::default());
}
