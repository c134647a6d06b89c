//! Docker-shaped container settings. These are the bodies of Docker's `POST /containers/create`
//! (Config + HostConfig), so the CLI's flags and the API's JSON land in the same engine call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Docker's container `Config` (plus `HostConfig` in create requests).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub image: String,
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// `--mac-address` (Docker keeps it in Config too).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    /// `HEALTHCHECK` / `--health-*`: the image's, overridden field by field by the user's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
}

/// Docker's `Config.Healthcheck`; durations in nanoseconds, 0 = the default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]` off, `["CMD", args...]`, `["CMD-SHELL", command]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_as_default")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_as_default")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_as_default")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_as_default")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_as_default")]
    pub retries: i64,
}

/// A client that sends `null` for an unset field means its default: docker-compose 1.29 for a
/// health check's numbers, bollard's models and the SDKs for strings and maps.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    /// "starting", "healthy" or "unhealthy".
    pub status: String,
    pub failing_streak: i64,
    /// The last probes, oldest first (at most 5).
    pub log: Vec<HealthLogEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthLogEntry {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// Docker's `HostConfig`, the subset berth implements (unknown fields are ignored on input).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub ulimits: Option<Vec<Ulimit>>,
    pub init: Option<bool>,
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    /// CFS quota and period, microseconds (Docker's `--cpu-quota`, `--cpu-period`).
    pub cpu_quota: i64,
    pub cpu_period: i64,
    pub pids_limit: Option<i64>,
    pub runtime: String,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    /// `--add-host NAME:IP` lines.
    pub extra_hosts: Option<Vec<String>>,
    /// `-p`: "80/tcp" -> host bindings.
    pub port_bindings: Option<BTreeMap<String, Vec<PortBinding>>>,
    /// `-P`: every exposed port on a free host port.
    pub publish_all_ports: bool,
    /// `--mount`: Docker's structured mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<MountSpec>>,
    /// `--volumes-from CONTAINER[:ro|rw]`
    pub volumes_from: Option<Vec<String>>,
    /// `--pid`: "" (a private namespace), "host" or "container:NAME".
    #[serde(deserialize_with = "null_as_default")]
    pub pid_mode: String,
    /// `--ipc`: "none", "private", "shareable", "host" or "container:NAME" ("" until create
    /// fills in the default, "private").
    #[serde(deserialize_with = "null_as_default")]
    pub ipc_mode: String,
    /// `--uts`: "" (private) or "host".
    #[serde(rename = "UTSMode")]
    #[serde(deserialize_with = "null_as_default")]
    pub uts_mode: String,
    /// `--cgroupns`: "host" or "private" (create fills in the host's default).
    #[serde(deserialize_with = "null_as_default")]
    pub cgroupns_mode: String,
    /// `--userns`: "" or "host" (berth never remaps users, so both are the host's).
    #[serde(deserialize_with = "null_as_default")]
    pub userns_mode: String,
    /// `--group-add`: group names (from the image's /etc/group) or numbers.
    pub group_add: Option<Vec<String>>,
    /// `--device-cgroup-rule 'c 1:3 rwm'`
    pub device_cgroup_rules: Option<Vec<String>>,
    /// `--cpuset-cpus 0-2,4`
    #[serde(deserialize_with = "null_as_default")]
    pub cpuset_cpus: String,
    /// `--cpuset-mems 0`
    #[serde(deserialize_with = "null_as_default")]
    pub cpuset_mems: String,
    /// `--memory-swappiness 0..100`; None (or -1 on input) keeps the host's.
    pub memory_swappiness: Option<i64>,
    /// `--log-driver`, `--log-opt`: None (or an empty `Type`) is the default driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_config: Option<LogConfig>,
    /// `--link NAME[:ALIAS]`: as given on create; inspect shows Docker's "/NAME:/ME/ALIAS".
    pub links: Option<Vec<String>>,
    /// `--sysctl NAME=VALUE`: namespaced kernel parameters set in the container.
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `--device HOST[:CONTAINER[:PERMISSIONS]]`: host device nodes made in the container.
    pub devices: Option<Vec<DeviceMapping>>,
    /// `--shm-size`: bytes of the container's /dev/shm (0: Docker's 64 MiB).
    pub shm_size: i64,
    /// `--cgroup-parent`: the cgroup the container's cgroup is made under.
    #[serde(deserialize_with = "null_as_default")]
    pub cgroup_parent: String,
    /// `--memory-reservation`: the soft memory limit, in bytes.
    pub memory_reservation: i64,
    /// `--oom-score-adj`: -1000..1000 (0 leaves the kernel's default).
    pub oom_score_adj: i64,
    /// `--oom-kill-disable`
    pub oom_kill_disable: Option<bool>,
}

/// Docker's `HostConfig.Devices[]`: a host device node and where it appears in the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    /// A subset of "rwm".
    pub cgroup_permissions: String,
}

/// Docker's `HostConfig.LogConfig`: the log driver (`Type`) and its options (`Config`; clients
/// send `null` for none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub config: BTreeMap<String, String>,
}

/// One host side of a published port; empty HostIp = every address, empty HostPort = any free
/// port ("8000-8010": the first free one of the range).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

/// One `HostConfig.Mounts` entry, as Docker's API (and `--mount`) shapes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    /// "volume" (default), "bind" or "tmpfs".
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_copy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Bytes; 0 = the kernel's default (half of RAM).
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// Permission bits of the tmpfs root (0 = 1777).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// "", "no", "always", "unless-stopped", "on-failure"
    pub name: String,
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// `docker update` (`POST /containers/{id}/update`): Docker's Resources fields and the restart
/// policy. A zero (or absent) limit leaves the container's as it is; a policy with no name too.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateRequest {
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    /// Set: the new limit; <= 0 is unlimited.
    pub pids_limit: Option<i64>,
    pub restart_policy: Option<RestartPolicy>,
    /// `--cpuset-cpus`, `--cpuset-mems`: non-empty ones replace the container's.
    #[serde(deserialize_with = "null_as_default")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "null_as_default")]
    pub cpuset_mems: String,
}

/// `POST /containers/create`: Config with HostConfig inside.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRequest {
    #[serde(flatten)]
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub networking_config: NetworkingConfig,
}

/// Docker's `NetworkingConfig`: per-network endpoint settings (`--ip`, `--network-alias`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpamConfig>,
    pub aliases: Option<Vec<String>>,
    /// This endpoint's MAC address (API 1.44+; older clients set Config.MacAddress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Links on this network ("NAME:ALIAS"): the alias resolves through the embedded DNS.
    pub links: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointIpamConfig {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address", skip_serializing_if = "String::is_empty")]
    pub ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", skip_serializing_if = "Option::is_none")]
    pub link_local_ips: Option<Vec<String>>,
}

/// Container states, with Docker's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Exited => "exited",
            State::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "running" => State::Running,
            "paused" => State::Paused,
            "restarting" => State::Restarting,
            "exited" => State::Exited,
            "dead" => State::Dead,
            _ => State::Created,
        }
    }

    /// A shim is (supposed to be) alive in these states.
    pub fn has_shim(self) -> bool {
        matches!(self, State::Running | State::Paused | State::Restarting)
    }
}
