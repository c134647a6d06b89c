//! `docker volume inspect`: Docker's `Volume` (also each entry of `GET /volumes`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// Docker's volume document. Labels and options are `null` when there are none, as Docker's.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeInspect {
    pub created_at: String,
    pub driver: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub mountpoint: PathBuf,
    pub name: String,
    pub options: Option<BTreeMap<String, String>>,
    pub scope: String,
}
