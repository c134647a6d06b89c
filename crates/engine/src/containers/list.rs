//! `ps --filter` / `GET /containers/json?filters=`: the filter keys dockerd accepts, their
//! values checked once, and the filtered list.

use std::collections::BTreeSet;

use super::timestamp;
use crate::filters::{FilterError, Filters};
use crate::store::ContainerRecord;
use crate::types::State;
use crate::{Engine, Error};

/// What `ps --filter` (`GET /containers/json?filters=`) accepts, as dockerd.
pub const LIST_FILTER_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "exited",
    "expose",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

/// The `status=` values dockerd knows.
const STATES: &[&str] = &[
    "created",
    "running",
    "paused",
    "restarting",
    "removing",
    "exited",
    "dead",
];

/// A `ps` filter set with its values checked and looked up once.
struct ContainerFilter<'a> {
    filters: &'a Filters,
    exited: Vec<i64>,
    /// `is-task`: berth runs no swarm tasks.
    is_task: Option<bool>,
    before: Vec<i128>,
    since: Vec<i128>,
    /// `ancestor`: the images named (unknown names name none), with their layers.
    ancestors: Option<Vec<(String, Vec<String>)>>,
    /// `publish` / `expose`: `port/proto` entries.
    publish: BTreeSet<String>,
    expose: BTreeSet<String>,
}

fn created_nanos(rfc3339: &str) -> i128 {
    timestamp(rfc3339)
        .map(|t| i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos()))
        .unwrap_or(0)
}

/// `publish=`/`expose=` values: `80`, `80/udp`, `8000-8080/tcp`, as `port/proto` entries.
fn port_set(filters: &Filters, key: &str) -> Result<BTreeSet<String>, FilterError> {
    let mut out = BTreeSet::new();
    for value in filters.get(key) {
        if value.contains(':') {
            return Err(FilterError::Invalid(format!(
                "filter for '{key}' should not contain ':': {value}"
            )));
        }
        let (ports, proto) = value.split_once('/').unwrap_or((value, "tcp"));
        let bad = || {
            FilterError::Invalid(format!(
                "error while looking up for {key} {value}: invalid port range {ports:?}"
            ))
        };
        let (start, end) = ports.split_once('-').unwrap_or((ports, ports));
        let start: u16 = start.parse().map_err(|_| bad())?;
        let end: u16 = end.parse().map_err(|_| bad())?;
        if end < start {
            return Err(bad());
        }
        let proto = if proto.is_empty() { "tcp" } else { proto };
        out.extend((start..=end).map(|p| format!("{p}/{}", proto.to_ascii_lowercase())));
    }
    Ok(out)
}

impl<'a> ContainerFilter<'a> {
    fn new(engine: &Engine, filters: &'a Filters) -> Result<ContainerFilter<'a>, Error> {
        filters.validate(LIST_FILTER_KEYS)?;
        let mut exited = Vec::new();
        for v in filters.get("exited") {
            exited.push(v.parse().map_err(|_| FilterError::BadValue {
                key: "exited".into(),
                value: v.into(),
            })?);
        }
        for v in filters.get("status") {
            if !STATES.contains(&v) {
                return Err(FilterError::BadValue {
                    key: "status".into(),
                    value: v.into(),
                }
                .into());
            }
        }
        for v in filters.get("health") {
            if ![
                crate::health::STARTING,
                crate::health::HEALTHY,
                crate::health::UNHEALTHY,
                "none",
            ]
            .contains(&v)
            {
                return Err(FilterError::Invalid(format!(
                    "Unrecognised filter value for health: {v}"
                ))
                .into());
            }
        }
        let created_of = |name: &str| -> Result<i128, Error> {
            match engine.container(name) {
                Ok(rec) => Ok(created_nanos(&rec.created)),
                Err(Error::NotFound(m)) => Err(FilterError::NotFound(m).into()),
                Err(e) => Err(e),
            }
        };
        let ancestors = if filters.contains("ancestor") {
            let mut found = Vec::new();
            for name in filters.get("ancestor") {
                // As dockerd: a name that is no image matches no container.
                if let Ok(id) = engine.resolve_image(name) {
                    let layers = engine
                        .images
                        .image(&id)
                        .map(|i| i.layers)
                        .unwrap_or_default();
                    found.push((id, layers));
                }
            }
            Some(found)
        } else {
            None
        };
        Ok(ContainerFilter {
            filters,
            exited,
            is_task: filters.bool("is-task")?,
            before: filters
                .get("before")
                .map(created_of)
                .collect::<Result<_, _>>()?,
            since: filters
                .get("since")
                .map(created_of)
                .collect::<Result<_, _>>()?,
            ancestors,
            publish: port_set(filters, "publish")?,
            expose: port_set(filters, "expose")?,
        })
    }

    /// Whether `rec` passes: values of one key are alternatives, keys all apply, and every
    /// `label` must hold (compose selects a service's containers by project, service and oneoff
    /// labels at once).
    fn matches(&self, engine: &Engine, rec: &ContainerRecord) -> bool {
        let f = self.filters;
        let created = created_nanos(&rec.created);
        let labels = rec.config.config.labels.clone().unwrap_or_default();
        let passes = f.matches("id", &rec.id)
            && (f.matches("name", &rec.name) || f.matches("name", &format!("/{}", rec.name)))
            && f.exact("status", rec.state.as_str())
            && f.exact("health", rec.health_status().unwrap_or("none"))
            && f.labels_all("label", &labels)
            && f.matches("isolation", "default")
            && self.is_task != Some(true)
            && (self.exited.is_empty()
                || (rec.state == State::Exited && self.exited.contains(&rec.exit_code)))
            && self.before.iter().all(|b| created < *b)
            && self.since.iter().all(|s| created > *s);
        if !passes {
            return false;
        }
        if let Some(ancestors) = &self.ancestors {
            let layers = engine
                .images
                .image(&rec.image_id)
                .map(|i| i.layers)
                .unwrap_or_default();
            // The image itself, or one built on it: its layers, then more (how dockerd's
            // containerd store finds an image's children).
            let descends = |(id, base): &(String, Vec<String>)| {
                *id == rec.image_id
                    || (!base.is_empty() && layers.len() > base.len() && layers.starts_with(base))
            };
            if !ancestors.iter().any(descends) {
                return false;
            }
        }
        if f.contains("volume") {
            let mounts = engine.mount_names(&rec.id);
            if !f
                .get("volume")
                .any(|v| mounts.iter().any(|(name, dest)| name == v || dest == v))
            {
                return false;
            }
        }
        if f.contains("network") {
            let networks = engine.network_settings(rec).networks;
            let on = |value: &str| {
                networks.contains_key(value)
                    || networks
                        .values()
                        .any(|n| !n.network_id.is_empty() && n.network_id.starts_with(value))
            };
            if !f.get("network").any(on) {
                return false;
            }
        }
        if !self.publish.is_empty() || !self.expose.is_empty() {
            let (ports, _) = engine.container_list_networking(rec);
            let hit = ports.iter().any(|p| {
                let proto = &p.protocol;
                let public = p.public_port.filter(|n| *n > 0);
                let private = p.private_port;
                public.is_some_and(|n| self.publish.contains(&format!("{n}/{proto}")))
                    || self.expose.contains(&format!("{private}/{proto}"))
            });
            if !hit {
                return false;
            }
        }
        true
    }
}

impl Engine {
    /// `berth ps` / `GET /containers/json`: the containers (running ones, or with `all` every
    /// one; a `status` filter implies `all`, as in dockerd) passing `filters` (see
    /// [`LIST_FILTER_KEYS`]), newest first.
    pub fn list_containers_filtered(
        &self,
        all: bool,
        filters: &Filters,
    ) -> Result<Vec<ContainerRecord>, Error> {
        let check = ContainerFilter::new(self, filters)?;
        let all = all || filters.contains("status");
        Ok(self
            .list_containers(all)?
            .into_iter()
            .filter(|rec| check.matches(self, rec))
            .collect())
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn ports(values: &[&str], key: &str) -> Result<Vec<String>, FilterError> {
        let mut f = Filters::new();
        for v in values {
            f.add(key, v);
        }
        port_set(&f, key).map(|s| s.into_iter().collect())
    }

    #[test]
    fn publish_and_expose_values_as_dockerd_reads_them() {
        assert_eq!(ports(&["80"], "publish").unwrap(), ["80/tcp"]);
        assert_eq!(ports(&["53/UDP"], "expose").unwrap(), ["53/udp"]);
        assert_eq!(
            ports(&["8000-8002/tcp", "8001"], "expose").unwrap(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert_eq!(
            ports(&["80:80"], "publish").unwrap_err().to_string(),
            "filter for 'publish' should not contain ':': 80:80"
        );
        assert!(ports(&["http"], "publish").is_err());
        assert!(ports(&["90-80"], "expose").is_err());
        assert!(ports(&["70000"], "expose").is_err());
    }
}
