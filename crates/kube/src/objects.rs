//! The API's verbs over the store, as kube-apiserver gives them meaning: uid, creationTimestamp,
//! generation, resourceVersion preconditions (409 Conflict), the status subresource, strict
//! field validation against the kind's type, finalizers and deletionTimestamp, and
//! ownerReferences with cascading deletion (background, foreground, orphan).

use serde_json::{Value, json};

use crate::kinds::{self, Kind};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{self, Expect, Refused, Store};
use crate::{defaults, patch};

/// How a write treats fields the kind's type does not have (`?fieldValidation=`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FieldValidation {
    #[default]
    Strict,
    Warn,
    Ignore,
}

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub validation: FieldValidation,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    pub precondition_rv: Option<u64>,
    pub precondition_uid: Option<String>,
    pub grace_seconds: Option<i64>,
    pub dry_run: bool,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            propagation: Propagation::Background,
            precondition_rv: None,
            precondition_uid: None,
            grace_seconds: None,
            dry_run: false,
        }
    }
}

/// A list request's selectors and page.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    /// Where the previous page ended (`namespace/name`), from the continue token.
    pub after: Option<String>,
}

pub struct Objects {
    pub store: Store,
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// RFC 1123 subdomain, as most kinds' names must be.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Fields of `given` (dotted paths) that are gone from `known`: what the type does not have.
fn unknown_fields(given: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, value) in g {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    Some(inner) => unknown_fields(value, inner, &here, out),
                    None if !value.is_null() => out.push(here),
                    None => {}
                }
            }
        }
        (Value::Array(g), Value::Array(k)) => {
            for (i, (a, b)) in g.iter().zip(k).enumerate() {
                unknown_fields(a, b, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

impl Objects {
    pub fn new(store: Store) -> Objects {
        Objects { store }
    }

    fn key(kind: &Kind) -> String {
        store::key(kind.group, kind.resource)
    }

    /// Checks a body against the kind's type: a value of the wrong type is 400 as
    /// kube-apiserver's decoder says it; unknown fields are refused when validation is strict.
    /// Returns the warnings to send back (Warn).
    fn check_body(
        kind: &Kind,
        body: &Value,
        validation: FieldValidation,
    ) -> Result<Vec<String>, ApiError> {
        let cannot = |why: String| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {why}",
                kind.kind, kind.version, kind.kind
            ))
        };
        let known = (kind.round_trip)(body).map_err(|e| cannot(e.to_string()))?;
        let mut unknown = Vec::new();
        unknown_fields(body, &known, "", &mut unknown);
        unknown.retain(|f| !f.starts_with("metadata.managedFields"));
        match validation {
            FieldValidation::Strict if !unknown.is_empty() => {
                let listed: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                Err(cannot(format!(
                    "strict decoding error: {}",
                    listed.join(", ")
                )))
            }
            FieldValidation::Warn => Ok(unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    fn check_namespace(&self, kind: &Kind, namespace: &str) -> Result<(), ApiError> {
        if !kind.namespaced {
            return Ok(());
        }
        let ns = self
            .store
            .get(&store::key("", "namespaces"), "", namespace)?;
        match ns {
            None => Err(ApiError::not_found("", "namespaces", namespace)),
            Some(ns) if ns["metadata"]["deletionTimestamp"].is_string() => Err(ApiError {
                code: 403,
                reason: "Forbidden",
                message: format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    kind.resource, namespace
                ),
                details: None,
            }),
            Some(_) => Ok(()),
        }
    }

    pub fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.store
            .get(&Self::key(kind), namespace, name)?
            .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, name))
    }

    /// A page of a list and the token for the next page, with the list's resourceVersion.
    pub fn list(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        query: &ListQuery,
    ) -> Result<(Vec<Value>, Option<String>, u64), ApiError> {
        let (all, rv) = self.store.list(&Self::key(kind), namespace)?;
        let mut matching = all
            .into_iter()
            .filter(|o| query.labels.matches(&o["metadata"]["labels"]) && query.fields.matches(o));
        let position = |o: &Value| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                name_of(o)
            )
        };
        let mut page = Vec::new();
        let mut next = None;
        for object in matching.by_ref() {
            if let Some(after) = &query.after
                && position(&object).as_str() <= after.as_str()
            {
                continue;
            }
            if query.limit.is_some_and(|limit| page.len() >= limit) {
                next = page.last().map(position);
                break;
            }
            page.push(object);
        }
        Ok((page, next, rv))
    }

    pub fn create(
        &self,
        kind: &Kind,
        namespace: &str,
        mut body: Value,
        options: &WriteOptions,
    ) -> Result<(Value, Vec<String>), ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        let warnings = Self::check_body(kind, &body, options.validation)?;
        body["apiVersion"] = json!(kind.api_version());
        body["kind"] = json!(kind.kind);
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        let meta = &mut body["metadata"];
        if meta["name"].as_str().is_none_or(str::is_empty)
            && let Some(prefix) = meta["generateName"].as_str()
        {
            let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_string();
            meta["name"] = json!(format!("{prefix}{suffix}"));
        }
        let name = meta["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(ApiError::invalid(
                kind.kind,
                kind.group,
                "",
                &[(
                    "metadata.name".into(),
                    "Required value: name or generateName is required".into(),
                )],
            ));
        }
        if !valid_name(&name) {
            return Err(ApiError::invalid(
                kind.kind,
                kind.group,
                &name,
                &[(
                    "metadata.name".into(),
                    format!(
                        "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                    ),
                )],
            ));
        }
        if kind.namespaced {
            match meta["namespace"].as_str() {
                Some(given) if !given.is_empty() && given != namespace => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => meta["namespace"] = json!(namespace),
            }
        } else if let Some(m) = meta.as_object_mut() {
            m.remove("namespace");
        }
        if let Some(m) = meta.as_object_mut() {
            for gone in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            ] {
                m.remove(gone);
            }
        }
        meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
        meta["creationTimestamp"] = json!(now());
        if body.get("spec").is_some() {
            body["metadata"]["generation"] = json!(1);
        }
        let taken = if kind.kind == "Service" {
            self.cluster_ips()?
        } else {
            Vec::new()
        };
        defaults::on_create(kind.kind, &mut body, &taken);
        if kind.kind == "Service" {
            defaults::node_ports(&mut body, &self.node_ports()?);
        }
        crate::validate::object(kind, &body)?;
        self.check_namespace(kind, namespace)?;
        let namespace = if kind.namespaced { namespace } else { "" };
        if options.dry_run {
            if self
                .store
                .get(&Self::key(kind), namespace, &name)?
                .is_some()
            {
                return Err(ApiError::already_exists(kind.group, kind.resource, &name));
            }
            return Ok((body, warnings));
        }
        match self
            .store
            .put(&Self::key(kind), namespace, &name, body, Expect::Absent)?
        {
            Ok(created) => Ok((created, warnings)),
            Err(_) => Err(ApiError::already_exists(kind.group, kind.resource, &name)),
        }
    }

    fn cluster_ips(&self) -> Result<Vec<String>, ApiError> {
        let (services, _) = self.store.list(&store::key("", "services"), None)?;
        Ok(services
            .iter()
            .filter_map(|s| s["spec"]["clusterIP"].as_str().map(String::from))
            .collect())
    }

    /// The node ports the services hold.
    fn node_ports(&self) -> Result<Vec<i64>, ApiError> {
        let (services, _) = self.store.list(&store::key("", "services"), None)?;
        Ok(services
            .iter()
            .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["nodePort"].as_i64())
            .collect())
    }

    /// PUT of an object or of its `status`: what the caller may change is kept, the rest comes
    /// from the stored object. A resourceVersion in the body must be the stored one.
    pub fn update(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        subresource: Option<&str>,
        mut body: Value,
        options: &WriteOptions,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let warnings = Self::check_body(kind, &body, options.validation)?;
        let current = self.get(kind, namespace, name)?;
        if name_of(&body) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                name_of(&body)
            )));
        }
        let expect = match store::rv_of(&body) {
            Some(rv) => Expect::Version(rv),
            None if body["metadata"]["resourceVersion"].is_string() => {
                return Err(ApiError::bad_request("invalid resourceVersion"));
            }
            None => Expect::Present,
        };
        let mut next = match subresource {
            Some("status") => {
                let mut next = current.clone();
                next["status"] = body["status"].take();
                next
            }
            _ => {
                body["apiVersion"] = json!(kind.api_version());
                body["kind"] = json!(kind.kind);
                for kept in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "namespace",
                    "generation",
                ] {
                    match current["metadata"].get(kept) {
                        Some(v) => body["metadata"][kept] = v.clone(),
                        None => {
                            if let Some(m) = body["metadata"].as_object_mut() {
                                m.remove(kept);
                            }
                        }
                    }
                }
                if kind.has_status() {
                    body["status"] = current["status"].clone();
                }
                if kind.kind == "Service" {
                    body["spec"]["clusterIP"] = current["spec"]["clusterIP"].clone();
                    body["spec"]["clusterIPs"] = current["spec"]["clusterIPs"].clone();
                }
                if body.get("spec").is_some() && body["spec"] != current["spec"] {
                    let generation = current["metadata"]["generation"].as_i64().unwrap_or(0);
                    body["metadata"]["generation"] = json!(generation + 1);
                }
                body
            }
        };
        if let Some(m) = next["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        crate::validate::object(kind, &next)?;
        next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        if options.dry_run {
            return Ok((next, warnings));
        }
        let namespace = if kind.namespaced { namespace } else { "" };
        let finished = next["metadata"]["deletionTimestamp"].is_string()
            && next["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        let written = match self
            .store
            .put(&Self::key(kind), namespace, name, next, expect)?
        {
            Ok(written) => written,
            Err(Refused::Stale) => return Err(ApiError::conflict(kind.group, kind.resource, name)),
            Err(_) => return Err(ApiError::not_found(kind.group, kind.resource, name)),
        };
        if finished {
            // The last finalizer went: the deletion that waited for it happens now.
            self.remove_now(kind, namespace, name, Propagation::Background)?;
        }
        Ok((written, warnings))
    }

    /// PATCH: the patch applies to the stored object, then it is an update (a resourceVersion
    /// the patch carries must still be current; otherwise a concurrent write is retried).
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        subresource: Option<&str>,
        content_type: &str,
        body: &[u8],
        options: &WriteOptions,
    ) -> Result<(Value, Vec<String>), ApiError> {
        if content_type.starts_with(patch::APPLY_PATCH) {
            return self.server_side_apply(kind, namespace, name, body, options);
        }
        let mut tries = 0;
        loop {
            let current = self.get(kind, namespace, name)?;
            let patched = patch::apply(&current, content_type, body)?;
            let pinned = store::rv_of(&patched) != store::rv_of(&current);
            match self.update(kind, namespace, name, subresource, patched, options) {
                Err(e) if e.reason == "Conflict" && !pinned && tries < 5 => tries += 1,
                other => return other,
            }
        }
    }

    /// `kubectl apply --server-side`: the applied configuration merges into the object
    /// (created when absent). Field ownership between managers is not tracked.
    fn server_side_apply(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        body: &[u8],
        options: &WriteOptions,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let applied: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        match self.store.get(
            &Self::key(kind),
            if kind.namespaced { namespace } else { "" },
            name,
        )? {
            None => self.create(kind, namespace, applied, options),
            Some(current) => {
                let mut merged = current.clone();
                patch::strategic_merge(&mut merged, &applied);
                merged["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
                self.update(kind, namespace, name, None, merged, options)
            }
        }
    }

    /// DELETE: with finalizers (or a foreground cascade) the object only gets its
    /// deletionTimestamp; otherwise it goes, and its dependents as the propagation says.
    pub fn delete(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let namespace = if kind.namespaced { namespace } else { "" };
        let current = self.get(kind, namespace, name)?;
        if let Some(rv) = options.precondition_rv
            && store::rv_of(&current) != Some(rv)
        {
            return Err(ApiError::conflict(kind.group, kind.resource, name));
        }
        if let Some(uid) = &options.precondition_uid
            && current["metadata"]["uid"].as_str() != Some(uid)
        {
            return Err(ApiError::conflict(kind.group, kind.resource, name));
        }
        if options.dry_run {
            return Ok(current);
        }
        let mut finalizers: Vec<Value> = current["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if kind.kind == "Namespace" {
            // The namespace's content goes first, then the namespace.
            self.empty_namespace(name)?;
            finalizers.clear();
        }
        if options.propagation == Propagation::Foreground {
            self.delete_dependents(&current, Propagation::Foreground)?;
        }
        if options.propagation == Propagation::Orphan {
            self.orphan_dependents(&current)?;
        }
        let graceful_pod = kind.kind == "Pod"
            && current["spec"]["nodeName"].is_string()
            && options.grace_seconds != Some(0)
            && current["metadata"]["deletionTimestamp"].is_null();
        if !finalizers.is_empty() || graceful_pod {
            if current["metadata"]["deletionTimestamp"].is_string() {
                return Ok(current);
            }
            let mut marked = current.clone();
            marked["metadata"]["deletionTimestamp"] = json!(now());
            let grace = options.grace_seconds.unwrap_or_else(|| {
                current["spec"]["terminationGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(0)
            });
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            return match self.store.put(
                &Self::key(kind),
                namespace,
                name,
                marked,
                Expect::Present,
            )? {
                Ok(marked) => Ok(marked),
                Err(_) => Err(ApiError::not_found(kind.group, kind.resource, name)),
            };
        }
        self.remove_now(kind, namespace, name, options.propagation)
    }

    fn remove_now(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        propagation: Propagation,
    ) -> Result<Value, ApiError> {
        let removed = match self
            .store
            .remove(&Self::key(kind), namespace, name, Expect::Present)?
        {
            Ok(removed) => removed,
            Err(_) => return Err(ApiError::not_found(kind.group, kind.resource, name)),
        };
        if propagation == Propagation::Background {
            self.delete_dependents(&removed, Propagation::Background)?;
        }
        Ok(removed)
    }

    /// Objects whose ownerReferences name this owner's uid, with their kinds.
    fn dependents(&self, owner: &Value) -> Result<Vec<(&'static Kind, Value)>, ApiError> {
        let uid = owner["metadata"]["uid"].as_str().unwrap_or_default();
        let namespace = owner["metadata"]["namespace"].as_str();
        let mut found = Vec::new();
        for kind in kinds::all() {
            let scope = if kind.namespaced { namespace } else { None };
            let (objects, _) = self.store.list(&Self::key(kind), scope)?;
            for object in objects {
                let owned = object["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)));
                if owned {
                    found.push((kind, object));
                }
            }
        }
        Ok(found)
    }

    fn delete_dependents(&self, owner: &Value, propagation: Propagation) -> Result<(), ApiError> {
        for (kind, dependent) in self.dependents(owner)? {
            let namespace = dependent["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default();
            let options = DeleteOptions {
                propagation,
                ..DeleteOptions::default()
            };
            match self.delete(kind, namespace, name_of(&dependent), &options) {
                Err(e) if e.code == 404 => {}
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    fn orphan_dependents(&self, owner: &Value) -> Result<(), ApiError> {
        let uid = owner["metadata"]["uid"].clone();
        for (kind, mut dependent) in self.dependents(owner)? {
            let namespace = dependent["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = name_of(&dependent).to_string();
            if let Some(refs) = dependent["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"] != uid);
            }
            let rv = store::rv_of(&dependent).unwrap_or(0);
            // A dependent changed meanwhile keeps its reference; the owner is gone either way.
            let _ = self.store.put(
                &Self::key(kind),
                &namespace,
                &name,
                dependent,
                Expect::Version(rv),
            )?;
        }
        Ok(())
    }

    fn empty_namespace(&self, namespace: &str) -> Result<(), ApiError> {
        for kind in kinds::all().iter().filter(|k| k.namespaced) {
            let (objects, _) = self.store.list(&Self::key(kind), Some(namespace))?;
            for object in objects {
                match self.remove_now(kind, namespace, name_of(&object), Propagation::Background) {
                    Err(e) if e.code == 404 => {}
                    other => {
                        other?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Makes sure an object exists (the default namespaces, this node): created when missing,
    /// left alone otherwise.
    pub fn ensure(&self, kind: &Kind, namespace: &str, object: Value) -> Result<(), ApiError> {
        let name = name_of(&object).to_string();
        if self
            .store
            .get(
                &Self::key(kind),
                if kind.namespaced { namespace } else { "" },
                &name,
            )?
            .is_some()
        {
            return Ok(());
        }
        match self.create(kind, namespace, object, &WriteOptions::default()) {
            Err(e) if e.reason == "AlreadyExists" => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> (tempfile::TempDir, Objects) {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::new(Store::open(&dir.path().join("s.db")).unwrap());
        let ns = kinds::find("", "v1", "namespaces").unwrap();
        objects
            .ensure(ns, "", json!({"metadata": {"name": "default"}}))
            .unwrap();
        (dir, objects)
    }

    #[test]
    fn create_update_conflict_and_strict_fields() {
        let (_dir, objects) = objects();
        let cm = kinds::find("", "v1", "configmaps").unwrap();
        let options = WriteOptions::default();
        let (made, _) = objects
            .create(
                cm,
                "default",
                json!({"metadata": {"name": "x"}, "data": {"a": "1"}}),
                &options,
            )
            .unwrap();
        assert!(made["metadata"]["uid"].is_string());
        let stale = made.clone();
        let mut fresh = made.clone();
        fresh["data"]["a"] = json!("2");
        objects
            .update(cm, "default", "x", None, fresh, &options)
            .unwrap();
        let err = objects
            .update(cm, "default", "x", None, stale, &options)
            .unwrap_err();
        assert_eq!(err.reason, "Conflict");
        let err = objects
            .create(
                cm,
                "default",
                json!({"metadata": {"name": "y"}, "dta": {}}),
                &options,
            )
            .unwrap_err();
        assert!(
            err.message.contains("unknown field \"dta\""),
            "{}",
            err.message
        );
        let err = objects
            .create(cm, "nope", json!({"metadata": {"name": "z"}}), &options)
            .unwrap_err();
        assert_eq!(err.message, "namespaces \"nope\" not found");
    }

    #[test]
    fn finalizers_hold_deletion_and_owners_cascade() {
        let (_dir, objects) = objects();
        let cm = kinds::find("", "v1", "configmaps").unwrap();
        let options = WriteOptions::default();
        let (owner, _) = objects
            .create(
                cm,
                "default",
                json!({"metadata": {"name": "owner", "finalizers": ["x/y"]}}),
                &options,
            )
            .unwrap();
        let owned = json!({"metadata": {"name": "dep", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]}});
        objects.create(cm, "default", owned, &options).unwrap();
        let marked = objects
            .delete(cm, "default", "owner", &DeleteOptions::default())
            .unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        assert!(objects.get(cm, "default", "dep").is_ok());
        let mut released = marked.clone();
        released["metadata"]["finalizers"] = json!([]);
        objects
            .update(cm, "default", "owner", None, released, &options)
            .unwrap();
        assert_eq!(objects.get(cm, "default", "owner").unwrap_err().code, 404);
        assert_eq!(objects.get(cm, "default", "dep").unwrap_err().code, 404);
    }
}
