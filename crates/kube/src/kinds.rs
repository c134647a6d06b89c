//! The kinds this API serves. Each one's group, version, kind, plural and scope come from its
//! k8s-openapi type; what the type does not say (short names, subresources, which verbs) is
//! listed here, as kube-apiserver's discovery shows it.

use std::any::TypeId;

use k8s_openapi::api::{apps, batch, core, discovery};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One served kind.
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    /// The plural, as in URLs: `configmaps`.
    pub resource: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources beyond the object: `status`, `scale`.
    pub subresources: &'static [&'static str],
    /// Reads a body as this kind's type and writes it back: fields the type does not know are
    /// gone from what comes back (strict field validation compares the two).
    pub round_trip: fn(&Value) -> Result<Value, serde_json::Error>,
    /// Adds this kind's schema (and every schema it refers to) to a generator; its name.
    pub schema: fn(&mut schemars::SchemaGenerator) -> String,
}

impl Kind {
    pub fn api_version(&self) -> String {
        group_version(self.group, self.version)
    }

    pub fn singular(&self) -> String {
        self.kind.to_lowercase()
    }

    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }
}

pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// The verbs of a collection and its objects, as discovery lists them.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a subresource: reads only for a pod's log.
pub fn subresource_verbs(subresource: &str) -> &'static [&'static str] {
    match subresource {
        "log" => &["get"],
        // kube-apiserver's streaming subresources: GET (WebSocket) and POST (SPDY).
        "exec" | "attach" | "portforward" => &["create", "get"],
        _ => &["get", "patch", "update"],
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, serde_json::Error> {
    let typed: T = serde_json::from_value(value.clone())?;
    serde_json::to_value(typed)
}

fn schema<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> String {
    generator.subschema_for::<T>();
    T::schema_name().into_owned()
}

fn kind<T>(
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Kind
where
    T: k8s_openapi::Resource
        + k8s_openapi::ListableResource
        + DeserializeOwned
        + Serialize
        + schemars::JsonSchema
        + 'static,
{
    Kind {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: T::LIST_KIND,
        resource: T::URL_PATH_SEGMENT,
        namespaced: TypeId::of::<T::Scope>() == TypeId::of::<k8s_openapi::NamespaceResourceScope>(),
        short_names,
        categories,
        subresources,
        round_trip: round_trip::<T>,
        schema: schema::<T>,
    }
}

/// Every served kind, core first (discovery's order).
pub fn all() -> &'static [Kind] {
    static KINDS: std::sync::OnceLock<Vec<Kind>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        vec![
            kind::<core::v1::Namespace>(&["ns"], &[], &["status"]),
            kind::<core::v1::ConfigMap>(&["cm"], &[], &[]),
            kind::<core::v1::Secret>(&[], &[], &[]),
            kind::<core::v1::Pod>(
                &["po"],
                &["all"],
                &["status", "log", "exec", "attach", "portforward"],
            ),
            kind::<core::v1::Service>(&["svc"], &["all"], &["status"]),
            kind::<core::v1::Event>(&["ev"], &[], &[]),
            kind::<core::v1::Node>(&["no"], &[], &["status"]),
            kind::<core::v1::Endpoints>(&["ep"], &[], &[]),
            kind::<apps::v1::Deployment>(&["deploy"], &["all"], &["status", "scale"]),
            kind::<apps::v1::ReplicaSet>(&["rs"], &["all"], &["status", "scale"]),
            kind::<batch::v1::Job>(&[], &["all"], &["status"]),
            kind::<discovery::v1::EndpointSlice>(&[], &[], &[]),
            kind::<core::v1::PersistentVolumeClaim>(&["pvc"], &[], &["status"]),
            kind::<apps::v1::StatefulSet>(&["sts"], &["all"], &["status", "scale"]),
            kind::<apps::v1::DaemonSet>(&["ds"], &["all"], &["status"]),
            kind::<batch::v1::CronJob>(&["cj"], &["all"], &["status"]),
        ]
    })
}

/// The kind served at this group, version and plural.
pub fn find(group: &str, version: &str, resource: &str) -> Option<&'static Kind> {
    all()
        .iter()
        .find(|k| k.group == group && k.version == version && k.resource == resource)
}

/// The kind of this apiVersion and kind (for owner references and bodies).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Kind> {
    all()
        .iter()
        .find(|k| k.kind == kind && k.api_version() == api_version)
}

/// The group/versions served, core's `v1` first, each once.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for k in all() {
        if !seen.contains(&(k.group, k.version)) {
            seen.push((k.group, k.version));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_types() {
        let cm = find("", "v1", "configmaps").unwrap();
        assert_eq!(cm.kind, "ConfigMap");
        assert!(cm.namespaced);
        let ns = find("", "v1", "namespaces").unwrap();
        assert!(!ns.namespaced);
        assert_eq!(
            find("apps", "v1", "deployments").unwrap().api_version(),
            "apps/v1"
        );
        let unknown =
            serde_json::json!({"metadata": {"name": "x"}, "data": {"a": "b"}, "bogus": 1});
        let back = (cm.round_trip)(&unknown).unwrap();
        assert!(back.get("bogus").is_none());
        assert_eq!(back["data"]["a"], "b");
    }
}
