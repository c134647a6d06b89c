//! Merging documents as the Compose Specification says (several `-f` files, and a service over
//! the one it `extends`): mappings merge key by key, the override wins for scalars; `command`,
//! `entrypoint` and `healthcheck.test` are replaced whole; `environment`, `labels`,
//! `extra_hosts` and build `args` merge as mappings whichever syntax each side used;
//! `depends_on` and `networks` merge by name; `volumes` by target and `ports` by value;
//! other sequences are concatenated without duplicates.

use indexmap::IndexMap;

use crate::node::{Node, Value};

/// Merges `over` into `base` (a whole document, or a service when `path` is "services.X").
pub fn merge(base: &mut Node, over: Node, path: &str) {
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            for (k, v) in o {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get_mut(&k) {
                    Some(existing) => merge_key(existing, v, &child),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (_, value) => {
            base.value = value;
            base.loc = over.loc;
        }
    }
}

/// The last segment of a path, and whether it sits directly under a service.
fn service_key(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("services.")?;
    let (_service, key) = rest.split_once('.')?;
    Some(key)
}

fn merge_key(base: &mut Node, over: Node, path: &str) {
    let key = service_key(path).unwrap_or("");
    match key {
        "command" | "entrypoint" | "healthcheck.test" => replace(base, over),
        "environment" | "labels" | "extra_hosts" | "build.args" | "annotations" => {
            let sep = if key == "extra_hosts" { ':' } else { '=' };
            let mut b = as_dict(base, sep);
            let o = as_dict(&over, sep);
            for (k, v) in o {
                b.insert(k, v);
            }
            base.value = Value::Map(b);
        }
        "depends_on" | "networks" => {
            let mut b = as_named_map(base);
            for (k, v) in as_named_map(&over) {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v, ""),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            base.value = Value::Map(b);
        }
        "volumes" | "ports" | "expose" | "dns" | "dns_search" | "cap_add" | "cap_drop"
        | "security_opt" | "tmpfs" | "env_file" | "profiles" | "devices" | "secrets"
        | "configs" | "volumes_from" | "links" | "external_links" => {
            concat_unique(base, over, key == "volumes")
        }
        _ => match (&base.value, &over.value) {
            (Value::Map(_), Value::Map(_)) => merge(base, over, path),
            _ => replace(base, over),
        },
    }
}

fn replace(base: &mut Node, over: Node) {
    *base = over;
}

/// `[K=V, K2]` or `{K: V}` as a mapping of nodes (a bare `K` is null).
fn as_dict(node: &Node, sep: char) -> IndexMap<String, Node> {
    match &node.value {
        Value::Map(m) => m.clone(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| {
                let text = item.scalar_text()?;
                let (k, v) = match text.split_once(sep) {
                    Some((k, v)) => (k.to_string(), Value::Str(v.to_string())),
                    None => (text, Value::Null),
                };
                Some((k, Node::new(v, item.loc.clone())))
            })
            .collect(),
        _ => IndexMap::new(),
    }
}

/// `[a, b]` or `{a: ..., b: ...}` as a mapping by name.
fn as_named_map(node: &Node) -> IndexMap<String, Node> {
    match &node.value {
        Value::Map(m) => m.clone(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| {
                Some((
                    item.scalar_text()?,
                    Node::new(Value::Null, item.loc.clone()),
                ))
            })
            .collect(),
        _ => IndexMap::new(),
    }
}

/// The target of a volume entry, short or long syntax.
fn volume_target(node: &Node) -> Option<String> {
    match &node.value {
        Value::Map(m) => m.get("target").and_then(Node::scalar_text),
        _ => {
            let text = node.scalar_text()?;
            let parts: Vec<&str> = text.split(':').collect();
            Some(match parts.as_slice() {
                [t] => t.to_string(),
                [_, t, ..] => t.to_string(),
                _ => text.clone(),
            })
        }
    }
}

fn concat_unique(base: &mut Node, over: Node, by_target: bool) {
    let mut items = match &base.value {
        Value::Seq(items) => items.clone(),
        Value::Null => Vec::new(),
        _ => vec![base.clone()],
    };
    let extra = match over.value {
        Value::Seq(items) => items,
        Value::Null => Vec::new(),
        value => vec![Node::new(value, over.loc.clone())],
    };
    for item in extra {
        let target = volume_target(&item).filter(|_| by_target);
        if let Some(t) = target
            && let Some(slot) = items
                .iter_mut()
                .find(|i| volume_target(i).as_deref() == Some(&t))
        {
            *slot = item;
            continue;
        }
        if !items.iter().any(|i| i.value == item.value) {
            items.push(item);
        }
    }
    base.value = Value::Seq(items);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::node::parse;

    fn doc(text: &str) -> Node {
        parse(text, Path::new("t.yaml")).unwrap()
    }

    #[test]
    fn an_override_file_merges_by_the_specification() {
        let mut base = doc(
            "services:\n  web:\n    image: a\n    command: [x, y]\n    environment: [A=1, B=2]\n    ports: ['80:80']\n    volumes: ['d:/data', '/cache']\n    depends_on: [db]\n",
        );
        let over = doc(
            "services:\n  web:\n    image: b\n    command: [z]\n    environment: {B: 3, C: 4}\n    ports: ['81:81']\n    volumes: ['e:/data']\n    depends_on: {cache: {condition: service_healthy}}\n",
        );
        merge(&mut base, over, "");
        let web = base.get("services").unwrap().get("web").unwrap().to_json();
        assert_eq!(web["image"], "b");
        assert_eq!(web["command"], serde_json::json!(["z"]));
        assert_eq!(
            web["environment"],
            serde_json::json!({"A": "1", "B": 3, "C": 4})
        );
        assert_eq!(web["ports"], serde_json::json!(["80:80", "81:81"]));
        assert_eq!(web["volumes"], serde_json::json!(["e:/data", "/cache"]));
        assert_eq!(
            web["depends_on"],
            serde_json::json!({"db": null, "cache": {"condition": "service_healthy"}})
        );
    }
}
