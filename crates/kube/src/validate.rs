//! What kube-apiserver's validation refuses with 422 Invalid and field causes, beyond what the
//! type itself enforces: required fields of the served kinds.

use serde_json::Value;

use crate::kinds::Kind;
use crate::status::ApiError;

pub fn object(kind: &Kind, object: &Value) -> Result<(), ApiError> {
    let mut causes: Vec<(String, String)> = Vec::new();
    let mut required = |path: &str, present: bool| {
        if !present {
            causes.push((path.to_string(), "Required value".to_string()));
        }
    };
    let containers = |spec: &Value| spec["containers"].as_array().is_some_and(|c| !c.is_empty());
    match kind.kind {
        "Pod" => {
            required("spec.containers", containers(&object["spec"]));
            for (i, c) in object["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                required(&format!("spec.containers[{i}].name"), c["name"].is_string());
                required(
                    &format!("spec.containers[{i}].image"),
                    c["image"].is_string(),
                );
            }
        }
        "Deployment" | "ReplicaSet" | "Job" => {
            if kind.kind != "Job" {
                required("spec.selector", object["spec"]["selector"].is_object());
            }
            required(
                "spec.template.spec.containers",
                containers(&object["spec"]["template"]["spec"]),
            );
        }
        _ => {}
    }
    if kind.kind == "Job" {
        match object["spec"]["template"]["spec"]["restartPolicy"].as_str() {
            Some("OnFailure" | "Never") => {}
            Some("") | None => causes.push((
                "spec.template.spec.restartPolicy".into(),
                "Required value: valid values: \"OnFailure\", \"Never\"".into(),
            )),
            Some(other) => causes.push((
                "spec.template.spec.restartPolicy".into(),
                format!(
                    "Unsupported value: \"{other}\": supported values: \"OnFailure\", \"Never\""
                ),
            )),
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(kind.kind, kind.group, name, &causes))
    }
}
