//! Docker's inspect documents as types: what `docker inspect` prints and `GET
//! /containers/{id}/json` (and friends) return. The engine fills them in; the front ends
//! serialize them.
//!
//! Fields are declared in the order Docker's clients have always seen them from berth: sorted
//! by their JSON name. Front ends print a document through [`to_document`], a
//! `serde_json::Value` whose maps are sorted, so nested settings (`HostConfig`, `Config`) come
//! out in the same order too.

mod container;
mod image;
mod mount;
mod network;
mod network_settings;
mod volume;

pub use container::{ContainerInspect, ContainerState, GraphDriver, GraphDriverData, LogConfig};
pub use image::{ImageGraphDriver, ImageInspect, ImageInspectConfig, ImageMetadata, ImageRootFs};
pub use mount::MountPoint;
pub use network::{IpamPool, NetworkConfigFrom, NetworkInspect, NetworkIpam, NetworkMember};
pub use network_settings::{
    ContainerEndpoint, NetworkSettings, PortSummary, SummaryNetworkSettings,
};
pub use volume::VolumeInspect;

/// An inspect document as the JSON a client reads (keys sorted at every level).
pub fn to_document<T: serde::Serialize>(doc: &T) -> serde_json::Value {
    // These types serialize to JSON by construction (string keys, no failing serializer).
    serde_json::to_value(doc).unwrap_or_default()
}

#[cfg(test)]
mod tests;
