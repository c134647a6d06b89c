//! The objects a pod refers to (ConfigMaps and Secrets for its env and volumes): the API
//! server's store gives them, `kube play` the documents of its file.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};

/// Where the kubelet looks up the objects a pod names.
pub trait Objects {
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap>;
    fn secret(&self, namespace: &str, name: &str) -> Option<Secret>;

    /// A PersistentVolumeClaim, where claims are objects of their own (the API server's):
    /// `None` leaves the claim's name as its volume's, as `kube play` has it.
    fn persistent_volume_claim(
        &self,
        _namespace: &str,
        _name: &str,
    ) -> Option<PersistentVolumeClaim> {
        None
    }
}

/// Objects held in memory, by namespace and name.
#[derive(Debug, Clone, Default)]
pub struct ObjectSet {
    config_maps: BTreeMap<(String, String), ConfigMap>,
    secrets: BTreeMap<(String, String), Secret>,
}

fn key(namespace: Option<&String>, name: Option<&String>) -> (String, String) {
    (
        namespace.cloned().unwrap_or_else(|| "default".into()),
        name.cloned().unwrap_or_default(),
    )
}

impl ObjectSet {
    pub fn add_config_map(&mut self, map: ConfigMap) {
        let key = key(map.metadata.namespace.as_ref(), map.metadata.name.as_ref());
        self.config_maps.insert(key, map);
    }

    pub fn add_secret(&mut self, secret: Secret) {
        let key = key(
            secret.metadata.namespace.as_ref(),
            secret.metadata.name.as_ref(),
        );
        self.secrets.insert(key, secret);
    }
}

impl Objects for ObjectSet {
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
        self.config_maps
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
        self.secrets
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
}

/// A ConfigMap's or Secret's entries as bytes (a Secret's `stringData` over its `data`, as
/// the API server merges them).
pub fn config_map_entries(map: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in map.binary_data.iter().flatten() {
        entries.insert(k.clone(), v.0.clone());
    }
    for (k, v) in map.data.iter().flatten() {
        entries.insert(k.clone(), v.clone().into_bytes());
    }
    entries
}

pub fn secret_entries(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        entries.insert(k.clone(), v.0.clone());
    }
    for (k, v) in secret.string_data.iter().flatten() {
        entries.insert(k.clone(), v.clone().into_bytes());
    }
    entries
}
