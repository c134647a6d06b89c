//! Docker's event message: one line of `GET /events` and what `docker events --format` renders.

use std::collections::BTreeMap;

use serde::Serialize;

/// Docker's `events.Message`. `status`, `id` and `from` are the legacy fields Docker still
/// sends for container and image events. Fields are in the order the keys are printed
/// (byte order: upper case first).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EventMessage {
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: EventActor,
    /// container, image, network or volume.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Seconds since the epoch.
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

/// The object an event is about.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EventActor {
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    #[serde(rename = "ID")]
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_fields_are_left_out_when_unset() {
        let message = EventMessage {
            kind: "network".into(),
            action: "create".into(),
            actor: EventActor {
                id: "n1".into(),
                attributes: BTreeMap::from([("name".to_string(), "front".to_string())]),
            },
            scope: "local".into(),
            time: 1,
            time_nano: 1_000_000_001,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            concat!(
                r#"{"Action":"create","Actor":{"Attributes":{"name":"front"},"ID":"n1"},"#,
                r#""Type":"network","scope":"local","time":1,"timeNano":1000000001}"#
            )
        );
    }
}
