//! `docker container inspect`: Docker's `ContainerJSON`, the part of it berth fills in.

use std::path::PathBuf;

use serde::Serialize;

use super::{MountPoint, NetworkSettings};
use crate::types::Health;

/// Docker's container inspect document. `Config` and `HostConfig` are kept as JSON: they are
/// the request as stored plus the engine's defaults.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub app_armor_profile: String,
    pub args: Vec<String>,
    pub config: serde_json::Value,
    pub created: String,
    pub driver: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    pub graph_driver: GraphDriver,
    pub host_config: serde_json::Value,
    pub hostname_path: PathBuf,
    pub hosts_path: PathBuf,
    pub id: String,
    pub image: String,
    pub log_path: PathBuf,
    pub mount_label: String,
    pub mounts: Vec<MountPoint>,
    pub name: String,
    pub network_settings: NetworkSettings,
    pub path: String,
    pub platform: String,
    pub process_label: String,
    pub resolv_conf_path: PathBuf,
    pub restart_count: i64,
    /// `?size=1` only: every file the container sees (image and own layer), bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<u64>,
    /// `?size=1` only: the files the container created or changed, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<u64>,
    pub state: ContainerState,
}

/// Docker's `State`. Times are RFC 3339; never set is Go's zero time.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    pub dead: bool,
    pub error: String,
    pub exit_code: i64,
    pub finished_at: String,
    /// Shown once a container with a health check has started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub paused: bool,
    pub pid: i32,
    pub restarting: bool,
    pub running: bool,
    pub started_at: String,
    pub status: String,
}

/// Docker's `GraphDriver`: where the container's layers are.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub data: GraphDriverData,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriverData {
    pub merged_dir: PathBuf,
    pub upper_dir: PathBuf,
    pub work_dir: PathBuf,
}

pub use crate::types::LogConfig;
