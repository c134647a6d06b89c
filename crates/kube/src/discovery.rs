//! Discovery: `/version`, `/api`, `/apis`, each group/version's APIResourceList, and the
//! aggregated form (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) that kubectl 1.30+ asks for
//! first, all from the kinds table.

use serde_json::{Value, json};

use crate::kinds::{self, Kind, VERBS, subresource_verbs};

/// The Content-Type of an aggregated discovery answer (kubectl checks it).
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// The Kubernetes version whose API the served types are (k8s-openapi's newest).
pub const MINOR: &str = "33";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": MINOR,
        "gitVersion": format!("v1.{MINOR}.0-berth.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none (berth is Rust)",
        "compiler": "rustc",
        "platform": format!("linux/{}", match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", other => other }),
    })
}

pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    })
}

fn groups() -> Vec<&'static str> {
    let mut groups = Vec::new();
    for (group, _) in kinds::group_versions() {
        if !group.is_empty() && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

fn versions_of(group: &str) -> Vec<&'static str> {
    kinds::group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(_, v)| v)
        .collect()
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|group| {
            let versions: Vec<Value> = versions_of(group)
                .into_iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
        })
        .chain(std::iter::once(metrics_api_group()))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/GROUP`: one APIGroup.
pub fn api_group(group: &str) -> Option<Value> {
    if group == METRICS_GROUP {
        return Some(metrics_api_group());
    }
    let versions: Vec<Value> = versions_of(group)
        .into_iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    (!versions.is_empty()).then(|| {
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions, "preferredVersion": versions[0]})
    })
}

fn served(group: &str, version: &str) -> impl Iterator<Item = &'static Kind> {
    let (group, version) = (group.to_string(), version.to_string());
    kinds::all()
        .iter()
        .filter(move |k| k.group == group && k.version == version)
}

/// The response kind of a subresource: scale answers with autoscaling/v1 Scale.
fn subresource_kind(kind: &Kind, subresource: &str) -> (&'static str, &'static str, &'static str) {
    match subresource {
        "scale" => ("autoscaling", "v1", "Scale"),
        "log" => ("", "v1", "Pod"),
        _ => (kind.group, kind.version, kind.kind),
    }
}

/// `/api/v1`, `/apis/GROUP/VERSION`: the APIResourceList.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if (group, version) == (METRICS_GROUP, METRICS_VERSION) {
        return Some(metrics_resource_list());
    }
    let mut resources = Vec::new();
    for kind in served(group, version) {
        let mut resource = json!({
            "name": kind.resource,
            "singularName": kind.singular(),
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": VERBS,
        });
        if !kind.short_names.is_empty() {
            resource["shortNames"] = json!(kind.short_names);
        }
        if !kind.categories.is_empty() {
            resource["categories"] = json!(kind.categories);
        }
        resources.push(resource);
        for sub in kind.subresources {
            let (g, v, k) = subresource_kind(kind, sub);
            let mut resource = json!({
                "name": format!("{}/{sub}", kind.resource),
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": k,
                "verbs": subresource_verbs(sub),
            });
            if g != kind.group {
                resource["group"] = json!(g);
                resource["version"] = json!(v);
            }
            resources.push(resource);
        }
    }
    (!resources.is_empty()).then(|| {
        json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": kinds::group_version(group, version),
            "resources": resources,
        })
    })
}

fn discovery_version(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = served(group, version)
        .map(|kind| {
            let subresources: Vec<Value> = kind
                .subresources
                .iter()
                .map(|sub| {
                    let (g, v, k) = subresource_kind(kind, sub);
                    json!({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": subresource_verbs(sub)})
                })
                .collect();
            let mut resource = json!({
                "resource": kind.resource,
                "responseKind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
                "scope": if kind.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": kind.singular(),
                "verbs": VERBS,
            });
            if !kind.short_names.is_empty() {
                resource["shortNames"] = json!(kind.short_names);
            }
            if !kind.categories.is_empty() {
                resource["categories"] = json!(kind.categories);
            }
            if !subresources.is_empty() {
                resource["subresources"] = json!(subresources);
            }
            resource
        })
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

/// The aggregated discovery document of `/api` (core) or `/apis` (every named group), in the
/// apiVersion asked for (v2 or v2beta1: the same shape).
pub fn aggregated(core: bool, api_version: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![json!({"metadata": {"name": ""}, "versions": [discovery_version("", "v1")]})]
    } else {
        groups()
            .into_iter()
            .map(|group| {
                let versions: Vec<Value> = versions_of(group)
                    .into_iter()
                    .map(|v| discovery_version(group, v))
                    .collect();
                json!({"metadata": {"name": group}, "versions": versions})
            })
            .chain(std::iter::once(metrics_aggregated_item()))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": items,
    })
}

/// metrics.k8s.io, served by [`crate::metrics`] (no stored kind: its objects are read live).
pub const METRICS_GROUP: &str = "metrics.k8s.io";
pub const METRICS_VERSION: &str = "v1beta1";

/// `/apis/metrics.k8s.io`: the APIGroup.
pub fn metrics_api_group() -> Value {
    let version = json!({"groupVersion": format!("{METRICS_GROUP}/{METRICS_VERSION}"), "version": METRICS_VERSION});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": METRICS_GROUP, "versions": [version], "preferredVersion": version})
}

/// `/apis/metrics.k8s.io/v1beta1`: the APIResourceList.
pub fn metrics_resource_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{METRICS_GROUP}/{METRICS_VERSION}"),
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]},
        ],
    })
}

/// The group's entry of the aggregated discovery document.
pub fn metrics_aggregated_item() -> Value {
    let resource = |name: &str, kind: &str, scope: &str| {
        json!({"resource": name, "responseKind": {"group": METRICS_GROUP, "version": METRICS_VERSION, "kind": kind},
            "scope": scope, "singularResource": "", "verbs": ["get", "list"]})
    };
    json!({"metadata": {"name": METRICS_GROUP}, "versions": [{"version": METRICS_VERSION, "freshness": "Current", "resources": [
        resource("nodes", "NodeMetrics", "Cluster"),
        resource("pods", "PodMetrics", "Namespaced"),
    ]}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists_configmaps_with_short_names_and_subresources() {
        let list = resource_list("", "v1").unwrap();
        let resources = list["resources"].as_array().unwrap();
        let cm = resources
            .iter()
            .find(|r| r["name"] == "configmaps")
            .unwrap();
        assert_eq!(cm["shortNames"], json!(["cm"]));
        assert!(resources.iter().any(|r| r["name"] == "pods/status"));
        let apps = resource_list("apps", "v1").unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["group"], "autoscaling");
        let aggregated = aggregated(false, "apidiscovery.k8s.io/v2");
        assert!(
            aggregated["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["metadata"]["name"] == "apps")
        );
    }
}
