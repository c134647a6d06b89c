//! Container records: the record's own helpers (state, status, restart policy), lookup by id,
//! name or prefix, the unfiltered list, `ps` rows and rename. Each other operation on a
//! container record lives in its own file: `create`, `list` (filtered `ps`), `inspect`, `remove`;
//! `isolation` holds the namespace modes' and pinned resources' checks, defaults and joins.

mod create;
mod inspect;
mod isolation;
mod kernel_settings;
mod list;
mod remove;

pub(crate) use create::validate_request;
pub(crate) use isolation::check_cpusets;
pub use list::LIST_FILTER_KEYS;

/// A container's record, as the state store keeps it.
pub use crate::store::ContainerRecord;
use crate::types::State;
use crate::{Engine, Error, names};

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

impl Engine {
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
        self.db
            .rename_container(&rec.id, bare)
            .map_err(|e| match e {
                // dockerd's wording for a name another container holds.
                Error::Conflict(taken) => {
                    Error::Conflict(format!("Error when allocating new name: {taken}"))
                }
                other => other,
            })
    }
}
