//! The daemon's configuration file, Docker's `daemon.json`: `$BERTH_ROOT/daemon.json` when it
//! exists, else `/etc/berth/daemon.json`. Read on each use (it is small), so an edit applies to
//! the next pull without restarting `berth serve`. Keys berth does not use are ignored.

use std::path::{Path, PathBuf};

use berth_registry::RegistryConfig;
use serde::Deserialize;

use crate::{Engine, Error};

/// The system-wide file, read when the state root has none.
pub const SYSTEM_FILE: &str = "/etc/berth/daemon.json";

/// What berth reads of daemon.json.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonConfig {
    /// The file it came from (None: no file, the defaults).
    pub path: Option<PathBuf>,
    pub registry: RegistryConfig,
}

/// daemon.json's keys, as Docker spells them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DaemonFile {
    #[serde(rename = "registry-mirrors")]
    registry_mirrors: Vec<String>,
    #[serde(rename = "insecure-registries")]
    insecure_registries: Vec<String>,
}

/// A daemon.json that cannot be read or parsed: its path, and where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unable to configure berth with file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Where (line and column, from 1) and why, as serde found it.
    #[error("unable to configure berth with file {path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("unable to configure berth with file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads the daemon.json that applies to `root`; the defaults when there is none.
pub fn load(root: &Path) -> Result<DaemonConfig, ConfigError> {
    let own = root.join("daemon.json");
    let path = if own.exists() {
        own
    } else if Path::new(SYSTEM_FILE).exists() {
        PathBuf::from(SYSTEM_FILE)
    } else {
        return Ok(DaemonConfig::default());
    };
    let shown = path.display().to_string();
    let text = std::fs::read(&path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let file: DaemonFile = serde_json::from_slice(&text).map_err(|source| {
        // serde's text ends with its own " at line L column C": said once, up front.
        let text = source.to_string();
        let message = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(message, _)| message)
            .to_string();
        ConfigError::Parse {
            path: shown.clone(),
            line: source.line(),
            column: source.column(),
            message,
            source,
        }
    })?;
    for mirror in &file.registry_mirrors {
        if !(mirror.starts_with("http://") || mirror.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                path: shown,
                message: format!("invalid mirror: unsupported scheme {mirror:?} in {mirror:?}"),
            });
        }
    }
    Ok(DaemonConfig {
        path: Some(path),
        registry: RegistryConfig {
            mirrors: file.registry_mirrors,
            insecure: file.insecure_registries,
        },
    })
}

impl Engine {
    /// The daemon.json that applies to this engine's state root.
    pub fn daemon_config(&self) -> Result<DaemonConfig, Error> {
        Ok(load(&self.root)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_docker_spells_them_and_errors_that_say_where() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("daemon.json"),
            r#"{"registry-mirrors": ["http://127.0.0.1:5000"], "insecure-registries": ["10.0.0.0/8"], "debug": true}"#,
        )
        .unwrap();
        let config = load(dir.path()).unwrap();
        assert_eq!(config.registry.mirrors, ["http://127.0.0.1:5000"]);
        assert_eq!(config.registry.insecure, ["10.0.0.0/8"]);
        std::fs::write(dir.path().join("daemon.json"), "{\n  \"debug\": true,\n}").unwrap();
        let message = load(dir.path()).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "unable to configure berth with file {}:3:1: trailing comma",
                dir.path().join("daemon.json").display()
            )
        );
    }
}
