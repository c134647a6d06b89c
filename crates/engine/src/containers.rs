//! Container records: create, look up, list, inspect, rename, remove.

use std::collections::{BTreeMap, BTreeSet};

use crate::filters::{FilterError, Filters};
/// A container's record, as the state store keeps it.
pub use crate::store::ContainerRecord;
use crate::types::{CreateRequest, State};
use crate::{Engine, Error, names};
use berth_model::inspect::{
    ContainerInspect, ContainerState, GraphDriver, GraphDriverData, LogConfig,
};

/// One row of `berth ps` / `GET /containers/json`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    pub id: String,
    pub names: Vec<String>,
    pub image: String,
    pub image_id: String,
    pub command: String,
    pub created: i64,
    pub state: String,
    pub status: String,
    pub labels: std::collections::BTreeMap<String, String>,
}

fn timestamp(rfc3339: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl ContainerRecord {
    /// Whether the process recorded as holding the container (its shim, or a remover) is
    /// still alive: the same pid, started at the recorded time.
    pub fn holder_alive(&self) -> bool {
        self.shim_pid != 0 && crate::proc::alive(self.shim_pid, self.shim_start)
    }

    /// A created or stopped container that a live process holds (`shim_pid`): a shim
    /// starting it (spawned by a `run` or `start`, perhaps killed since), or a process
    /// removing it. Only that process may change it.
    pub fn claimed(&self) -> bool {
        !self.state.has_shim() && self.holder_alive()
    }

    /// Whether its restart policy restarts the container after it exited with `code` (not
    /// after a stop or kill by the user). The shim asks when the init exits; repair asks
    /// when the shim itself died.
    pub fn restart_wanted(&self, code: i64) -> bool {
        if self.manually_stopped {
            return false;
        }
        let policy = &self.config.host_config.restart_policy;
        match policy.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                code != 0
                    && (policy.maximum_retry_count <= 0
                        || self.restart_count < policy.maximum_retry_count)
            }
            _ => false,
        }
    }

    /// The command line as `ps` shows it.
    pub fn command_line(&self) -> String {
        let c = &self.config.config;
        let mut parts: Vec<String> = c.entrypoint.clone().unwrap_or_default();
        parts.extend(c.cmd.clone().unwrap_or_default());
        parts.join(" ")
    }

    /// Docker's human status: "Up 5 seconds", "Exited (0) 2 minutes ago", "Created".
    pub fn status_text(&self) -> String {
        let since = |t: &str| {
            timestamp(t)
                .map(|t| crate::humanize::human_duration((chrono::Utc::now() - t).num_seconds()))
                .unwrap_or_default()
        };
        match self.state {
            State::Running => match self.health_status() {
                Some(crate::health::STARTING) => {
                    format!("Up {} (health: starting)", since(&self.started_at))
                }
                Some(status) => format!("Up {} ({status})", since(&self.started_at)),
                None => format!("Up {}", since(&self.started_at)),
            },
            State::Paused => format!("Up {} (Paused)", since(&self.started_at)),
            State::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                since(&self.finished_at)
            ),
            State::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                since(&self.finished_at)
            ),
            State::Dead => "Dead".into(),
            State::Created => "Created".into(),
        }
    }

    /// The health status of a container with a health check: its last one once it has run
    /// (Docker keeps it after a stop), `starting` while running before the first record.
    pub fn health_status(&self) -> Option<&str> {
        if !crate::health::has_healthcheck(self.config.config.healthcheck.as_ref()) {
            return None;
        }
        match &self.health {
            Some(h) => Some(h.status.as_str()),
            None if self.state == State::Running => Some(crate::health::STARTING),
            None => None,
        }
    }
}

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

    /// Creates a container record (no process yet), as `docker create` does.
    pub fn create_container(
        &self,
        request: CreateRequest,
        name: Option<&str>,
    ) -> Result<String, Error> {
        self.repair();
        self.repair_volumes();
        let image_id = self.resolve_image(&request.config.image)?;
        self.create_container_from(request, name, image_id)
    }

    /// [`Engine::create_container`] from an image id known to the store (the builder's
    /// intermediate images have no name and no row in the images table).
    pub(crate) fn create_container_from(
        &self,
        request: CreateRequest,
        name: Option<&str>,
        image_id: String,
    ) -> Result<String, Error> {
        validate_request(&request)?;
        self.check_container_network(&request)?;
        if let Some(name) = name {
            let bare = name.strip_prefix('/').unwrap_or(name);
            if !names::valid_name(bare) {
                return Err(Error::InvalidArgument(format!(
                    "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let image = self.images.image(&image_id)?;
        let mut request = request;
        merge_image_defaults(&mut request, &image.config.config);
        if request
            .config
            .entrypoint
            .iter()
            .chain(request.config.cmd.iter())
            .flatten()
            .next()
            .is_none()
        {
            return Err(Error::InvalidArgument("No command specified".into()));
        }
        let id = names::new_id();
        let mut record = ContainerRecord {
            id: id.clone(),
            name: String::new(),
            image: request.config.image.clone(),
            image_id,
            created: crate::clock::now(),
            config: request,
            state: State::Created,
            pid: 0,
            shim_pid: 0,
            shim_start: 0,
            exit_code: 0,
            started_at: String::new(),
            finished_at: String::new(),
            error: String::new(),
            restart_count: 0,
            manually_stopped: false,
            oom_killed: false,
            health: None,
        };
        // Volumes first (their dirs, then their records with the container's, in one
        // transaction): bad input is refused before anything exists.
        let planned = self.plan_mounts(&record.config)?;
        let made_dirs = self.prepare_volume_dirs(&planned)?;
        let mounts = self.mount_rows(&planned)?;
        let inserted = match name {
            Some(name) => {
                record.name = name.strip_prefix('/').unwrap_or(name).to_string();
                self.db.create_container(&record, &mounts)
            }
            None => {
                // Random names may collide; retry with fresh ones.
                let mut attempt = 0;
                loop {
                    let seed = names::random_bytes();
                    record.name = names::random_name(&seed);
                    if attempt > 3 {
                        record.name = format!("{}{}", record.name, seed[4] % 10);
                    }
                    match self.db.create_container(&record, &mounts) {
                        // Only a taken name is worth another try (not a volume being removed).
                        Err(Error::Conflict(m)) if attempt < 10 && m.contains("container name") => {
                            attempt += 1
                        }
                        other => break other,
                    }
                }
            }
        };
        // On failure nothing was inserted; the new dirs go.
        let new_volumes = match inserted {
            Ok(made) => made,
            Err(e) => {
                self.discard_volume_dirs(&made_dirs);
                return Err(e);
            }
        };
        let dir = self.container_dir(&id);
        if let Err(e) = std::fs::create_dir_all(dir.join("upper"))
            .and_then(|_| std::fs::create_dir_all(dir.join("work")))
        {
            let _ = self.delete_container_and_mounts(&id, true);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::io(format!("creating {}", dir.display()), e));
        }
        if let Err(e) = self.populate_volumes(&record) {
            // Nothing half-created: the container goes, and the volumes made for it.
            let _ = self.destroy_with_volumes(&id, true);
            for name in &new_volumes {
                let _ = self.remove_volume(name, true);
            }
            return Err(e);
        }
        self.container_event(&record, "create", &[]);
        Ok(id)
    }

    /// Finds a container by full id, name, or unique id prefix (Docker's lookup order).
    pub fn container(&self, name_or_id: &str) -> Result<ContainerRecord, Error> {
        let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if key.len() == 64
            && let Some(rec) = self.db.container(key)?
        {
            return Ok(rec);
        }
        if let Some(rec) = self.db.container_by_name(key)? {
            return Ok(rec);
        }
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut found = self.db.containers_by_id_prefix(key)?;
            match found.len() {
                1 => return Ok(found.remove(0)),
                0 => {}
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "multiple IDs found with provided prefix: {key}"
                    )));
                }
            }
        }
        Err(Error::NotFound(format!("No such container: {name_or_id}")))
    }

    /// All containers (newest first), after repairing state left by killed processes.
    pub fn list_containers(&self, all: bool) -> Result<Vec<ContainerRecord>, Error> {
        self.repair();
        Ok(self
            .db
            .containers()?
            .into_iter()
            .filter(|c| {
                all || matches!(c.state, State::Running | State::Paused | State::Restarting)
            })
            .collect())
    }

    pub fn summary(&self, rec: &ContainerRecord) -> ContainerSummary {
        ContainerSummary {
            id: rec.id.clone(),
            names: vec![format!("/{}", rec.name)],
            image: rec.image.clone(),
            image_id: rec.image_id.clone(),
            command: rec.command_line(),
            created: timestamp(&rec.created).map(|t| t.timestamp()).unwrap_or(0),
            state: rec.state.as_str().into(),
            status: rec.status_text(),
            labels: rec.config.config.labels.clone().unwrap_or_default(),
        }
    }

    /// Docker's container inspect document.
    pub fn inspect_container(&self, name_or_id: &str) -> Result<ContainerInspect, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        let c = &rec.config;
        let zero_time = "0001-01-01T00:00:00Z";
        let nonempty = |s: &str| {
            if s.is_empty() {
                zero_time.to_string()
            } else {
                s.to_string()
            }
        };
        let mut host_config = serde_json::to_value(&c.host_config)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
        if host_config["NetworkMode"] == "" {
            host_config["NetworkMode"] = crate::networks::DEFAULT_NETWORK.into();
        }
        if host_config["Runtime"] == "" {
            host_config["Runtime"] = "berth".into();
        }
        // Logs are kept and served as Docker's default driver's are (compose only shows the
        // logs of containers whose driver it knows).
        if host_config.get("LogConfig").is_none_or(|l| l.is_null()) {
            host_config["LogConfig"] = berth_model::inspect::to_document(&LogConfig {
                kind: "json-file".into(),
                config: BTreeMap::new(),
            });
        }
        let mut config = serde_json::to_value(&c.config)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
        config["Image"] = rec.image.clone().into();
        let mounts = self.inspect_mounts(&rec);
        // `--network container:X` shares X's files; X may be gone since.
        let network_files = self
            .network_identity(&rec)
            .map(|(dir, _)| dir)
            .unwrap_or_else(|_| self.container_dir(&rec.id));
        let mut state = ContainerState {
            status: rec.state.as_str().to_string(),
            running: matches!(
                rec.state,
                State::Running | State::Paused | State::Restarting
            ),
            paused: rec.state == State::Paused,
            restarting: rec.state == State::Restarting,
            oom_killed: rec.oom_killed,
            dead: rec.state == State::Dead,
            pid: if rec.state.has_shim() { rec.pid } else { 0 },
            exit_code: rec.exit_code,
            error: rec.error.clone(),
            started_at: nonempty(&rec.started_at),
            finished_at: nonempty(&rec.finished_at),
            health: None,
        };
        // Docker shows Health for a container with a health check once it has started.
        if crate::health::has_healthcheck(c.config.healthcheck.as_ref()) {
            if let Some(health) = &rec.health {
                state.health = Some(health.clone());
            } else if rec.state == State::Running {
                state.health = Some(crate::types::Health {
                    status: crate::health::STARTING.to_string(),
                    failing_streak: 0,
                    log: Vec::new(),
                });
            }
        }
        let mut command = c
            .config
            .entrypoint
            .iter()
            .chain(c.config.cmd.iter())
            .flatten();
        Ok(ContainerInspect {
            id: rec.id.clone(),
            created: rec.created.clone(),
            path: command.next().cloned().unwrap_or_default(),
            args: command.cloned().collect(),
            state,
            image: rec.image_id.clone(),
            resolv_conf_path: network_files.join("resolv.conf"),
            hostname_path: network_files.join("hostname"),
            hosts_path: network_files.join("hosts"),
            log_path: self.log_path(&rec.id),
            name: format!("/{}", rec.name),
            restart_count: rec.restart_count,
            driver: "overlay2".into(),
            platform: "linux".into(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: None,
            host_config,
            graph_driver: GraphDriver {
                name: "overlay2".into(),
                data: GraphDriverData {
                    upper_dir: self.container_dir(&rec.id).join("upper"),
                    work_dir: self.container_dir(&rec.id).join("work"),
                    merged_dir: self.container_run_dir(&rec.id).join("rootfs"),
                },
            },
            mounts,
            config,
            network_settings: self.network_settings(&rec),
            size_rw: None,
            size_root_fs: None,
        })
    }

    /// `berth rename OLD NEW`
    pub(crate) fn rename_container_unlogged(
        &self,
        name_or_id: &str,
        new_name: &str,
    ) -> Result<(), Error> {
        let rec = self.container(name_or_id)?;
        let bare = new_name.strip_prefix('/').unwrap_or(new_name);
        if !names::valid_name(bare) {
            return Err(Error::InvalidArgument(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if rec.name == bare {
            return Err(Error::InvalidArgument(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        self.db.rename_container(&rec.id, bare)
    }

    /// `berth rm [-f]`: removes a container and everything it owned on disk (its anonymous
    /// volumes only with [`Engine::remove_container_and_volumes`]).
    pub fn remove_container(&self, name_or_id: &str, force: bool) -> Result<(), Error> {
        self.remove_container_and_volumes(name_or_id, force, false)
    }

    /// `berth rm [-f] [-v]`
    pub fn remove_container_and_volumes(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), Error> {
        self.repair();
        let mut rec = self.container(name_or_id)?;
        let me = std::process::id() as i32;
        let my_start = crate::proc::start_time(me).unwrap_or(0);
        let mut attempts = 0;
        loop {
            // A claimed container (a shim starting it) is removed as a running one: destroyed
            // under its shim, the shim would go on to run it with no record, log or directory
            // left (`run -d` killed, then `rm -f`: an orphaned shim and container process).
            if rec.state.has_shim() || rec.claimed() {
                if !force {
                    let what = if rec.state == State::Paused {
                        "paused"
                    } else {
                        "running"
                    };
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                        rec.name
                    )));
                }
                self.db.set_manually_stopped(&rec.id, true)?;
                if rec.state == State::Paused {
                    let _ = self.sandbox_for(&rec).resume();
                }
                // The shim records the exit and tears the container down; wait for it.
                self.kill_until_shim_exits(&rec.id);
            }
            // Claimed by this process as a shim claims it, the container cannot start while
            // it goes: a shim spawned meanwhile finds it taken and exits. Killed here, the
            // claim is cleared by the next command's repair.
            if self.db.claim_shim(&rec.id, me, my_start)? {
                break;
            }
            // Held by another process: a dead one's hold is repaired, a live one waited for.
            attempts += 1;
            if let Some(now) = self.db.container(&rec.id)? {
                self.repair_container(now);
            }
            rec = match self.db.container(&rec.id)? {
                Some(now) if attempts < 3 => now,
                Some(now) => {
                    return Err(Error::Conflict(format!(
                        "container {} is being started or removed by another process",
                        now.id
                    )));
                }
                // Removed by another process meanwhile.
                None => return Ok(()),
            };
        }
        // An `--rm` container's anonymous volumes go with it however it is removed.
        self.destroy_with_volumes(&rec.id, volumes || rec.config.host_config.auto_remove)
    }

    /// Deletes every trace of a container: runtime state, mount, directories, record.
    /// Idempotent: the shim (for --rm) and `rm -f` may race to do it.
    /// An `--rm` container's anonymous volumes go with it, as Docker's.
    pub(crate) fn destroy(&self, id: &str) -> Result<(), Error> {
        let auto_remove = self
            .db
            .container(id)
            .ok()
            .flatten()
            .is_some_and(|r| r.config.host_config.auto_remove);
        self.destroy_with_volumes(id, auto_remove)
    }

    /// [`Engine::destroy`], removing the container's unshared anonymous volumes when asked.
    pub(crate) fn destroy_with_volumes(&self, id: &str, remove_volumes: bool) -> Result<(), Error> {
        let existing = self.db.container(id).ok().flatten();
        match &existing {
            Some(rec) => {
                let sandbox = self.sandbox_for(rec);
                let _ = sandbox.teardown();
                sandbox.unmount_rootfs();
            }
            // No record (a removal killed midway): its mount point may be left all the same.
            None => crate::rootfs::unmount(&self.container_run_dir(id).join("rootfs")),
        }
        self.release_container_network(id);
        let _ = std::fs::remove_dir_all(self.container_run_dir(id));
        let _ = std::fs::remove_dir_all(self.container_dir(id));
        self.delete_container_and_mounts(id, remove_volumes)?;
        if let Some(rec) = existing {
            self.container_event(&rec, "destroy", &[]);
        }
        Ok(())
    }

    /// Bytes the container wrote (its overlay upper dir) and its whole rootfs's size (the
    /// image's plus those): Docker's `SizeRw` and `SizeRootFs`.
    pub fn container_size(&self, rec: &ContainerRecord) -> (u64, u64) {
        fn walk(dir: &std::path::Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        let rw = walk(&self.container_dir(&rec.id).join("upper"));
        let image = self
            .images
            .image(&rec.image_id)
            .map(|i| i.size)
            .unwrap_or(0);
        (rw, rw + image)
    }
}

/// Checks what can be checked before anything is created.
pub(crate) fn validate_request(request: &CreateRequest) -> Result<(), Error> {
    let hc = &request.host_config;
    crate::sandbox::validate_runtime(&hc.runtime)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    match hc.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => {
            return Err(Error::InvalidArgument(format!(
                "invalid restart policy '{other}'"
            )));
        }
    }
    if hc.restart_policy.name != "on-failure" && hc.restart_policy.maximum_retry_count != 0 {
        return Err(Error::InvalidArgument(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                .to_string(),
        ));
    }
    if hc.auto_remove && !matches!(hc.restart_policy.name.as_str(), "" | "no") {
        return Err(Error::InvalidArgument(
            "conflicting options: cannot specify both --restart and --rm".into(),
        ));
    }
    let cwd = &request.config.working_dir;
    if !cwd.is_empty() && !cwd.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    if let Some(health) = &request.config.healthcheck {
        crate::health::validate(health)?;
    }
    if hc.memory != 0 && hc.memory < 6 * 1024 * 1024 {
        return Err(Error::InvalidArgument(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    if hc.memory_swap > 0 && hc.memory > 0 && hc.memory_swap < hc.memory {
        return Err(Error::InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        ));
    }
    if hc.memory_swap > 0 && hc.memory == 0 {
        return Err(Error::InvalidArgument(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        ));
    }
    if hc.nano_cpus < 0 {
        return Err(Error::InvalidArgument(
            "Range of CPUs is from 0.01 to the number of CPUs".into(),
        ));
    }
    for opt in hc.security_opt.iter().flatten() {
        let known = opt == "no-new-privileges"
            || opt == "no-new-privileges:true"
            || opt == "no-new-privileges=true"
            || opt.starts_with("no-new-privileges")
            || opt.starts_with("seccomp=")
            || opt.starts_with("seccomp:")
            || opt.starts_with("label=")
            || opt.starts_with("apparmor=");
        if !known {
            return Err(Error::InvalidArgument(format!(
                "invalid --security-opt: {opt:?}"
            )));
        }
    }
    Ok(())
}

/// Fills what the user left unset from the image config (Docker's merge rules): Env is image
/// env then user env; an --entrypoint resets the image's Cmd.
/// Docker's merge: the image's health check where the container sets none; each field the
/// container leaves empty (no test, zero durations or retries) comes from the image's.
fn merge_image_healthcheck(
    container: &mut Option<crate::types::HealthConfig>,
    image: Option<&serde_json::Value>,
) {
    let Some(image) =
        image.and_then(|v| serde_json::from_value::<crate::types::HealthConfig>(v.clone()).ok())
    else {
        return;
    };
    let Some(own) = container else {
        *container = Some(image);
        return;
    };
    if own.test.as_ref().is_none_or(|t| t.is_empty()) {
        own.test = image.test;
    }
    for (mine, theirs) in [
        (&mut own.interval, image.interval),
        (&mut own.timeout, image.timeout),
        (&mut own.start_period, image.start_period),
        (&mut own.start_interval, image.start_interval),
        (&mut own.retries, image.retries),
    ] {
        if *mine == 0 {
            *mine = theirs;
        }
    }
}

fn merge_image_defaults(request: &mut CreateRequest, image: &berth_image::ContainerConfig) {
    let c = &mut request.config;
    let mut env: Vec<String> = image.env.clone().unwrap_or_default();
    for kv in c.env.take().unwrap_or_default() {
        let key = kv.split('=').next().unwrap_or("").to_string();
        env.retain(|e| e.split('=').next() != Some(key.as_str()));
        env.push(kv);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    c.env = Some(env);
    let user_entrypoint = c.entrypoint.is_some();
    if c.entrypoint.is_none() {
        c.entrypoint = image.entrypoint.clone();
    }
    if c.cmd.as_ref().is_none_or(|v| v.is_empty()) && !user_entrypoint {
        c.cmd = image.cmd.clone();
    }
    if c.entrypoint
        .as_ref()
        .is_some_and(|e| e.is_empty() || e.iter().all(|s| s.is_empty()))
    {
        c.entrypoint = None;
    }
    if c.working_dir.is_empty() {
        c.working_dir = image.working_dir.clone().unwrap_or_default();
    }
    if c.user.is_empty() {
        c.user = image.user.clone().unwrap_or_default();
    }
    if c.stop_signal.is_none() {
        c.stop_signal = image.stop_signal.clone();
    }
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(c.labels.take().unwrap_or_default());
    c.labels = Some(labels);
    if c.exposed_ports.is_none() {
        c.exposed_ports = image.exposed_ports.clone();
    }
    merge_image_healthcheck(&mut c.healthcheck, image.healthcheck.as_ref());
    // Docker: the image's VOLUMEs and the user's `-v /path` ones, together.
    if let Some(image_volumes) = &image.volumes {
        let volumes = c.volumes.get_or_insert_with(Default::default);
        for (path, v) in image_volumes {
            volumes.entry(path.clone()).or_insert_with(|| v.clone());
        }
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
