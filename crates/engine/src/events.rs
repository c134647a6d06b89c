//! The engine's event log: every container, image, network and volume action the engine
//! performs is appended here (by the engine itself, so CLI and API actions both appear), in an
//! append-only SQLite table whose rowid is the followers' cursor. The log keeps the last
//! [`KEEP`] events. Shapes follow Docker's `/events` objects.

use std::collections::BTreeMap;

use berth_model::events::{EventActor, EventMessage};
use berth_model::inspect::to_document;

use crate::filters::Filters;
use crate::store::ContainerRecord;
use crate::{Engine, Error};

/// How many events the log keeps.
const KEEP: i64 = 10_000;

/// One logged event, as the state store keeps it.
pub use crate::store::Event;

fn now_nano() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

impl Event {
    /// Docker's event message, with the legacy status/id/from fields for containers and images.
    pub fn to_message(&self) -> EventMessage {
        let legacy = self.kind == "container" || self.kind == "image";
        EventMessage {
            kind: self.kind.clone(),
            action: self.action.clone(),
            actor: EventActor {
                id: self.actor_id.clone(),
                attributes: self.attributes.clone(),
            },
            scope: "local".into(),
            time: self.time_nano / 1_000_000_000,
            time_nano: self.time_nano,
            status: legacy.then(|| self.action.clone()),
            id: legacy.then(|| self.actor_id.clone()),
            from: legacy
                .then(|| self.attributes.get("image").cloned())
                .flatten(),
        }
    }

    /// Docker's JSON object (keys sorted, as clients have always seen them).
    pub fn to_json(&self) -> serde_json::Value {
        to_document(&self.to_message())
    }

    /// Whether the event passes the (checked) event filters: values of one key are
    /// alternatives, keys must all pass, every `label` must hold (dockerd's rules). `container`,
    /// `network`, `volume` (and dockerd's other object keys) take that kind's events whose actor
    /// id starts with the value or whose name is it; `image` an image by id or name, or a
    /// container event's image, with or without its tag.
    pub fn matches(&self, f: &Filters) -> bool {
        let name = self
            .attributes
            .get("name")
            .map(String::as_str)
            .unwrap_or("");
        let object = |key: &str| {
            !f.contains(key)
                || (self.kind == key && (f.prefix(key, &self.actor_id) || f.exact(key, name)))
        };
        let image = self
            .attributes
            .get(if self.kind == "image" {
                "name"
            } else {
                "image"
            })
            .map(String::as_str)
            .unwrap_or("");
        let image_hit = |v: &str| {
            [self.actor_id.as_str(), image]
                .iter()
                .any(|n| !n.is_empty() && (*n == v || crate::reference::split(n).0 == v))
        };
        f.exact("type", &self.kind)
            && f.exact("scope", "local")
            && (!f.contains("event")
                || f.get("event").any(|v| {
                    // `exec_start: sh` and the like match on their prefix.
                    self.action == v || self.action.split(':').next() == Some(v)
                }))
            && (!f.contains("image") || f.get("image").any(image_hit))
            && f.labels_all("label", &self.attributes)
            && OBJECT_KEYS.iter().all(|key| object(key))
    }
}

/// What `events --filter` (`GET /events?filters=`) accepts, as dockerd.
pub const FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// The keys naming an object of their own kind (`container=web`).
const OBJECT_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "volume",
];

/// `since=`/`until=` as Docker takes them: unix seconds with optional fraction
/// (`1733300000.5`), an RFC 3339 time, or a Go-style duration before now (`10m`, `1h30m`).
/// Returns unix nanoseconds.
pub fn parse_time(value: &str) -> Result<i64, Error> {
    let bad = || {
        Error::InvalidArgument(format!(
            "invalid time {value:?}: expected a timestamp, an RFC 3339 time or a duration such as 10m"
        ))
    };
    let value = value.trim();
    if let Some((secs, frac)) = value.split_once('.')
        && !secs.is_empty()
        && secs.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
    {
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let mut digits: String = frac.chars().take(9).collect();
        while digits.len() < 9 {
            digits.push('0');
        }
        let nanos: i64 = digits.parse().map_err(|_| bad())?;
        return Ok(secs * 1_000_000_000 + nanos);
    }
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .map(|s| s * 1_000_000_000)
            .map_err(|_| bad());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return t.timestamp_nanos_opt().ok_or_else(bad);
    }
    let ago = go_duration_nanos(value).ok_or_else(bad)?;
    Ok(now_nano() - ago)
}

/// `1h30m`, `10m`, `45s`, `500ms` as nanoseconds.
fn go_duration_nanos(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale: i64 = match &rest[..unit_len] {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(scale)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

impl Engine {
    /// Appends an event; best effort (an action never fails because its event could not be
    /// logged). Every hundredth event trims the log to the last [`KEEP`].
    pub(crate) fn record_event(
        &self,
        kind: &str,
        action: &str,
        actor_id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let appended = self
            .db
            .append_event(now_nano(), kind, action, actor_id, &attributes);
        if let Ok(seq) = appended
            && seq % 100 == 0
        {
            let _ = self.db.trim_events(seq - KEEP);
        }
    }

    /// A container event, with Docker's attributes: name, image and the container's labels.
    pub(crate) fn container_event(
        &self,
        rec: &ContainerRecord,
        action: &str,
        extra: &[(&str, String)],
    ) {
        let mut attributes: BTreeMap<String, String> = rec
            .config
            .config
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        attributes.insert("name".into(), rec.name.clone());
        attributes.insert("image".into(), rec.image.clone());
        for (k, v) in extra {
            attributes.insert((*k).to_string(), v.clone());
        }
        self.record_event("container", action, &rec.id, attributes);
    }

    /// An event of a non-container object with a few attributes.
    pub(crate) fn object_event(&self, kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) {
        let attributes = attrs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        self.record_event(kind, action, id, attributes);
    }

    /// Events after cursor `after` (0: from the oldest kept) with `time_nano >= since`, at most
    /// `limit` of them, oldest first.
    pub fn events_after(&self, after: i64, since: i64, limit: i64) -> Result<Vec<Event>, Error> {
        self.db.events_after(after, since, limit)
    }

    /// The cursor of the newest event (0 when the log is empty): a follower without `since`
    /// starts here.
    pub fn events_cursor(&self) -> Result<i64, Error> {
        self.db.events_cursor()
    }
}

/// Now, in unix nanoseconds (for followers deciding when `until` has passed).
pub fn now_nanos() -> i64 {
    now_nano()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form_docker_accepts() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(
            parse_time("1700000000.5").unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000_000_000
        );
        let ago = now_nano() - parse_time("1h30m").unwrap();
        assert!(
            (5_399_000_000_000..5_402_000_000_000).contains(&ago),
            "{ago}"
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn filters_match_type_action_and_names() {
        let e = Event {
            seq: 1,
            time_nano: 0,
            kind: "container".into(),
            action: "start".into(),
            actor_id: "abcdef".into(),
            attributes: [
                ("name".to_string(), "web".to_string()),
                ("image".to_string(), "bb".to_string()),
            ]
            .into(),
        };
        let f = |pairs: &[(&str, &str)]| {
            let v: Filters = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            e.matches(&v)
        };
        assert!(f(&[]));
        assert!(f(&[("container", "web"), ("event", "start")]));
        assert!(f(&[
            ("container", "abc"),
            ("event", "die"),
            ("event", "start")
        ]));
        assert!(!f(&[("type", "network")]));
        assert!(f(&[("image", "bb")]));
        assert!(!f(&[("image", "bb:v2")]));
        // Labels: every one must hold.
        assert!(f(&[("label", "name=web"), ("label", "image")]));
        assert!(!f(&[("label", "name=web"), ("label", "nosuch")]));
        // An object key takes its own kind's events only.
        assert!(!f(&[("network", "web")]));
        assert!(f(&[("scope", "local")]) && !f(&[("scope", "swarm")]));
        let tagged = Event {
            attributes: [("image".to_string(), "reg:5000/x/bb:v1".to_string())].into(),
            ..e.clone()
        };
        assert!(tagged.matches(&Filters::new().with("image", "reg:5000/x/bb")));
        assert!(tagged.matches(&Filters::new().with("image", "reg:5000/x/bb:v1")));
        let query = |k: &str| EventQuery {
            filters: Filters::new().with(k, "x"),
            ..Default::default()
        };
        assert_eq!(
            query("bogus").validate().unwrap_err().to_string(),
            "invalid filter 'bogus'"
        );
        assert!(query("action").validate().is_err(), "not a dockerd key");
        assert!(query("daemon").validate().is_ok());
        assert_eq!(e.to_json()["status"], "start");
        assert_eq!(e.to_json()["from"], "bb");
    }
}

/// The public actions that log an event when they succeed (their bodies live with their
/// objects; these wrappers keep what is logged, and with which attributes, in one place).
impl Engine {
    /// `volume create`
    pub fn create_volume(
        &self,
        request: crate::volumes::VolumeCreate,
    ) -> Result<crate::volumes::Volume, Error> {
        let volume = self.create_volume_unlogged(request)?;
        self.object_event(
            "volume",
            "create",
            &volume.name,
            &[("driver", &volume.driver)],
        );
        Ok(volume)
    }

    /// `volume rm [-f]`
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), Error> {
        let existed = self.db.volume(name).ok().flatten().is_some();
        self.remove_volume_unlogged(name, force)?;
        if existed {
            self.object_event("volume", "destroy", name, &[("driver", "local")]);
        }
        Ok(())
    }

    /// `berth commit CONTAINER [REPO[:TAG]]`: the new image's id.
    pub fn commit_container(
        &self,
        name_or_id: &str,
        options: &crate::commit::CommitOptions,
    ) -> Result<String, Error> {
        let id = self.commit_container_unlogged(name_or_id, options)?;
        if let Ok(rec) = self.container(name_or_id) {
            let reference = options.reference.clone().unwrap_or_default();
            let comment = options.comment.clone().unwrap_or_default();
            self.container_event(
                &rec,
                "commit",
                &[
                    ("comment", comment),
                    ("imageID", id.clone()),
                    ("imageRef", reference),
                ],
            );
        }
        Ok(id)
    }

    /// `berth update [limits] CONTAINER`: Docker's warnings (none).
    pub fn update_container(
        &self,
        name_or_id: &str,
        update: &crate::types::UpdateRequest,
    ) -> Result<Vec<String>, Error> {
        let warnings = self.update_container_unlogged(name_or_id, update)?;
        if let Ok(rec) = self.container(name_or_id) {
            self.container_event(&rec, "update", &[]);
        }
        Ok(warnings)
    }

    /// `berth tag SOURCE TARGET`
    pub fn tag_image(&self, source: &str, target: &str) -> Result<(), Error> {
        self.tag_image_unlogged(source, target)?;
        let id = self.resolve_image(source)?;
        let name = crate::reference::normalize(target)?;
        self.object_event("image", "tag", &id, &[("name", &name)]);
        Ok(())
    }

    /// `berth rmi [-f] NAME`
    pub fn remove_image(
        &self,
        name: &str,
        force: bool,
    ) -> Result<Vec<crate::images::Removed>, Error> {
        let removed = self.remove_image_unlogged(name, force)?;
        for r in &removed {
            match r {
                crate::images::Removed::Untagged(tag) => {
                    self.object_event("image", "untag", tag, &[("name", tag)])
                }
                crate::images::Removed::Deleted(id) => {
                    self.object_event("image", "delete", id, &[("name", id)])
                }
            }
        }
        Ok(removed)
    }

    /// `berth pull NAME[:TAG|@DIGEST]`
    pub fn pull_image(
        &self,
        name: &str,
        options: &crate::distribution::PullOptions,
        progress: &mut dyn FnMut(crate::distribution::Progress),
    ) -> Result<Vec<crate::distribution::Pulled>, Error> {
        self.pull_image_as(name, options, None, progress)
    }

    /// [`Engine::pull_image`] with explicit (user, password) instead of the stored credentials.
    pub fn pull_image_as(
        &self,
        name: &str,
        options: &crate::distribution::PullOptions,
        credentials: Option<(String, String)>,
        progress: &mut dyn FnMut(crate::distribution::Progress),
    ) -> Result<Vec<crate::distribution::Pulled>, Error> {
        let pulled = self.pull_image_unlogged(name, options, credentials, progress)?;
        for p in &pulled {
            self.object_event("image", "pull", &p.name, &[("name", &p.name)]);
        }
        Ok(pulled)
    }

    /// `network create`: returns the new network's id.
    pub fn create_network(&self, req: crate::networks::NetworkCreate) -> Result<String, Error> {
        let name = req.name.clone();
        let driver = if req.driver.is_empty() {
            berth_net::driver::DEFAULT_DRIVER.to_string()
        } else {
            req.driver.clone()
        };
        let id = self.create_network_unlogged(req)?;
        self.object_event(
            "network",
            "create",
            &id,
            &[("name", &name), ("type", &driver)],
        );
        Ok(id)
    }

    /// `network connect [--ip] [--alias] NET CONTAINER`
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        ip: Option<&str>,
        aliases: &[String],
    ) -> Result<(), Error> {
        let settings = crate::types::EndpointSettings {
            ipam_config: ip.map(|ip| crate::types::EndpointIpamConfig {
                ipv4_address: ip.to_string(),
                ..Default::default()
            }),
            aliases: Some(aliases.to_vec()),
            ..Default::default()
        };
        self.connect_network_endpoint(network, container, &settings)
    }

    /// `network connect` with whole endpoint settings (`--ip6`, `--link-local-ip`, the API's
    /// EndpointConfig with its MacAddress).
    pub fn connect_network_endpoint(
        &self,
        network: &str,
        container: &str,
        settings: &crate::types::EndpointSettings,
    ) -> Result<(), Error> {
        self.connect_network_unlogged(network, container, settings)?;
        self.network_membership_event(network, container, "connect");
        Ok(())
    }

    /// `network disconnect NET CONTAINER`
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<(), Error> {
        self.disconnect_network_unlogged(network, container)?;
        self.network_membership_event(network, container, "disconnect");
        Ok(())
    }

    fn network_membership_event(&self, network: &str, container: &str, action: &str) {
        if let (Ok(net), Ok(rec)) = (self.network(network), self.container(container)) {
            self.object_event(
                "network",
                action,
                &net.id,
                &[
                    ("container", &rec.id),
                    ("name", &net.name),
                    ("type", &net.driver),
                ],
            );
        }
    }

    /// `berth rename OLD NEW`
    pub fn rename_container(&self, name_or_id: &str, new_name: &str) -> Result<(), Error> {
        let old = self.container(name_or_id)?;
        self.rename_container_unlogged(name_or_id, new_name)?;
        let rec = self.container(&old.id)?;
        self.container_event(&rec, "rename", &[("oldName", format!("/{}", old.name))]);
        Ok(())
    }

    /// `berth stop [-t]`: Docker logs the signal sent (kill), then the stop.
    pub fn stop_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<(), Error> {
        let before = self.container(name_or_id)?;
        if before.state.has_shim() {
            let signal = before
                .config
                .config
                .stop_signal
                .as_deref()
                .and_then(|s| crate::lifecycle::parse_signal(s).ok())
                .unwrap_or(libc::SIGTERM);
            self.container_event(&before, "kill", &[("signal", signal.to_string())]);
        }
        self.stop_container_unlogged(name_or_id, timeout)?;
        if before.state.has_shim() {
            self.container_event(&before, "stop", &[]);
        }
        Ok(())
    }

    /// `berth kill [-s SIG]`
    pub fn kill_container(&self, name_or_id: &str, signal: &str) -> Result<(), Error> {
        let rec = self.container(name_or_id)?;
        self.kill_container_unlogged(name_or_id, signal)?;
        let number = crate::lifecycle::parse_signal(signal).unwrap_or_default();
        self.container_event(&rec, "kill", &[("signal", number.to_string())]);
        Ok(())
    }

    /// `berth pause`
    pub fn pause_container(&self, name_or_id: &str) -> Result<(), Error> {
        self.pause_container_unlogged(name_or_id)?;
        let rec = self.container(name_or_id)?;
        self.container_event(&rec, "pause", &[]);
        Ok(())
    }

    /// `berth unpause`
    pub fn unpause_container(&self, name_or_id: &str) -> Result<(), Error> {
        self.unpause_container_unlogged(name_or_id)?;
        let rec = self.container(name_or_id)?;
        self.container_event(&rec, "unpause", &[]);
        Ok(())
    }
}

/// What `GET /events` and `berth events` ask for.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Unix nanoseconds; without it only events from now on.
    pub since: Option<i64>,
    /// Unix nanoseconds; without it the follower never ends by itself.
    pub until: Option<i64>,
    pub filters: Filters,
}

impl EventQuery {
    /// Checks the filters once, before anything streams.
    pub fn validate(&self) -> Result<(), Error> {
        Ok(self.filters.validate(FILTER_KEYS)?)
    }
}

impl Engine {
    /// Streams the log's matching events to `sink`, oldest first, following new ones (a poll
    /// of the table every 100 ms: one indexed query) until `until` has passed or `sink` returns
    /// false. `sink` is also called with `None` at every idle poll, so a caller can notice its
    /// client has gone.
    pub fn follow_events(
        &self,
        query: &EventQuery,
        mut sink: impl FnMut(Option<&Event>) -> bool,
    ) -> Result<(), Error> {
        query.validate()?;
        let mut cursor = if query.since.is_some() {
            0
        } else {
            self.events_cursor()?
        };
        let since = query.since.unwrap_or(0);
        loop {
            let batch = self.events_after(cursor, since, 500)?;
            for event in &batch {
                cursor = event.seq;
                if query.until.is_some_and(|until| event.time_nano > until) {
                    return Ok(());
                }
                if event.matches(&query.filters) && !sink(Some(event)) {
                    return Ok(());
                }
            }
            if batch.is_empty() {
                if query.until.is_some_and(|until| now_nano() > until) {
                    return Ok(());
                }
                if !sink(None) {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}
