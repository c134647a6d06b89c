//! `docker image inspect`: Docker's `ImageInspect`, the part of it berth fills in.

use std::collections::BTreeMap;

use serde::Serialize;

/// Docker's image inspect document.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub architecture: String,
    pub author: String,
    /// The image config's `comment`, whatever JSON it holds ("" without one).
    pub comment: serde_json::Value,
    pub config: ImageInspectConfig,
    /// Docker's API before 1.45 also carried the (build) container's config; compose 1.29 reads
    /// its Volumes. The same as `Config`.
    pub container_config: ImageInspectConfig,
    pub created: String,
    pub docker_version: String,
    pub graph_driver: ImageGraphDriver,
    pub id: String,
    pub metadata: ImageMetadata,
    pub os: String,
    pub parent: String,
    pub repo_digests: Vec<String>,
    pub repo_tags: Vec<String>,
    #[serde(rename = "RootFS")]
    pub root_fs: ImageRootFs,
    pub size: u64,
    /// The container a `commit` made the image from ("" for other images), as dockerd's API
    /// before 1.45 shows it.
    pub container: String,
}

/// The image's runtime defaults, in the shape of a container's `Config`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspectConfig {
    pub attach_stderr: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub cmd: Option<Vec<String>>,
    pub domainname: String,
    pub entrypoint: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// Shown only when the image sets one (a Dockerfile's HEALTHCHECK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    pub hostname: String,
    pub image: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub on_build: Option<Vec<String>>,
    pub open_stdin: bool,
    /// Shown only when the image sets one (a Dockerfile's SHELL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    pub stdin_once: bool,
    pub stop_signal: Option<String>,
    pub tty: bool,
    pub user: String,
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    pub working_dir: String,
}

/// Docker's `GraphDriver` for an image: the driver's name, no data.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageGraphDriver {
    pub data: Option<BTreeMap<String, String>>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// The image's layers, by diff id.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRootFs {
    pub layers: Vec<String>,
    #[serde(rename = "Type")]
    pub kind: String,
}
