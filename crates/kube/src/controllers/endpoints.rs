//! The endpoints controller: each Service with a selector gets an Endpoints object (same name)
//! and an EndpointSlice listing the IPs of the pods it selects, ready ones apart from the
//! others (readiness gates a Service's traffic), with the service's ports resolved against the
//! pods' named container ports.

use serde_json::{Value, json};

use super::{kind, meta_str, owner_reference, quiet};
use crate::objects::{ListQuery, Objects};
use crate::selector::LabelSelector;
use crate::status::ApiError;

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let (services, _, _) = objects.list(kind("", "services"), None, &ListQuery::default())?;
    for service in services {
        if service["spec"]["selector"]
            .as_object()
            .is_some_and(|s| !s.is_empty())
            && service["metadata"]["deletionTimestamp"].is_null()
        {
            sync(objects, &service)?;
        }
    }
    Ok(())
}

/// The port a service port reaches on a pod: its targetPort, by number or by the name of a
/// container port.
fn target_port(service_port: &Value, pod: &Value) -> Option<i64> {
    match &service_port["targetPort"] {
        Value::String(name) => pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"].as_str() == Some(name.as_str()))
            .and_then(|p| p["containerPort"].as_i64()),
        Value::Null => service_port["port"].as_i64(),
        other => other.as_i64(),
    }
}

pub(crate) fn write(
    objects: &Objects,
    resource_group: &str,
    resource: &str,
    ns: &str,
    desired: Value,
) -> Result<(), ApiError> {
    let kind = kind(resource_group, resource);
    let name = meta_str(&desired, "name").to_string();
    match objects.get(kind, ns, &name) {
        Err(e) if e.code == 404 => {
            objects.create(kind, ns, desired, &quiet())?;
        }
        Err(e) => return Err(e),
        Ok(current) => {
            let same = ["subsets", "endpoints", "ports", "addressType"]
                .iter()
                .all(|f| current.get(*f) == desired.get(*f));
            if !same {
                let mut next = desired;
                next["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
                match objects.update(kind, ns, &name, None, next, &quiet()) {
                    Err(e) if e.code != 409 => return Err(e),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn sync(objects: &Objects, service: &Value) -> Result<(), ApiError> {
    let ns = meta_str(service, "namespace");
    let name = meta_str(service, "name");
    let selector = LabelSelector::from_object(&json!({"matchLabels": service["spec"]["selector"]}));
    let (pods, _, _) = objects.list(
        kind("", "pods"),
        Some(ns),
        &ListQuery {
            labels: selector,
            ..ListQuery::default()
        },
    )?;
    let pods: Vec<Value> = pods
        .into_iter()
        .filter(|p| {
            p["status"]["podIP"].is_string() && p["metadata"]["deletionTimestamp"].is_null()
        })
        .collect();
    let service_ports: Vec<Value> = service["spec"]["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut subsets = Vec::new();
    let mut slice_endpoints = Vec::new();
    let mut slice_ports = Vec::new();
    for service_port in &service_ports {
        let resolved = pods.first().and_then(|p| target_port(service_port, p));
        let mut port = json!({"port": resolved.unwrap_or(0), "protocol": service_port["protocol"].as_str().unwrap_or("TCP")});
        if let Some(port_name) = service_port["name"].as_str() {
            port["name"] = json!(port_name);
        }
        slice_ports.push(port);
    }
    let address = |pod: &Value| {
        json!({"ip": pod["status"]["podIP"], "nodeName": pod["spec"]["nodeName"], "targetRef": {
            "kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}})
    };
    let (ready, unready): (Vec<&Value>, Vec<&Value>) =
        pods.iter().partition(|p| super::replicasets::is_ready(p));
    if !pods.is_empty() && !slice_ports.is_empty() {
        let mut subset = json!({"ports": slice_ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready.iter().map(|p| address(p)).collect::<Vec<_>>());
        }
        if !unready.is_empty() {
            subset["notReadyAddresses"] =
                json!(unready.iter().map(|p| address(p)).collect::<Vec<_>>());
        }
        subsets.push(subset);
    }
    for pod in &pods {
        let is_ready = super::replicasets::is_ready(pod);
        slice_endpoints.push(json!({
            "addresses": [pod["status"]["podIP"]],
            "conditions": {"ready": is_ready, "serving": is_ready, "terminating": false},
            "nodeName": pod["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
        }));
    }
    let owner = owner_reference(service);
    let mut endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": service["metadata"]["labels"], "ownerReferences": [owner]},
    });
    if !subsets.is_empty() {
        endpoints["subsets"] = json!(subsets);
    }
    write(objects, "", "endpoints", ns, endpoints)?;
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{name}-slice"),
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "ownerReferences": [owner],
        },
        "addressType": "IPv4",
        "endpoints": slice_endpoints,
        "ports": slice_ports,
    });
    write(objects, "discovery.k8s.io", "endpointslices", ns, slice)
}
