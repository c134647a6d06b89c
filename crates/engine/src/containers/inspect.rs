//! `docker inspect` of a container: its inspect document and its sizes (`SizeRw`,
//! `SizeRootFs`).

use std::path::PathBuf;

use crate::store::ContainerRecord;
use crate::types::State;
use crate::{Engine, Error};
use berth_model::inspect::{ContainerInspect, ContainerState, GraphDriver, GraphDriverData};

impl Engine {
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
        // A record made before these defaults were recorded shows them all the same.
        let mut recorded = c.host_config.clone();
        super::isolation::fill_defaults(&mut recorded);
        let mut host_config = serde_json::to_value(&recorded)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
        if host_config["NetworkMode"] == "" {
            host_config["NetworkMode"] = crate::networks::DEFAULT_NETWORK.into();
        }
        if host_config["Runtime"] == "" {
            host_config["Runtime"] = "berth".into();
        }
        // Docker shows the driver even when the container named none (compose only shows the
        // logs of containers whose driver it knows).
        let log_settings = crate::logs::LogSettings::of(c.host_config.log_config.as_ref());
        host_config["LogConfig"] = berth_model::inspect::to_document(&log_settings.to_config());
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
            // Docker names a file only for json-file, the driver whose file is public.
            log_path: if log_settings.driver == crate::logs::settings::Driver::JsonFile {
                self.log_path(&rec.id)
            } else {
                PathBuf::new()
            },
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
