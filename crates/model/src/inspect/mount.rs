//! One entry of a container inspect document's `Mounts`: a volume, bind or tmpfs as mounted.

use serde::Serialize;

/// Docker's `MountPoint`. `Name` and `Driver` are a volume's only.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    pub destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub propagation: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub source: String,
    /// "volume", "bind" or "tmpfs".
    #[serde(rename = "Type")]
    pub kind: String,
}
