//! Docker's `--filter KEY=VALUE` arguments (the API's `filters=`), parsed once into a set every
//! listing and prune function of the engine takes, with dockerd's matching rules: each function
//! first checks the keys it knows ([`Filters::validate`]), so an unknown key is an error and never
//! silently ignored; values of one key are alternatives, different keys must all hold (except
//! `label`, whose values must all hold, as dockerd's `MatchKVList`).
//!
//! Owns: the parsed filter set and the generic matchers (exact, prefix, regular expression,
//! labels, booleans, `until=` times). Must not: know what an image or a container is; the per-object rules live
//! next to the objects (images.rs, containers/, volumes.rs, events.rs, prune.rs).

use std::collections::{BTreeMap, BTreeSet};

/// What can be wrong with a filter, in dockerd's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A CLI `--filter` without `=`: the docker CLI refuses it before asking the daemon.
    #[error("bad format of filter (expected name=value): {0}")]
    BadFormat(String),
    /// A key this listing or prune does not know.
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    /// A value this key cannot take (`dangling=maybe`).
    #[error("Invalid filter '{key}={value}'")]
    BadValue { key: String, value: String },
    /// A value dockerd refuses with its own message (`health=sick`, `until=soon`).
    #[error("{0}")]
    Invalid(String),
    /// `before=`/`since=` naming an object that does not exist: dockerd's 404.
    #[error("{0}")]
    NotFound(String),
}

/// A set of filters: key -> values (a value given twice counts once, as in dockerd).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    fields: BTreeMap<String, BTreeSet<String>>,
}

impl Filters {
    pub fn new() -> Filters {
        Filters::default()
    }

    /// The CLI's `--filter` values, as the docker CLI reads them: `KEY=VALUE` split at the first
    /// `=`, the key lowercased and both trimmed (so `label!=k` is key `label!`); an empty
    /// argument is ignored, one without `=` is an error.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Filters, FilterError> {
        let mut out = Filters::new();
        for arg in args {
            let arg = arg.as_ref();
            if arg.is_empty() {
                continue;
            }
            let (key, value) = arg
                .split_once('=')
                .ok_or_else(|| FilterError::BadFormat(arg.to_string()))?;
            out.add(&key.trim().to_ascii_lowercase(), value.trim());
        }
        Ok(out)
    }

    /// Adds one value to a key.
    pub fn add(&mut self, key: &str, value: &str) {
        self.fields
            .entry(key.to_string())
            .or_default()
            .insert(value.to_string());
    }

    /// The same set with one more value.
    pub fn with(mut self, key: &str, value: &str) -> Filters {
        self.add(key, value);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// A key's values, sorted.
    pub fn get(&self, key: &str) -> impl Iterator<Item = &str> {
        self.fields
            .get(key)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every (key, value) pair, sorted.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect()
    }

    /// Only the given keys (what part of a prune passes on to another).
    pub fn only(&self, keys: &[&str]) -> Filters {
        Filters {
            fields: self
                .fields
                .iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// An error naming the first key not in `accepted`.
    pub fn validate(&self, accepted: &[&str]) -> Result<(), FilterError> {
        match self.fields.keys().find(|k| !accepted.contains(&k.as_str())) {
            Some(key) => Err(FilterError::UnknownKey(key.clone())),
            None => Ok(()),
        }
    }

    /// A boolean key (`true`/`1`, `false`/`0`), None when absent; another value, or both
    /// `true` and `false`, is an error.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, FilterError> {
        let Some(values) = self.fields.get(key) else {
            return Ok(None);
        };
        let is_true = values.contains("true") || values.contains("1");
        let is_false = values.contains("false") || values.contains("0");
        let known = |v: &String| matches!(v.as_str(), "true" | "1" | "false" | "0");
        if is_true == is_false || !values.iter().all(known) {
            return Err(self.bad_value(key));
        }
        Ok(Some(is_true))
    }

    /// The error for a key whose value cannot be used, naming its values.
    pub fn bad_value(&self, key: &str) -> FilterError {
        FilterError::BadValue {
            key: key.to_string(),
            value: self.get(key).collect::<Vec<_>>().join(","),
        }
    }

    /// Whether `source` is one of the key's values; true when the key is absent.
    pub fn exact(&self, key: &str, source: &str) -> bool {
        self.fields.get(key).is_none_or(|vs| vs.contains(source))
    }

    /// Whether `source` starts with one of the key's values; true when the key is absent.
    pub fn prefix(&self, key: &str, source: &str) -> bool {
        self.fields
            .get(key)
            .is_none_or(|vs| vs.iter().any(|v| source.starts_with(v.as_str())))
    }

    /// dockerd's `Match`: `source` equals one of the key's values or contains a match of it as
    /// a regular expression (`name=web` matches `myweb1`, `name=^web$` only `web`); a value that
    /// is no valid expression matches only itself. True when the key is absent.
    pub fn matches(&self, key: &str, source: &str) -> bool {
        self.fields.get(key).is_none_or(|vs| {
            vs.iter()
                .any(|v| v == source || regex::Regex::new(v).is_ok_and(|re| re.is_match(source)))
        })
    }

    /// dockerd's `MatchKVList`: every value of `key` (`K` or `K=V`) holds for `labels`. True
    /// when the key is absent.
    pub fn labels_all(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.fields
            .get(key)
            .is_none_or(|vs| vs.iter().all(|v| label_holds(v, labels)))
    }

    /// No value of `key` (`K` or `K=V`) holds for `labels` (an image list's `label!`).
    pub fn labels_none(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).all(|v| !label_holds(v, labels))
    }

    /// `label=` and `label!=` together, as dockerd's prunes and volume filters apply them: every
    /// `label` holds, and not every `label!` does.
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels_all("label", labels)
            && !(self.contains("label!") && self.labels_all("label!", labels))
    }

    /// `until=` (at most one) as unix seconds: a timestamp, or a duration before `now`.
    pub fn until(&self, now: i64) -> Result<Option<i64>, FilterError> {
        let values: Vec<&str> = self.get("until").collect();
        match values.as_slice() {
            [] => Ok(None),
            [one] => parse_until(one, now).map(Some),
            _ => Err(FilterError::Invalid(
                "more than one until filter specified".into(),
            )),
        }
    }
}

impl FromIterator<(String, String)> for Filters {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Filters {
        let mut out = Filters::new();
        for (k, v) in pairs {
            out.add(&k, &v);
        }
        out
    }
}

/// `until=`: a Go duration before now (`10m`, `1h30m`, `24h`), unix seconds, or an RFC 3339
/// time or date, as Docker accepts.
fn parse_until(value: &str, now: i64) -> Result<i64, FilterError> {
    let bad = || {
        FilterError::Invalid(format!(
            "invalid until filter {value:?}: expected a timestamp or a duration such as 24h"
        ))
    };
    if let Some(d) = go_duration_secs(value) {
        return Ok(now - d);
    }
    if let Ok(secs) = value.split('.').next().unwrap_or(value).parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc().timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .ok_or_else(bad);
    }
    Err(bad())
}

/// Go's `time.ParseDuration`, in whole seconds: `1h30m`, `90s`, `1.5h`.
fn go_duration_secs(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total as i64)
}

/// One `K` / `K=V` label condition on a label map.
fn label_holds(condition: &str, labels: &BTreeMap<String, String>) -> bool {
    match condition.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_cli_filters_as_the_docker_cli_does() {
        let f = Filters::parse(&["dangling=true", " Label = a=b ", "label!=c", ""]).unwrap();
        assert_eq!(
            f.pairs(),
            [
                ("dangling".to_string(), "true".to_string()),
                ("label".into(), "a=b".into()),
                ("label!".into(), "c".into()),
            ]
        );
        assert_eq!(
            Filters::parse(&["dangling"]),
            Err(FilterError::BadFormat("dangling".into()))
        );
        assert_eq!(
            FilterError::BadFormat("x".into()).to_string(),
            "bad format of filter (expected name=value): x"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let f = Filters::new().with("label", "a").with("bogus", "1");
        assert_eq!(
            f.validate(&["label"]).unwrap_err().to_string(),
            "invalid filter 'bogus'"
        );
        assert!(f.validate(&["label", "bogus"]).is_ok());
        assert!(Filters::new().validate(&[]).is_ok());
    }

    #[test]
    fn booleans_as_dockerd_reads_them() {
        let b = |v: &[&str]| {
            let mut f = Filters::new();
            for v in v {
                f.add("dangling", v);
            }
            f.bool("dangling")
        };
        assert_eq!(Filters::new().bool("dangling"), Ok(None));
        assert_eq!(b(&["true"]), Ok(Some(true)));
        assert_eq!(b(&["1"]), Ok(Some(true)));
        assert_eq!(b(&["true", "1"]), Ok(Some(true)));
        assert_eq!(b(&["false"]), Ok(Some(false)));
        assert_eq!(b(&["0"]), Ok(Some(false)));
        assert_eq!(
            b(&["maybe"]).unwrap_err().to_string(),
            "Invalid filter 'dangling=maybe'"
        );
        assert!(b(&["true", "false"]).is_err());
        assert!(b(&["true", "maybe"]).is_err());
    }

    #[test]
    fn matchers_are_alternatives_and_labels_all_hold() {
        let f = Filters::new()
            .with("name", "web")
            .with("name", "^db$")
            .with("id", "abc");
        assert!(f.matches("name", "myweb1"));
        assert!(f.matches("name", "db"));
        assert!(!f.matches("name", "db2"));
        assert!(f.matches("other", "anything"), "an absent key passes");
        assert!(f.prefix("id", "abcdef") && !f.prefix("id", "xabc"));
        assert!(f.exact("id", "abc") && !f.exact("id", "abcd"));
        // A value that is no regular expression still matches itself.
        assert!(Filters::new().with("name", "a(").matches("name", "a("));

        let f = Filters::new().with("label", "a=1").with("label", "b");
        assert!(f.labels_match(&labels(&[("a", "1"), ("b", "")])));
        assert!(!f.labels_match(&labels(&[("a", "1")])));
        assert!(!f.labels_match(&labels(&[("a", "2"), ("b", "")])));
        // label!: excluded only when every label! condition holds.
        let f = Filters::new().with("label!", "keep").with("label!", "x=1");
        assert!(!f.labels_match(&labels(&[("keep", ""), ("x", "1")])));
        assert!(f.labels_match(&labels(&[("keep", "")])));
        assert!(f.labels_match(&labels(&[])));
    }

    #[test]
    fn one_until_at_most() {
        assert_eq!(Filters::new().until(100), Ok(None));
        assert_eq!(Filters::new().with("until", "10s").until(100), Ok(Some(90)));
        assert!(
            Filters::new()
                .with("until", "10s")
                .with("until", "20s")
                .until(100)
                .is_err()
        );
        assert!(Filters::new().with("until", "soon").until(100).is_err());
    }
}
