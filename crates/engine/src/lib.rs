//! berth-engine: THE facade every berth front end calls (the CLI now, the Docker API server
//! later): containers, images, volumes and the state database.
//!
//! Owns: the state store (`store`: `trait StateStore` over SQLite; only the engine holds it, so
//! only the engine writes the state), the container directories under
//! the state root, the per-container runtime directories, the container lifecycle (create, start
//! through a `berth shim`, stop, kill, wait, pause, remove), logs, exec, and the repair of state
//! left by a killed process.
//!
//! Must not: parse command lines or speak HTTP. Those are the front ends' job; they pass
//! Docker-shaped requests ([`types::CreateRequest`]) and get plain data back.

pub mod archive;
pub mod attach;
pub mod build;
pub mod changes;
mod clock;
pub mod commit;
pub mod container_archive;
pub mod containers;
mod copyup;
pub mod daemon_config;
pub mod disk_usage;
pub mod distribution;
pub mod error;
pub mod events;
pub mod exec;
pub mod export;
pub mod filters;
pub mod health;
pub mod history;
pub mod host;
pub mod humanize;
pub mod images;
pub mod lifecycle;
pub mod logs;
pub mod mounts;
pub mod names;
pub mod network_filters;
pub mod networks;
mod ports;
pub mod proc;
pub mod prune;
pub mod prune_filters;
pub mod reference;
pub mod registry_queries;
mod repair;
mod rootfs;
pub mod rootpath;
pub mod sandbox;
pub mod shim;
pub mod shim_protocol;
pub mod stats;
mod stdio;
mod store;
pub mod system_info;
pub mod timing;
pub mod transfer;
pub mod types;
mod update;
mod user;
pub mod volumes;
pub mod wait;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use ports::run_port_proxy;
pub use store::StoreError;

/// Where berth keeps its state, and the open database and image store.
pub struct Engine {
    root: PathBuf,
    run: PathBuf,
    /// The state store (the SQLite database, today); only the engine holds one.
    db: Box<dyn store::StateStore>,
    images: berth_image::Store,
    /// When [`Engine::repair`] last ran (unix ms).
    last_repair_ms: std::sync::atomic::AtomicU64,
}

impl Engine {
    /// Opens the state under `BERTH_ROOT` (default /var/lib/berth) and `BERTH_RUN`
    /// (default /run/berth), creating it on first use.
    pub fn open() -> Result<Engine, Error> {
        let root = std::env::var_os("BERTH_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/var/lib/berth".into());
        let run = std::env::var_os("BERTH_RUN")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/run/berth".into());
        Engine::open_at(&root, &run)
    }

    pub fn open_at(root: &Path, run: &Path) -> Result<Engine, Error> {
        // Containers' logs, configs and rootfs mounts are root's business only, as Docker's.
        for dir in [root.join("containers"), run.join("containers")] {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let db = store::open(&root.join("berth.db"))?;
        let images = berth_image::Store::open(root.join("image"))?;
        Ok(Engine {
            root: root.to_path_buf(),
            run: run.to_path_buf(),
            db,
            images,
            last_repair_ms: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Another handle on the same state, for another thread (an engine holds one database
    /// connection, which is not shared across threads).
    pub fn reopen(&self) -> Result<Engine, Error> {
        Engine::open_at(&self.root, &self.run)
    }

    /// Persistent per-container directory: overlay upper/work, log, hosts files.
    fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    /// Runtime per-container directory: rootfs mount point, OCI bundle, sockets.
    fn container_run_dir(&self, id: &str) -> PathBuf {
        self.run.join("containers").join(id)
    }

    /// The OCI runtime's own state root.
    fn runtime_state_root(&self) -> PathBuf {
        self.run.join("runtime")
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }
}

impl Engine {
    /// `top`: the container's processes as `ps -ef` shows them (titles, rows).
    pub fn top(
        &self,
        name_or_id: &str,
        ps_args: &str,
    ) -> Result<(Vec<String>, Vec<Vec<String>>), Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        if !rec.state.has_shim() {
            return Err(Error::Conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        let pids = self.sandbox_for(&rec).processes();
        let args = if ps_args.is_empty() { "-ef" } else { ps_args };
        let output = std::process::Command::new("ps")
            .args(args.split_whitespace())
            .output()
            .map_err(|e| Error::io("running ps", e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines();
        let titles: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let pid_col = titles
            .iter()
            .position(|t| t == "PID")
            .ok_or_else(|| Error::Internal("ps printed no PID column".into()))?;
        let rows = lines
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let pid: i32 = fields.get(pid_col)?.parse().ok()?;
                if !pids.contains(&pid) {
                    return None;
                }
                // The last column (CMD) may contain spaces: keep it whole.
                let mut row: Vec<String> = fields[..titles.len() - 1]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                row.push(fields[titles.len() - 1..].join(" "));
                Some(row)
            })
            .collect();
        Ok((titles, rows))
    }
}
