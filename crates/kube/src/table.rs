//! Server-side tables (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns
//! kube-apiserver's printers give each kind, so `kubectl get` (and `-o wide`, `-w`) prints what
//! it prints against a cluster.

use serde_json::{Value, json};

use crate::kinds::Kind;

/// One column: its name, type and priority (1: only with `-o wide`).
type Column = (&'static str, &'static str, u8);

fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Pod" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        "ConfigMap" => vec![
            ("Name", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        "Secret" => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        "Namespace" => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        "Service" => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        "Node" => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
        ],
        "Event" => vec![
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        "Deployment" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "ReplicaSet" => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "Job" => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
        ],
        "Endpoints" => vec![
            ("Name", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        "EndpointSlice" => vec![
            ("Name", "string", 0),
            ("AddressType", "string", 0),
            ("Ports", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        "PersistentVolumeClaim" => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        "StatefulSet" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        "DaemonSet" => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "CronJob" => vec![
            ("Name", "string", 0),
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _ => vec![("Name", "string", 0), ("Age", "string", 0)],
    }
}

/// Kubernetes' HumanDuration: `45s`, `3m20s`, `5h`, `2d3h`, `400d`, `3y20d`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h) = (s / 60, s / 3600);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 == 0 => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 == 0 => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 == 0 => format!("{}d", h / 24),
        _ if h < 192 => format!("{}d{}h", h / 24, h % 24),
        _ if h < 24 * 365 * 2 => format!("{}d", h / 24),
        _ if h < 24 * 365 * 8 && (h / 24) % 365 == 0 => format!("{}y", h / 24 / 365),
        _ if h < 24 * 365 * 8 => format!("{}y{}d", h / 24 / 365, (h / 24) % 365),
        _ => format!("{}y", h / 24 / 365),
    }
}

fn age(timestamp: &Value) -> String {
    timestamp
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()))
        .unwrap_or_else(|| "<unknown>".into())
}

fn or_none(value: &Value) -> Value {
    match value.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

fn count(value: &Value) -> i64 {
    value.as_object().map_or(0, |o| o.len() as i64)
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

pub fn selector_text(selector: &Value) -> String {
    let labels = selector.get("matchLabels").unwrap_or(selector);
    let text: Vec<String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if text.is_empty() {
        "<none>".into()
    } else {
        text.join(",")
    }
}

fn containers_and_images(template_spec: &Value) -> (String, String) {
    let containers = template_spec["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let images: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["image"].as_str())
        .collect();
    (names.join(","), images.join(","))
}

/// A pod's STATUS as kubectl shows it: the phase, or a container's waiting or terminated
/// reason (CrashLoopBackOff, ErrImagePull, Completed), or Terminating.
pub fn pod_status(pod: &Value) -> String {
    let status = &pod["status"];
    let mut reason = status["reason"]
        .as_str()
        .or(status["phase"].as_str())
        .unwrap_or("Pending")
        .to_string();
    for c in status["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(r) = c["state"]["waiting"]["reason"]
            .as_str()
            .filter(|r| *r != "PodInitializing")
        {
            return format!("Init:{r}");
        }
    }
    for c in status["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
    {
        if let Some(r) = c["state"]["waiting"]["reason"].as_str() {
            reason = r.to_string();
        } else if let Some(r) = c["state"]["terminated"]["reason"].as_str() {
            reason = r.to_string();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        reason = "Terminating".into();
    }
    reason
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let name = o["metadata"]["name"].clone();
    let created = age(&o["metadata"]["creationTimestamp"]);
    match kind {
        "Pod" => {
            let statuses = o["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses
                .iter()
                .filter(|c| c["ready"] == json!(true))
                .count();
            let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts.to_string()),
                json!(created),
                or_none(&o["status"]["podIP"]),
                or_none(&o["spec"]["nodeName"]),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        "ConfigMap" => vec![
            name,
            json!(count(&o["data"]) + count(&o["binaryData"])),
            json!(created),
        ],
        "Secret" => vec![
            name,
            o["type"].clone(),
            json!(count(&o["data"])),
            json!(created),
        ],
        "Namespace" => vec![name, o["status"]["phase"].clone(), json!(created)],
        "Service" => {
            let ports: Vec<String> = o["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let node = p["nodePort"]
                        .as_i64()
                        .map(|n| format!(":{n}"))
                        .unwrap_or_default();
                    format!(
                        "{}{node}/{}",
                        p["port"],
                        p["protocol"].as_str().unwrap_or("TCP")
                    )
                })
                .collect();
            let external = o["spec"]["externalIPs"]
                .as_array()
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                o["spec"]["type"].clone(),
                or_none(&o["spec"]["clusterIP"]),
                json!(external),
                json!(if ports.is_empty() {
                    "<none>".into()
                } else {
                    ports.join(",")
                }),
                json!(created),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "Node" => {
            let ready = o["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let address = o["status"]["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["type"] == "InternalIP")
                .map(|a| a["address"].clone())
                .unwrap_or(json!("<none>"));
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("control-plane"),
                json!(created),
                o["status"]["nodeInfo"]["kubeletVersion"].clone(),
                address,
            ]
        }
        "Event" => {
            let seen = o["lastTimestamp"]
                .as_str()
                .or(o["eventTime"].as_str())
                .map(|t| age(&json!(t)))
                .unwrap_or(created);
            let object = format!(
                "{}/{}",
                o["involvedObject"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase(),
                o["involvedObject"]["name"].as_str().unwrap_or_default()
            );
            vec![
                json!(seen),
                o["type"].clone(),
                o["reason"].clone(),
                json!(object),
                o["message"].clone(),
            ]
        }
        "Deployment" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(&o["status"]["readyReplicas"]),
                    int(&o["spec"]["replicas"])
                )),
                json!(int(&o["status"]["updatedReplicas"])),
                json!(int(&o["status"]["availableReplicas"])),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "ReplicaSet" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            vec![
                name,
                json!(int(&o["spec"]["replicas"])),
                json!(int(&o["status"]["replicas"])),
                json!(int(&o["status"]["readyReplicas"])),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "Job" => {
            let succeeded = int(&o["status"]["succeeded"]);
            let completions = o["spec"]["completions"].as_i64().unwrap_or(1);
            let holds = |kind: &str| {
                o["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == kind && c["status"] == "True")
            };
            let complete = ["Complete", "Failed", "FailureTarget", "Suspended"]
                .into_iter()
                .find(|kind| holds(kind))
                .unwrap_or("Running");
            let duration = match (
                o["status"]["startTime"].as_str(),
                o["status"]["completionTime"].as_str(),
            ) {
                (Some(start), Some(end)) => match (
                    chrono::DateTime::parse_from_rfc3339(start),
                    chrono::DateTime::parse_from_rfc3339(end),
                ) {
                    (Ok(s), Ok(e)) => human_duration((e - s).num_seconds()),
                    _ => String::new(),
                },
                (Some(start), None) => age(&json!(start)),
                _ => String::new(),
            };
            vec![
                name,
                json!(complete),
                json!(format!("{succeeded}/{completions}")),
                json!(duration),
                json!(created),
            ]
        }
        "Endpoints" => {
            let mut listed = Vec::new();
            for subset in o["subsets"].as_array().into_iter().flatten() {
                for address in subset["addresses"].as_array().into_iter().flatten() {
                    for port in subset["ports"].as_array().into_iter().flatten() {
                        listed.push(format!(
                            "{}:{}",
                            address["ip"].as_str().unwrap_or_default(),
                            port["port"]
                        ));
                    }
                }
            }
            let text = if listed.is_empty() {
                "<none>".to_string()
            } else {
                listed.join(",")
            };
            vec![name, json!(text), json!(created)]
        }
        "EndpointSlice" => {
            let ports: Vec<String> = o["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["port"].to_string())
                .collect();
            let addresses: Vec<String> = o["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            let or_none = |v: Vec<String>| {
                if v.is_empty() {
                    "<unset>".to_string()
                } else {
                    v.join(",")
                }
            };
            vec![
                name,
                o["addressType"].clone(),
                json!(or_none(ports)),
                json!(or_none(addresses)),
                json!(created),
            ]
        }
        "PersistentVolumeClaim" => {
            let modes: Vec<&str> = o["status"]["accessModes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| match m.as_str()? {
                    "ReadWriteOnce" => Some("RWO"),
                    "ReadOnlyMany" => Some("ROX"),
                    "ReadWriteMany" => Some("RWX"),
                    "ReadWriteOncePod" => Some("RWOP"),
                    _ => None,
                })
                .collect();
            vec![
                name,
                json!(o["status"]["phase"].as_str().unwrap_or("Pending")),
                json!(o["spec"]["volumeName"].as_str().unwrap_or_default()),
                json!(
                    o["status"]["capacity"]["storage"]
                        .as_str()
                        .unwrap_or_default()
                ),
                json!(modes.join(",")),
                json!(o["spec"]["storageClassName"].as_str().unwrap_or_default()),
                json!("<unset>"),
                json!(created),
                json!(o["spec"]["volumeMode"].as_str().unwrap_or_default()),
            ]
        }
        "StatefulSet" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(&o["status"]["readyReplicas"]),
                    int(&o["spec"]["replicas"])
                )),
                json!(created),
                json!(containers),
                json!(images),
            ]
        }
        "DaemonSet" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            let selector = o["spec"]["template"]["spec"]["nodeSelector"]
                .as_object()
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            let st = &o["status"];
            vec![
                name,
                json!(int(&st["desiredNumberScheduled"])),
                json!(int(&st["currentNumberScheduled"])),
                json!(int(&st["numberReady"])),
                json!(int(&st["updatedNumberScheduled"])),
                json!(int(&st["numberAvailable"])),
                json!(selector),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "CronJob" => {
            let (containers, images) =
                containers_and_images(&o["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
            let last = match o["status"]["lastScheduleTime"].as_str() {
                Some(t) => age(&json!(t)),
                None => "<none>".into(),
            };
            vec![
                name,
                o["spec"]["schedule"].clone(),
                json!(o["spec"]["timeZone"].as_str().unwrap_or("<none>")),
                json!(o["spec"]["suspend"].as_bool().unwrap_or(false)),
                json!(o["status"]["active"].as_array().map_or(0, Vec::len)),
                json!(last),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["jobTemplate"]["spec"]["selector"])),
            ]
        }
        _ => vec![name, json!(created)],
    }
}

/// What a row carries of its object: `includeObject=None|Metadata|Object` (Metadata by default).
fn row_object(object: &Value, include: &str) -> Option<Value> {
    match include {
        "None" => None,
        "Object" => Some(object.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
        })),
    }
}

/// A meta.k8s.io/v1 Table of these objects.
pub fn table(kind: &Kind, objects: &[Value], list_meta: Value, include: &str) -> Value {
    let definitions: Vec<Value> = columns(kind.kind)
        .into_iter()
        .map(|(name, kind_type, priority)| {
            let mut column = json!({"name": name, "type": kind_type, "format": "", "description": name, "priority": priority});
            if name == "Name" {
                column["format"] = json!("name");
            }
            column
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(kind.kind, o)});
            if let Some(object) = row_object(o, include) {
                row["object"] = object;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectls() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(3600 * 5), "5h");
        assert_eq!(human_duration(3600 * 50), "2d2h");
    }

    #[test]
    fn pod_rows_show_ready_status_restarts() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let row = cells("Pod", &pod);
        assert_eq!(row[1], "1/2");
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "3");
    }
}
