//! The records the state store reads and writes: plain data, one struct per kind of row. They
//! live here, below every domain module, so that the store never imports the modules that
//! call it; those re-export them under their old names (`containers::ContainerRecord`,
//! `volumes::Volume`, `networks::NetworkRecord`, `events::Event`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::types::{CreateRequest, EndpointIpamConfig, Health, State};

/// One container: its settings and the state its shim (or a remover) keeps.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image reference as the user gave it.
    pub image: String,
    pub image_id: String,
    pub created: String,
    pub config: CreateRequest,
    pub state: State,
    /// The container's init process (0 when not running).
    pub pid: i32,
    pub shim_pid: i32,
    /// The shim's start time in clock ticks since boot, to tell a reused pid from the shim.
    pub shim_start: u64,
    pub exit_code: i64,
    pub started_at: String,
    pub finished_at: String,
    pub error: String,
    pub restart_count: i64,
    pub manually_stopped: bool,
    pub oom_killed: bool,
    /// `State.Health` of a container with a health check, once its shim started probing.
    pub health: Option<Health>,
}

impl ContainerRecord {
    /// The record of a container just created from `config`: no name yet, never started.
    pub(crate) fn created(
        id: String,
        image_id: String,
        created: String,
        config: CreateRequest,
    ) -> ContainerRecord {
        ContainerRecord {
            id,
            name: String::new(),
            image: config.config.image.clone(),
            image_id,
            created,
            config,
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
        }
    }
}

/// One volume.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    /// RFC 3339.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    /// The local driver's `-o` options: type, device, o.
    pub options: BTreeMap<String, String>,
    /// Made for a container (`-v /path`, an image VOLUME), not by name.
    pub anonymous: bool,
}

/// One of a container's mounts as stored: the mount's own description is opaque to the
/// store (`spec`, the mounts module's JSON); the store only knows which volume it uses.
#[derive(Debug, Clone)]
pub struct MountRow {
    pub destination: String,
    /// The volume the mount uses, to be created with the container when missing (None for
    /// binds and tmpfs).
    pub volume: Option<Volume>,
    pub spec: String,
}

/// What [`VolumeStore::mark_volume_removing_if_unused`](super::VolumeStore) found.
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeRemoval {
    /// No live volume by that name.
    Missing,
    /// Containers (their ids) still mount it; nothing changed.
    InUse(Vec<String>),
    /// Marked `removing`: no container can mount it from now on.
    Marked,
}

/// One network.
#[derive(Debug, Clone)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub ip_range: Option<Ipv4Net>,
    pub internal: bool,
    /// The network's host interface (a bridge's name).
    pub bridge: String,
    pub labels: BTreeMap<String, String>,
    pub created: String,
    /// What `network create` set beyond the IPv4 pool.
    pub extra: NetworkExtra,
}

/// A network's settings beyond its IPv4 pool (one JSON column): driver and IPAM options,
/// reserved addresses, the IPv6 pool of a dual-stack network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkExtra {
    /// Driver options as given (`-o`, `Options`): shown by inspect, honoured by the driver.
    pub options: BTreeMap<String, String>,
    /// IPAM options as given (`--ipam-opt`, `IPAM.Options`): shown by inspect.
    pub ipam_options: BTreeMap<String, String>,
    /// `--aux-address NAME=IP`: reserved, never leased.
    pub aux_addresses: BTreeMap<String, String>,
    /// The IPv6 pool (`--ipv6`).
    pub ipv6: Option<Ipv6Pool>,
    /// The IPv4 subnet was picked from the default pools, not given (no `--ip` then).
    pub auto_subnet: bool,
}

/// The IPv6 pool of a dual-stack network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ipv6Pool {
    pub subnet: Ipv6Net,
    pub gateway: Ipv6Addr,
    pub ip_range: Option<Ipv6Net>,
}

/// A container's lease in one network.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub network_id: String,
    pub container_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub aliases: Vec<String>,
    /// The IPv6 address on a dual-stack network.
    pub ip6: Option<Ipv6Addr>,
    /// What the container asked for on this network (`--ip`, `--ip6`, `--link-local-ip`),
    /// echoed by inspect.
    pub ipam_config: Option<EndpointIpamConfig>,
}

/// What [`NetworkStore::mark_network_removing_if_unused`](super::NetworkStore) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkRemoval {
    /// Not there, or already being removed.
    Missing,
    /// Containers still hold leases in it; nothing changed.
    InUse,
    /// Marked `removing`: no lease is taken in it from now on.
    Marked,
}

/// One published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRow {
    pub protocol: String,
    pub container_port: u16,
    /// "" for every address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_ip: String,
    pub bridge: String,
    /// The container's IPv6 address ("" on an IPv4-only network): published on IPv6 too.
    pub container_ip6: String,
}

/// One logged event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The cursor: strictly increasing.
    pub seq: i64,
    pub time_nano: i64,
    /// container, image, network or volume.
    pub kind: String,
    pub action: String,
    pub actor_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// A created container with default settings, for tests.
#[cfg(test)]
pub(crate) fn test_container(id: &str, name: &str) -> ContainerRecord {
    let mut rec = ContainerRecord::created(
        id.into(),
        "sha256:i".into(),
        "2026-01-01T00:00:00Z".into(),
        CreateRequest::default(),
    );
    rec.name = name.into();
    rec.image = "busybox".into();
    rec
}
