//! A container's environment as the kubelet makes it: `envFrom` first, then `env` in order,
//! values from ConfigMaps, Secrets and the pod's own fields, and `$(VAR)` references expanded.

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};

use super::objects::{Objects, config_map_entries, secret_entries};
use super::{Error, PodIdentity};

/// What `fieldRef` can name that is known when the container is created.
pub struct PodFields<'a> {
    pub pod: &'a Pod,
    pub identity: &'a PodIdentity,
    pub pod_ip: &'a str,
}

/// `NAME=value` lines for container `c` of the pod.
pub fn environment(
    c: &Container,
    fields: &PodFields<'_>,
    objects: &dyn Objects,
) -> Result<Vec<(String, String)>, Error> {
    let pod_name = &fields.identity.name;
    let ns = &fields.identity.namespace;
    let mut vars: Vec<(String, String)> = Vec::new();
    let set = |vars: &mut Vec<(String, String)>, name: String, value: String| {
        vars.retain(|(n, _)| *n != name);
        vars.push((name, value));
    };
    for source in c.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        if let Some(r) = &source.config_map_ref {
            match objects.config_map(ns, &r.name) {
                Some(map) => {
                    for (k, v) in config_map_entries(&map) {
                        set(&mut vars, format!("{prefix}{k}"), lossy(v));
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(Error::invalid(
                        pod_name,
                        format!("configmap \"{}\" not found", r.name),
                    ));
                }
            }
        }
        if let Some(r) = &source.secret_ref {
            match objects.secret(ns, &r.name) {
                Some(secret) => {
                    for (k, v) in secret_entries(&secret) {
                        set(&mut vars, format!("{prefix}{k}"), lossy(v));
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(Error::invalid(
                        pod_name,
                        format!("secret \"{}\" not found", r.name),
                    ));
                }
            }
        }
    }
    for var in c.env.iter().flatten() {
        if let Some(value) = value_of(var, fields, objects)? {
            let value = expand(&value, &vars);
            set(&mut vars, var.name.clone(), value);
        }
    }
    Ok(vars)
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One `env` entry's value; None for an optional reference to what is missing.
fn value_of(
    var: &EnvVar,
    fields: &PodFields<'_>,
    objects: &dyn Objects,
) -> Result<Option<String>, Error> {
    let pod_name = &fields.identity.name;
    let ns = &fields.identity.namespace;
    let Some(from) = &var.value_from else {
        return Ok(Some(var.value.clone().unwrap_or_default()));
    };
    if let Some(r) = &from.config_map_key_ref {
        let value = objects
            .config_map(ns, &r.name)
            .and_then(|m| config_map_entries(&m).remove(&r.key));
        return match value {
            Some(v) => Ok(Some(lossy(v))),
            None if r.optional == Some(true) => Ok(None),
            None => Err(Error::invalid(
                pod_name,
                format!(
                    "env {}: key \"{}\" of configmap \"{}\" not found",
                    var.name, r.key, r.name
                ),
            )),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let value = objects
            .secret(ns, &r.name)
            .and_then(|s| secret_entries(&s).remove(&r.key));
        return match value {
            Some(v) => Ok(Some(lossy(v))),
            None if r.optional == Some(true) => Ok(None),
            None => Err(Error::invalid(
                pod_name,
                format!(
                    "env {}: key \"{}\" of secret \"{}\" not found",
                    var.name, r.key, r.name
                ),
            )),
        };
    }
    if let Some(r) = &from.field_ref {
        let meta = &fields.pod.metadata;
        let spec = fields.pod.spec.as_ref();
        let path = r.field_path.as_str();
        let value = match path {
            "metadata.name" => Some(pod_name.clone()),
            "metadata.namespace" => Some(ns.clone()),
            "metadata.uid" => Some(fields.identity.uid.clone()),
            "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
            "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
            "status.podIP" => Some(fields.pod_ip.to_string()),
            _ => {
                let label =
                    |prefix: &str, map: &Option<std::collections::BTreeMap<String, String>>| {
                        path.strip_prefix(prefix)
                            .map(|k| k.trim_matches(|c| c == '\'' || c == ']'))
                            .and_then(|k| map.as_ref().and_then(|m| m.get(k).cloned()))
                    };
                match label("metadata.labels['", &meta.labels) {
                    Some(v) => Some(v),
                    None => label("metadata.annotations['", &meta.annotations),
                }
            }
        };
        return Ok(Some(value.unwrap_or_default()));
    }
    Ok(Some(var.value.clone().unwrap_or_default()))
}

/// Kubernetes' `$(VAR)` expansion against the variables defined so far: `$$` is a literal `$`,
/// an unknown reference stays as written.
pub fn expand(value: &str, vars: &[(String, String)]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn references_expand_as_kubernetes_does() {
        let vars = vec![("A".to_string(), "1".to_string())];
        assert_eq!(expand("x$(A)y", &vars), "x1y");
        assert_eq!(expand("$(B)", &vars), "$(B)");
        assert_eq!(expand("$$(A)", &vars), "$(A)");
        assert_eq!(expand("cost $5", &vars), "cost $5");
    }
}
