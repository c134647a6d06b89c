//! The `--filter` values `prune` commands take: `until=<timestamp|duration>` and
//! `label=<key>[=<value>]` / `label!=<key>[=<value>]`, parsed once into a predicate.

use std::collections::BTreeMap;

use crate::Error;

/// Parsed prune filters; empty means "everything matches".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneFilters {
    /// Only objects created before this unix time (seconds).
    pub until: Option<i64>,
    /// `label=` filters: every one must match.
    pub labels: Vec<(String, Option<String>)>,
    /// `label!=` filters: none may match.
    pub not_labels: Vec<(String, Option<String>)>,
    /// `dangling=false` on `image prune` widens it to every unused image, as `-a` does.
    pub dangling: Option<bool>,
}

impl PruneFilters {
    /// Parses `key=value` filter strings as the docker CLI passes them.
    pub fn parse(filters: &[String], now: i64) -> Result<PruneFilters, Error> {
        let mut out = PruneFilters::default();
        for f in filters {
            let bad = || {
                Error::InvalidArgument(format!("bad format of filter (expected name=value): {f}"))
            };
            if let Some(rest) = f.strip_prefix("label!=") {
                out.not_labels.push(label(rest));
                continue;
            }
            let (key, value) = f.split_once('=').ok_or_else(bad)?;
            match key {
                "until" => out.until = Some(parse_until(value, now)?),
                "label" => out.labels.push(label(value)),
                "dangling" => {
                    out.dangling = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(Error::InvalidArgument(format!(
                                "invalid filter 'dangling={value}'"
                            )));
                        }
                    })
                }
                other => return Err(Error::InvalidArgument(format!("invalid filter '{other}'"))),
            }
        }
        Ok(out)
    }

    /// Whether an object created at `created` (unix seconds) with `labels` passes the filters.
    pub fn matches(&self, created: i64, labels: &BTreeMap<String, String>) -> bool {
        let has = |(k, v): &(String, Option<String>)| match (labels.get(k), v) {
            (Some(actual), Some(want)) => actual == want,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.until.is_none_or(|until| created < until)
            && self.labels.iter().all(has)
            && !self.not_labels.iter().any(has)
    }
}

fn label(text: &str) -> (String, Option<String>) {
    match text.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (text.to_string(), None),
    }
}

/// `until=`: a Go duration before now (`10m`, `1h30m`, `24h`), unix seconds, or an RFC 3339
/// time or date, as Docker accepts.
fn parse_until(value: &str, now: i64) -> Result<i64, Error> {
    let bad = || {
        Error::InvalidArgument(format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_filters() {
        let f = PruneFilters::parse(
            &[
                "until=1h30m".into(),
                "label=a=1".into(),
                "label!=keep".into(),
            ],
            10_000,
        )
        .unwrap();
        assert_eq!(f.until, Some(10_000 - 5400));
        let mut labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert!(f.matches(0, &labels));
        assert!(!f.matches(9_000, &labels));
        labels.insert("keep".into(), "".into());
        assert!(!f.matches(0, &labels));
        assert_eq!(
            PruneFilters::parse(&["until=2020-01-01".into()], 0)
                .unwrap()
                .until,
            Some(1_577_836_800)
        );
        assert_eq!(
            PruneFilters::parse(&["until=1577836800".into()], 0)
                .unwrap()
                .until,
            Some(1_577_836_800)
        );
        assert!(PruneFilters::parse(&["until=soon".into()], 0).is_err());
        assert!(PruneFilters::parse(&["dangling".into()], 0).is_err());
        assert!(PruneFilters::parse(&["color=red".into()], 0).is_err());
    }
}
