//! The OpenAPI v2 document in protobuf, as kubectl up to 1.32 asks for it (`Accept:
//! application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): gnostic's `openapi.v2.Document`
//! message, encoded from the JSON document [`crate::openapi::v2`] generates. The wire format is
//! written here (varints and length-delimited fields; a handful of lines) rather than pulling
//! a protobuf code generator and gnostic's .proto into the build. Field numbers are gnostic's
//! OpenAPIv2.proto.

use serde_json::Value;

pub const CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field) << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn string_field(out: &mut Vec<u8>, field: u32, text: &str) {
    if !text.is_empty() {
        bytes_field(out, field, text.as_bytes());
    }
}

fn varint_field(out: &mut Vec<u8>, field: u32, n: u64) {
    varint(out, u64::from(field) << 3);
    varint(out, n);
}

fn double_field(out: &mut Vec<u8>, field: u32, x: f64) {
    varint(out, u64::from(field) << 3 | 1);
    out.extend_from_slice(&x.to_le_bytes());
}

/// gnostic's `Any` holding a value as YAML (JSON is YAML).
fn any(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    string_field(&mut out, 2, &value.to_string());
    out
}

/// `NamedX { name = 1; value = 2; }`
fn named(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    string_field(&mut out, 1, name);
    bytes_field(&mut out, 2, value);
    out
}

fn schema(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(fields) = value.as_object() else {
        return out;
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or_default();
    string_field(&mut out, 1, text("$ref"));
    string_field(&mut out, 2, text("format"));
    string_field(&mut out, 3, text("title"));
    string_field(&mut out, 4, text("description"));
    if let Some(default) = fields.get("default") {
        bytes_field(&mut out, 5, &any(default));
    }
    for (key, number) in [("multipleOf", 6), ("maximum", 7), ("minimum", 9)] {
        if let Some(x) = fields.get(key).and_then(Value::as_f64) {
            double_field(&mut out, number, x);
        }
    }
    for (key, number) in [
        ("exclusiveMaximum", 8),
        ("exclusiveMinimum", 10),
        ("uniqueItems", 16),
        ("readOnly", 27),
    ] {
        if fields.get(key).and_then(Value::as_bool) == Some(true) {
            varint_field(&mut out, number, 1);
        }
    }
    for (key, number) in [
        ("maxLength", 11),
        ("minLength", 12),
        ("maxItems", 14),
        ("minItems", 15),
        ("maxProperties", 17),
        ("minProperties", 18),
    ] {
        if let Some(n) = fields.get(key).and_then(Value::as_u64) {
            varint_field(&mut out, number, n);
        }
    }
    string_field(&mut out, 13, text("pattern"));
    for required in fields
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        string_field(&mut out, 19, required.as_str().unwrap_or_default());
    }
    for choice in fields
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        bytes_field(&mut out, 20, &any(choice));
    }
    match fields.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Vec::new();
            varint_field(&mut item, 2, u64::from(*b));
            bytes_field(&mut out, 21, &item);
        }
        Some(inner @ Value::Object(_)) => {
            let mut item = Vec::new();
            bytes_field(&mut item, 1, &schema(inner));
            bytes_field(&mut out, 21, &item);
        }
        _ => {}
    }
    let types: Vec<&str> = match fields.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let mut item = Vec::new();
        for t in types {
            string_field(&mut item, 1, t);
        }
        bytes_field(&mut out, 22, &item);
    }
    match fields.get("items") {
        Some(Value::Array(schemas)) => {
            let mut item = Vec::new();
            for s in schemas {
                bytes_field(&mut item, 1, &schema(s));
            }
            bytes_field(&mut out, 23, &item);
        }
        Some(inner @ Value::Object(_)) => {
            let mut item = Vec::new();
            bytes_field(&mut item, 1, &schema(inner));
            bytes_field(&mut out, 23, &item);
        }
        _ => {}
    }
    for part in fields
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        bytes_field(&mut out, 24, &schema(part));
    }
    if let Some(properties) = fields.get("properties").and_then(Value::as_object) {
        let mut item = Vec::new();
        for (name, property) in properties {
            bytes_field(&mut item, 1, &named(name, &schema(property)));
        }
        bytes_field(&mut out, 25, &item);
    }
    for (key, extension) in fields.iter().filter(|(k, _)| k.starts_with("x-")) {
        bytes_field(&mut out, 31, &named(key, &any(extension)));
    }
    out
}

/// The `openapi.v2.Document` of a Swagger 2.0 JSON document: version, info and definitions
/// (what kubectl's validation and `explain` read).
pub fn document(doc: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    string_field(&mut out, 1, doc["swagger"].as_str().unwrap_or("2.0"));
    let mut info = Vec::new();
    string_field(
        &mut info,
        1,
        doc["info"]["title"].as_str().unwrap_or_default(),
    );
    string_field(
        &mut info,
        2,
        doc["info"]["version"].as_str().unwrap_or_default(),
    );
    bytes_field(&mut out, 2, &info);
    let mut definitions = Vec::new();
    for (name, definition) in doc["definitions"].as_object().into_iter().flatten() {
        bytes_field(&mut definitions, 1, &named(name, &schema(definition)));
    }
    bytes_field(&mut out, 9, &definitions);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_encoded_with_gnostics_numbers() {
        let doc = json!({"swagger": "2.0", "info": {"title": "K", "version": "1"},
            "definitions": {"X": {"type": "object", "required": ["a"]}}});
        let bytes = document(&doc);
        // swagger (field 1, length 3) comes first.
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        // definitions is field 9, length-delimited: tag 0x4a.
        assert!(bytes.contains(&0x4a));
        let mut n = Vec::new();
        varint(&mut n, 300);
        assert_eq!(n, vec![0xac, 0x02]);
    }
}
