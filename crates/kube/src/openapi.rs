//! OpenAPI v2 and v3 documents of the served kinds, their schemas generated from k8s-openapi's
//! types (schemars), with the paths and `x-kubernetes-group-version-kind` marks kubectl reads
//! (it looks for a PATCH with a `fieldValidation` parameter to know the server validates).

use serde_json::{Map, Value, json};

use crate::kinds::{self, Kind};

fn schemas(
    kinds: &[&'static Kind],
    settings: schemars::generate::SchemaSettings,
) -> (Map<String, Value>, Vec<(String, &'static Kind)>) {
    let mut generator = schemars::SchemaGenerator::new(settings);
    let mut names = Vec::new();
    for kind in kinds {
        names.push(((kind.schema)(&mut generator), *kind));
    }
    let mut definitions = generator.take_definitions(true);
    for (name, kind) in &names {
        if let Some(schema) = definitions.get_mut(name) {
            schema["x-kubernetes-group-version-kind"] =
                json!([{"group": kind.group, "version": kind.version, "kind": kind.kind}]);
        }
    }
    (definitions, names)
}

fn prefix(kind: &Kind) -> String {
    if kind.group.is_empty() {
        format!("/api/{}", kind.version)
    } else {
        format!("/apis/{}/{}", kind.group, kind.version)
    }
}

fn operations(kind: &Kind, schema_ref: &str, v3: bool) -> Vec<(String, Value)> {
    let gvk = json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
    let body = |description: &str| {
        if v3 {
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}})
        } else {
            json!({"description": description, "schema": {"$ref": schema_ref}})
        }
    };
    let query = |name: &str| {
        if v3 {
            json!({"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": true})
        } else {
            json!({"name": name, "in": "query", "type": "string", "uniqueItems": true})
        }
    };
    let op = |verb: &str, action: &str| {
        json!({
            "operationId": format!("{verb}{}", kind.kind),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation")],
            "responses": {"200": body("OK")},
        })
    };
    let collection = if kind.namespaced {
        format!(
            "{}/namespaces/{{namespace}}/{}",
            prefix(kind),
            kind.resource
        )
    } else {
        format!("{}/{}", prefix(kind), kind.resource)
    };
    let mut item = json!({
        "get": op("read", "get"),
        "put": op("replace", "put"),
        "patch": op("patch", "patch"),
        "delete": op("delete", "delete"),
    });
    item["put"]["requestBody"] = body("the object");
    vec![
        (
            collection.clone(),
            json!({"get": op("list", "list"), "post": op("create", "post")}),
        ),
        (format!("{collection}/{{name}}"), item),
    ]
}

/// `/openapi/v2`: one Swagger 2.0 document for every served kind.
pub fn v2() -> Value {
    let all: Vec<&'static Kind> = kinds::all().iter().collect();
    let (definitions, names) = schemas(
        &all,
        schemars::generate::SchemaSettings::draft07().with(|s| {
            s.definitions_path = "/definitions".into();
        }),
    );
    let mut paths = Map::new();
    for (name, kind) in &names {
        for (path, item) in operations(kind, &format!("#/definitions/{name}"), false) {
            paths.insert(path, item);
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0", crate::discovery::MINOR)},
        "paths": paths,
        "definitions": definitions,
    })
}

/// `/openapi/v3`: where each group/version's document is.
pub fn v3_index() -> Value {
    let mut paths = Map::new();
    for (group, version) in kinds::group_versions() {
        let path = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", env!("CARGO_PKG_VERSION"))}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`: an OpenAPI 3.0 document.
pub fn v3(group: &str, version: &str) -> Option<Value> {
    let served: Vec<&'static Kind> = kinds::all()
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let (schemas, names) = schemas(&served, schemars::generate::SchemaSettings::openapi3());
    let mut paths = Map::new();
    for (name, kind) in &names {
        for (path, item) in operations(kind, &format!("#/components/schemas/{name}"), true) {
            paths.insert(path, item);
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0", crate::discovery::MINOR)},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_generated_schemas() {
        let doc = v3("", "v1").unwrap();
        let cm = &doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
        assert!(cm["properties"]["data"].is_object());
        assert!(
            doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                .is_object()
        );
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "ConfigMap"
        );
        assert!(v2()["definitions"]["io.k8s.api.apps.v1.Deployment"].is_object());
    }
}
