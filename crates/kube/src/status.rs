//! metav1.Status: how the API says no, with Kubernetes' reasons and codes, and the messages
//! kube-apiserver writes (kubectl prints them as `Error from server (Reason): message`).

use serde_json::{Value, json};

/// One refused request: an HTTP code, a Kubernetes reason and a message, with the details
/// kubectl shows (the object's kind and name, field causes for Invalid).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String) -> ApiError {
        ApiError {
            code,
            reason,
            message,
            details: None,
        }
    }

    fn about(mut self, group: &str, resource: &str, name: &str) -> ApiError {
        let mut details = json!({"name": name, "kind": resource});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        self.details = Some(details);
        self
    }

    /// `configmaps "x" not found` (with the group when it has one: `deployments.apps "x"`).
    pub fn not_found(group: &str, resource: &str, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .about(group, resource, name)
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .about(group, resource, name)
    }

    /// A write against a resourceVersion that is no longer the object's.
    pub fn conflict(group: &str, resource: &str, name: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
        )
        .about(group, resource, name)
    }

    /// `Kind.group "name" is invalid: field: reason`, one cause per field.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: &[(String, String)]) -> ApiError {
        let kind_group = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let listed: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let message = match listed.len() {
            1 => format!("{kind_group} \"{name}\" is invalid: {}", listed[0]),
            _ => format!(
                "{kind_group} \"{name}\" is invalid: [{}]",
                listed.join(", ")
            ),
        };
        let mut error = ApiError::new(422, "Invalid", message);
        let mut details = json!({"name": name, "kind": kind, "causes": causes.iter().map(|(f, m)| json!({
            "reason": "FieldValueInvalid", "message": m, "field": f})).collect::<Vec<_>>()});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        error.details = Some(details);
        error
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message.into())
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized".into())
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message.into())
    }

    /// The path names nothing served (kube-apiserver's bare 404).
    pub fn no_route() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
        )
    }

    /// A watch or list from a resourceVersion older than the history kept.
    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message.into())
    }

    pub fn unsupported_media(message: impl Into<String>) -> ApiError {
        ApiError::new(415, "UnsupportedMediaType", message.into())
    }

    /// A well-formed request the server cannot carry out (a JSON patch whose test fails).
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message.into())
    }

    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
    }

    /// The metav1.Status body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::internal(format!("the object store: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_kube_apiservers() {
        assert_eq!(
            ApiError::not_found("", "configmaps", "x").message,
            "configmaps \"x\" not found"
        );
        assert_eq!(
            ApiError::not_found("apps", "deployments", "web").message,
            "deployments.apps \"web\" not found"
        );
        let invalid = ApiError::invalid(
            "ConfigMap",
            "",
            "x",
            &[("metadata.name".into(), "Required value".into())],
        );
        assert_eq!(
            invalid.message,
            "ConfigMap \"x\" is invalid: metadata.name: Required value"
        );
        assert_eq!(invalid.to_status()["code"], 422);
    }
}
