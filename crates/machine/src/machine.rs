//! One machine as every verb and driver sees it: its config and where its files are.

use std::path::PathBuf;

use crate::config::MachineConfig;
use crate::paths::MachinePaths;

#[derive(Debug, Clone)]
pub struct Machine {
    pub config: MachineConfig,
    pub paths: MachinePaths,
}

impl Machine {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn certs_dir(&self) -> PathBuf {
        self.paths.certs()
    }
}
