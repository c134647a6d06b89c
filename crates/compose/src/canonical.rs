//! The project in the canonical form `docker compose config` prints: `name`, services,
//! networks, volumes (then `x-*`), each sorted by name, every field in its long syntax.

use indexmap::IndexMap;

use crate::error::Error;
use crate::model::Project;

/// The canonical document, top-level keys in Compose's order (fields inside are sorted, as
/// serde_json's map keeps them).
pub fn document(project: &Project) -> IndexMap<String, serde_json::Value> {
    let mut out = IndexMap::new();
    out.insert("name".into(), serde_json::Value::from(project.name.clone()));
    let sorted = |v: serde_json::Value| v;
    let json = serde_json::to_value(project).unwrap_or_default();
    for key in ["services", "networks", "volumes", "secrets", "configs"] {
        if let Some(v) = json.get(key) {
            out.insert(key.into(), sorted(v.clone()));
        }
    }
    for (k, v) in &project.extensions {
        out.insert(k.clone(), v.clone());
    }
    out
}

pub fn to_json(project: &Project) -> Result<String, Error> {
    serde_json::to_string_pretty(&document(project))
        .map_err(|e| Error::Project(format!("printing JSON: {e}")))
}

pub fn to_yaml(project: &Project) -> Result<String, Error> {
    serde_saphyr::to_string(&document(project))
        .map_err(|e| Error::Project(format!("printing YAML: {e}")))
}
