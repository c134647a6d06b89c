//! The YAML document as a tree of values that remember where they were written (file, line,
//! column). Interpolation, `extends` and merging work on this tree; the typed project is read
//! from it, so every error can point at the user's text.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::error::Error;
pub use crate::loc::Loc;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(IndexMap<String, Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

impl Node {
    pub fn new(value: Value, loc: Loc) -> Node {
        Node { value, loc }
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Node>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut IndexMap<String, Node>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// A scalar as text (numbers and booleans as YAML writes them); None for null and
    /// collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "mapping",
        }
    }

    /// Plain JSON, for printing and hashing.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => J::from(*f),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// Parses one compose file's text.
pub fn parse(text: &str, file: &Path) -> Result<Node, Error> {
    let file = Arc::new(file.to_path_buf());
    let raw: Spanned<Raw> = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((0, 0));
        // The library's message carries a snippet of the source; its first line is enough.
        let message = e.to_string();
        let message = message.lines().next().unwrap_or("").to_string();
        let message = message
            .strip_prefix("error: ")
            .unwrap_or(&message)
            .to_string();
        Error::Yaml {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    Ok(raw.into_node(&file))
}

/// What serde-saphyr hands over: the same tree with its own spans.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(String, Spanned<Raw>)>),
}

trait IntoNode {
    fn into_node(self, file: &Arc<PathBuf>) -> Node;
}

impl IntoNode for Spanned<Raw> {
    fn into_node(self, file: &Arc<PathBuf>) -> Node {
        let loc = Loc {
            file: file.clone(),
            line: self.referenced.line() as u32,
            column: self.referenced.column() as u32,
        };
        let value = match self.value {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(b),
            Raw::Int(i) => Value::Int(i),
            Raw::Float(f) => Value::Float(f),
            Raw::Str(s) => Value::Str(s),
            Raw::Seq(items) => Value::Seq(items.into_iter().map(|i| i.into_node(file)).collect()),
            Raw::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_node(file)))
                    .collect(),
            ),
        };
        Node { value, loc }
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Raw, E> {
        Ok(Raw::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Raw, E> {
        Ok(i64::try_from(u).map_or(Raw::Float(u as f64), Raw::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Raw, E> {
        Ok(Raw::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Raw, E> {
        Ok(Raw::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Raw, E> {
        Ok(Raw::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries: Vec<(String, Spanned<Raw>)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<KeyText, Spanned<Raw>>()? {
            // A later key wins, as a merge key's fields give way to the mapping's own.
            match entries.iter_mut().find(|(k, _)| *k == key.0) {
                Some(slot) => slot.1 = value,
                None => entries.push((key.0, value)),
            }
        }
        Ok(Raw::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

/// A mapping key: any scalar, as text (`80: x` has the key "80").
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyText, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Str(s) => Ok(KeyText(s)),
            Raw::Int(i) => Ok(KeyText(i.to_string())),
            Raw::Float(f) => Ok(KeyText(f.to_string())),
            Raw::Bool(b) => Ok(KeyText(b.to_string())),
            Raw::Null => Ok(KeyText(String::new())),
            Raw::Seq(_) | Raw::Map(_) => {
                Err(serde::de::Error::custom("a mapping key must be a scalar"))
            }
        }
    }
}
