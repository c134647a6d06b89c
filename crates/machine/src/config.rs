//! A machine's `config.json`: what `create` chose and every later command reads.

use serde::{Deserialize, Serialize};

use crate::MachineError;
use crate::paths::{MachinePaths, write_atomic};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineConfig {
    pub name: String,
    /// The [`crate::MachineDriver`]'s name: "qemu".
    pub driver: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_bytes: u64,
    /// RFC 3339.
    pub created: String,
    /// The loopback port the engine's API is forwarded to (127.0.0.1:PORT -> guest 2376).
    pub api_port: u16,
    /// The user's guest kernel (`--kernel`); else the newest Debian kernel installed.
    #[serde(default)]
    pub kernel: Option<std::path::PathBuf>,
}

impl MachineConfig {
    pub fn load(paths: &MachinePaths) -> Result<MachineConfig, MachineError> {
        let path = paths.config();
        let bytes = std::fs::read(&path).map_err(MachineError::io("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|source| MachineError::Json {
            what: format!("reading {}", path.display()),
            source,
        })
    }

    pub fn save(&self, paths: &MachinePaths) -> Result<(), MachineError> {
        let path = paths.config();
        let bytes = serde_json::to_vec_pretty(self).expect("the config serializes");
        write_atomic(&path, &bytes, 0o644).map_err(MachineError::io("writing", &path))
    }
}
