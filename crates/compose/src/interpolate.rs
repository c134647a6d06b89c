//! Interpolation as the Compose Specification defines it: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` (defaults may
//! themselves interpolate) and `$$` for a literal `$`. It runs on the value tree before anything
//! is typed, so `replicas: ${N}` works and a failure points at the value.

use crate::error::Error;
use crate::node::{Node, Value};

/// Where variables come from: the process environment over the project's `.env`.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<String>;
}

impl Lookup for std::collections::BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Why a template failed, before it is tied to a place in a file.
#[derive(Debug, PartialEq)]
pub enum TemplateError {
    Required { name: String, message: String },
    Invalid(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Required { name, message } if message.is_empty() => {
                write!(f, "required variable {name} is missing a value")
            }
            TemplateError::Required { name, message } => {
                write!(f, "required variable {name} is missing a value: {message}")
            }
            TemplateError::Invalid(t) => write!(f, "invalid template: {t:?}"),
        }
    }
}

/// Interpolates every string in the tree (not mapping keys, as Compose). Unset variables
/// without a default become "" and are reported once each through `warn`.
pub fn interpolate_tree(
    node: &mut Node,
    path: &str,
    vars: &dyn Lookup,
    warn: &mut dyn FnMut(&str),
) -> Result<(), Error> {
    let loc = node.loc.clone();
    match &mut node.value {
        Value::Str(s) => {
            *s =
                substitute(s, vars, warn).map_err(|e| Error::invalid(&loc, path, e.to_string()))?;
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &format!("{path}[{i}]"), vars, warn)?;
            }
        }
        Value::Map(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate_tree(v, &child, vars, warn)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
    Ok(())
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// One string's substitution.
pub fn substitute(
    text: &str,
    vars: &dyn Lookup,
    warn: &mut dyn FnMut(&str),
) -> Result<String, TemplateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let end = closing_brace(&chars, i + 2)
                    .ok_or_else(|| TemplateError::Invalid(text.to_string()))?;
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&braced(&inner, text, vars, warn)?);
                i = end + 1;
            }
            Some(&n) if is_name_start(n) => {
                let mut j = i + 1;
                while j < chars.len() && is_name_char(chars[j]) {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                out.push_str(&value_or_warn(&name, vars, warn));
                i = j;
            }
            _ => return Err(TemplateError::Invalid(text.to_string())),
        }
    }
    Ok(out)
}

/// The index of the `}` that closes a `${` whose contents start at `from` (nested `${...}`
/// in a default count).
fn closing_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn value_or_warn(name: &str, vars: &dyn Lookup, warn: &mut dyn FnMut(&str)) -> String {
    vars.lookup(name).unwrap_or_else(|| {
        warn(name);
        String::new()
    })
}

/// The inside of `${...}`.
fn braced(
    inner: &str,
    whole: &str,
    vars: &dyn Lookup,
    warn: &mut dyn FnMut(&str),
) -> Result<String, TemplateError> {
    let name_len = inner
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(inner.len(), |(i, _)| i);
    let (name, rest) = inner.split_at(name_len);
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(TemplateError::Invalid(whole.to_string()));
    }
    if rest.is_empty() {
        return Ok(value_or_warn(name, vars, warn));
    }
    let value = vars.lookup(name);
    let (colon, op, arg) = match rest.strip_prefix(':') {
        Some(r) => (true, r.chars().next(), r.get(1..).unwrap_or("")),
        None => (false, rest.chars().next(), rest.get(1..).unwrap_or("")),
    };
    // With a colon, an empty value counts as unset.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        Some('-') => match value {
            Some(v) if set => Ok(v),
            _ => substitute(arg, vars, warn),
        },
        Some('+') => {
            if set {
                substitute(arg, vars, warn)
            } else {
                Ok(String::new())
            }
        }
        Some('?') => match value {
            Some(v) if set => Ok(v),
            _ => Err(TemplateError::Required {
                name: name.to_string(),
                message: substitute(arg, vars, warn)?,
            }),
        },
        _ => Err(TemplateError::Invalid(whole.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("A", "a"), ("EMPTY", ""), ("PORT", "8080")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sub(t: &str) -> Result<String, TemplateError> {
        substitute(t, &vars(), &mut |_| {})
    }

    #[test]
    fn every_form_of_the_specification() {
        assert_eq!(sub("$A-${A}").unwrap(), "a-a");
        assert_eq!(sub("${PORT}:80").unwrap(), "8080:80");
        assert_eq!(
            sub("${UNSET:-d}|${EMPTY:-d}|${EMPTY-d}|${UNSET-d}").unwrap(),
            "d|d||d"
        );
        assert_eq!(
            sub("${A:+x}|${EMPTY:+x}|${EMPTY+x}|${UNSET+x}").unwrap(),
            "x||x|"
        );
        assert_eq!(sub("$$A costs $${A}").unwrap(), "$A costs ${A}");
        assert_eq!(sub("${UNSET:-${A}-${PORT}}").unwrap(), "a-8080");
        assert_eq!(sub("${A:?boom}").unwrap(), "a");
        assert_eq!(sub("${EMPTY?boom}").unwrap(), "");
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        assert_eq!(
            sub("${EMPTY:?must be set}").unwrap_err().to_string(),
            "required variable EMPTY is missing a value: must be set"
        );
        assert_eq!(
            sub("x ${NOPE?}").unwrap_err().to_string(),
            "required variable NOPE is missing a value"
        );
    }

    #[test]
    fn unset_variables_are_blank_and_reported() {
        let mut seen = Vec::new();
        let out = substitute("[${NOPE}][$NOPE2]", &vars(), &mut |n| {
            seen.push(n.to_string())
        });
        assert_eq!(out.unwrap(), "[][]");
        assert_eq!(seen, ["NOPE", "NOPE2"]);
    }

    #[test]
    fn malformed_templates_are_errors() {
        for bad in ["${A", "${}", "$5", "${A:x}", "${-A}"] {
            assert!(matches!(sub(bad), Err(TemplateError::Invalid(_))), "{bad}");
        }
    }
}
