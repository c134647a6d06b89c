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
