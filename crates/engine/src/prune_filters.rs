//! The filters of `container prune`, `image prune`, `network prune` and `system prune`
//! (`until=<timestamp|duration>`, `label=<key>[=<value>]`, `label!=<key>[=<value>]`, and
//! `dangling=` for images), checked against what each prune accepts and parsed once into a
//! predicate.

use std::collections::BTreeMap;

use crate::filters::{FilterError, Filters};

/// What `container prune` and `network prune` accept, as dockerd.
pub const CONTAINER_KEYS: &[&str] = &["label", "label!", "until"];
/// What `network prune` accepts.
pub const NETWORK_KEYS: &[&str] = CONTAINER_KEYS;
/// What `image prune` accepts.
pub const IMAGE_KEYS: &[&str] = &["dangling", "label", "label!", "until"];

/// Parsed prune filters; empty means "everything matches".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneFilters {
    /// Only objects created before this unix time (seconds).
    pub until: Option<i64>,
    /// The `label` / `label!` filters.
    labels: Filters,
    /// `dangling=false` on `image prune` widens it to every unused image, as `-a` does.
    pub dangling: Option<bool>,
}

impl PruneFilters {
    /// Checks `filters` against the keys a prune accepts (`accepted`) and parses them; `now`
    /// (unix seconds) is what an `until` duration counts back from.
    pub fn new(
        filters: &Filters,
        accepted: &[&str],
        now: i64,
    ) -> Result<PruneFilters, FilterError> {
        filters.validate(accepted)?;
        Ok(PruneFilters {
            until: filters.until(now)?,
            labels: filters.only(&["label", "label!"]),
            dangling: filters.bool("dangling")?,
        })
    }

    /// Whether an object created at `created` (unix seconds) with `labels` passes the filters.
    pub fn matches(&self, created: i64, labels: &BTreeMap<String, String>) -> bool {
        self.until.is_none_or(|until| created < until) && self.labels.labels_match(labels)
    }
}

/// `until=`: a Go duration before now (`10m`, `1h30m`, `24h`), unix seconds, or an RFC 3339
/// time or date, as Docker accepts.
pub(crate) fn parse_until(value: &str, now: i64) -> Result<i64, FilterError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], accepted: &[&str], now: i64) -> Result<PruneFilters, FilterError> {
        PruneFilters::new(&Filters::parse(args).unwrap(), accepted, now)
    }

    #[test]
    fn parses_docker_filters() {
        let f = parse(
            &["until=1h30m", "label=a=1", "label!=keep"],
            CONTAINER_KEYS,
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
            parse(&["until=2020-01-01"], CONTAINER_KEYS, 0)
                .unwrap()
                .until,
            Some(1_577_836_800)
        );
        assert_eq!(
            parse(&["until=1577836800"], CONTAINER_KEYS, 0)
                .unwrap()
                .until,
            Some(1_577_836_800)
        );
        assert!(parse(&["until=soon"], CONTAINER_KEYS, 0).is_err());
        assert!(parse(&["until=1h", "until=2h"], CONTAINER_KEYS, 0).is_err());
        assert_eq!(
            parse(&["color=red"], CONTAINER_KEYS, 0),
            Err(FilterError::UnknownKey("color".into()))
        );
    }

    #[test]
    fn each_prune_takes_its_own_keys() {
        // dangling is an image prune filter only.
        assert_eq!(
            parse(&["dangling=false"], IMAGE_KEYS, 0).unwrap().dangling,
            Some(false)
        );
        assert_eq!(
            parse(&["dangling=true"], CONTAINER_KEYS, 0),
            Err(FilterError::UnknownKey("dangling".into()))
        );
        assert_eq!(
            parse(&["dangling=maybe"], IMAGE_KEYS, 0)
                .unwrap_err()
                .to_string(),
            "Invalid filter 'dangling=maybe'"
        );
    }
}
