//! A container's log driver and its options (`--log-driver`, `--log-opt`,
//! `HostConfig.LogConfig`), checked at create time as dockerd checks them, and what each driver
//! means for the file berth keeps: its own (`json-file`, `local`), a local cache beside a remote
//! one (`syslog`, `journald`: Docker's "dual logging"), or none at all (`none`).

use std::collections::BTreeMap;

use berth_model::types::LogConfig;

use crate::Error;

/// The driver a container gets when it names none (dockerd's default `log-driver`).
pub const DEFAULT_DRIVER: &str = "json-file";

/// The log drivers berth has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    JsonFile,
    Local,
    None,
    Syslog,
    Journald,
}

impl Driver {
    fn from_name(name: &str) -> Option<Driver> {
        Some(match name {
            "" | "json-file" => Driver::JsonFile,
            "local" => Driver::Local,
            "none" => Driver::None,
            "syslog" => Driver::Syslog,
            "journald" => Driver::Journald,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Driver::JsonFile => "json-file",
            Driver::Local => "local",
            Driver::None => "none",
            Driver::Syslog => "syslog",
            Driver::Journald => "journald",
        }
    }

    /// The options the driver itself takes (dockerd's per-driver validators).
    fn own_options(self) -> &'static [&'static str] {
        const ATTRIBUTES: [&str; 4] = ["labels", "labels-regex", "env", "env-regex"];
        match self {
            Driver::JsonFile => &[
                "max-file",
                "max-size",
                "compress",
                "tag",
                ATTRIBUTES[0],
                ATTRIBUTES[1],
                ATTRIBUTES[2],
                ATTRIBUTES[3],
            ],
            Driver::Local => &["max-file", "max-size", "compress"],
            Driver::None => &[],
            Driver::Syslog => &[
                "syslog-address",
                "syslog-facility",
                "syslog-format",
                "syslog-tls-ca-cert",
                "syslog-tls-cert",
                "syslog-tls-key",
                "syslog-tls-skip-verify",
                "tag",
                ATTRIBUTES[0],
                ATTRIBUTES[1],
                ATTRIBUTES[2],
                ATTRIBUTES[3],
            ],
            Driver::Journald => &[
                "tag",
                ATTRIBUTES[0],
                ATTRIBUTES[1],
                ATTRIBUTES[2],
                ATTRIBUTES[3],
            ],
        }
    }

    /// Drivers that send the log elsewhere and keep a local cache for `logs` (Docker 20.10's
    /// dual logging).
    fn is_remote(self) -> bool {
        matches!(self, Driver::Syslog | Driver::Journald)
    }
}

/// Options every driver accepts (dockerd checks them before the driver's own).
const COMMON_OPTIONS: [&str; 2] = ["mode", "max-buffer-size"];
/// The dual-logging cache's options, for the remote drivers.
const CACHE_OPTIONS: [&str; 4] = [
    "cache-disabled",
    "cache-max-size",
    "cache-max-file",
    "cache-compress",
];

/// How a kept log file rotates: never when `max_size` is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Bytes after which the file rotates; 0: never.
    pub max_size: u64,
    /// How many files in all, the live one included (at least 1).
    pub max_files: u32,
    /// Whether rotated files are gzip-compressed.
    pub compress: bool,
}

impl Rotation {
    /// `local`'s defaults and the dual-logging cache's: 20 MB, 5 files, compressed.
    const LOCAL: Rotation = Rotation {
        max_size: 20 * 1024 * 1024,
        max_files: 5,
        compress: true,
    };
    /// `json-file`'s defaults: one file that grows without bound.
    const JSON_FILE: Rotation = Rotation {
        max_size: 0,
        max_files: 1,
        compress: false,
    };
}

/// A container's checked log settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSettings {
    pub driver: Driver,
    pub options: BTreeMap<String, String>,
}

impl LogSettings {
    /// Checks a container's `LogConfig` as dockerd does at create time: an unknown driver, an
    /// option the driver does not take, or a bad value is an invalid argument (400, exit 125).
    pub fn from_config(config: Option<&LogConfig>) -> Result<LogSettings, Error> {
        let empty = LogConfig::default();
        let config = config.unwrap_or(&empty);
        let driver = Driver::from_name(&config.kind).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "logger: no log driver named '{}' is registered",
                config.kind
            ))
        })?;
        let settings = LogSettings {
            driver,
            options: config.config.clone(),
        };
        if driver == Driver::None {
            // dockerd takes any option for `none`: nothing reads them.
            return Ok(settings);
        }
        match settings.option("mode") {
            None | Some("" | "blocking") => {
                if settings.option("max-buffer-size").is_some() {
                    return Err(Error::InvalidArgument(
                        "logger: max-buffer-size option is only supported with 'mode=non-blocking'"
                            .into(),
                    ));
                }
            }
            Some("non-blocking") => {}
            Some(other) => {
                return Err(Error::InvalidArgument(format!(
                    "logger: logging mode not supported: {other}"
                )));
            }
        }
        for key in settings.options.keys() {
            let known = COMMON_OPTIONS.contains(&key.as_str())
                || driver.own_options().contains(&key.as_str())
                || (driver.is_remote() && CACHE_OPTIONS.contains(&key.as_str()));
            if !known {
                return Err(Error::InvalidArgument(format!(
                    "unknown log opt '{key}' for {} log driver",
                    driver.name()
                )));
            }
        }
        settings.rotation()?;
        if driver == Driver::Syslog {
            super::syslog::Target::from_settings(&settings)?;
        }
        Ok(settings)
    }

    /// The settings a stored container runs with. Its config was checked when it was created;
    /// should it no longer read (written by another version), the default driver serves.
    pub fn of(config: Option<&LogConfig>) -> LogSettings {
        LogSettings::from_config(config).unwrap_or(LogSettings {
            driver: Driver::JsonFile,
            options: BTreeMap::new(),
        })
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// Whether berth keeps a file of the log that `logs` reads: the driver's own, or the
    /// remote drivers' cache unless `cache-disabled`.
    pub fn keeps_file(&self) -> bool {
        match self.driver {
            Driver::JsonFile | Driver::Local => true,
            Driver::None => false,
            Driver::Syslog | Driver::Journald => !self
                .option("cache-disabled")
                .is_some_and(|v| berth_model::grammar::parse_go_bool(v).unwrap_or(false)),
        }
    }

    /// How the kept file rotates.
    pub fn rotation(&self) -> Result<Rotation, Error> {
        let (defaults, prefix) = match self.driver {
            Driver::JsonFile => (Rotation::JSON_FILE, ""),
            Driver::Local | Driver::None => (Rotation::LOCAL, ""),
            Driver::Syslog | Driver::Journald => (Rotation::LOCAL, "cache-"),
        };
        let get = |name: &str| self.option(&format!("{prefix}{name}"));
        let mut rotation = defaults;
        if let Some(size) = get("max-size") {
            let bytes = berth_model::grammar::parse_memory(size).map_err(Error::InvalidArgument)?;
            rotation.max_size = bytes.max(0) as u64;
        }
        if let Some(files) = get("max-file") {
            let n: i64 = files.parse().map_err(|_| {
                Error::InvalidArgument(format!("invalid value for {prefix}max-file: {files}"))
            })?;
            if n < 1 {
                return Err(Error::InvalidArgument(format!(
                    "{prefix}max-file cannot be less than 1"
                )));
            }
            rotation.max_files = n as u32;
        }
        if let Some(compress) = get("compress") {
            rotation.compress = berth_model::grammar::parse_go_bool(compress).map_err(|_| {
                Error::InvalidArgument(format!("error reading {prefix}compress log option"))
            })?;
        }
        if rotation.max_files > 1 && rotation.max_size == 0 {
            return Err(Error::InvalidArgument(format!(
                "{prefix}max-file cannot be greater than 1 when {prefix}max-size is not set"
            )));
        }
        if rotation.compress && rotation.max_files < 2 {
            // json-file's default: compress means nothing with a single file.
            if get("compress").is_some() && self.driver == Driver::JsonFile {
                return Err(Error::InvalidArgument(
                    "compress cannot be true when max-file is less than 2".into(),
                ));
            }
            rotation.compress = false;
        }
        Ok(rotation)
    }

    /// Docker's `LogConfig` for inspect: the driver's name and the options as given.
    pub fn to_config(&self) -> LogConfig {
        LogConfig {
            kind: self.driver.name().to_string(),
            config: self.options.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str, options: &[(&str, &str)]) -> LogConfig {
        LogConfig {
            kind: kind.into(),
            config: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn refused(kind: &str, options: &[(&str, &str)]) -> String {
        LogSettings::from_config(Some(&config(kind, options)))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_drivers_and_options_are_refused_with_dockerds_words() {
        assert_eq!(
            refused("fluentdx", &[]),
            "logger: no log driver named 'fluentdx' is registered"
        );
        assert_eq!(
            refused("json-file", &[("syslog-address", "udp://x")]),
            "unknown log opt 'syslog-address' for json-file log driver"
        );
        assert_eq!(
            refused("local", &[("tag", "x")]),
            "unknown log opt 'tag' for local log driver"
        );
        assert_eq!(
            refused("json-file", &[("max-size", "ten")]),
            "invalid size: 'ten'"
        );
        assert_eq!(
            refused("json-file", &[("max-file", "0"), ("max-size", "1k")]),
            "max-file cannot be less than 1"
        );
        assert_eq!(
            refused("json-file", &[("mode", "sometimes")]),
            "logger: logging mode not supported: sometimes"
        );
        // `none` takes anything; the cache options only go with remote drivers.
        assert!(LogSettings::from_config(Some(&config("none", &[("x", "y")]))).is_ok());
        assert!(refused("json-file", &[("cache-disabled", "true")]).contains("cache-disabled"));
    }

    #[test]
    fn rotation_defaults_per_driver() {
        let json = LogSettings::from_config(None).unwrap();
        assert_eq!(json.driver, Driver::JsonFile);
        assert_eq!(json.rotation().unwrap(), Rotation::JSON_FILE);
        let sized = LogSettings::from_config(Some(&config(
            "json-file",
            &[("max-size", "10k"), ("max-file", "3")],
        )))
        .unwrap();
        assert_eq!(
            sized.rotation().unwrap(),
            Rotation {
                max_size: 10 * 1024,
                max_files: 3,
                compress: false
            }
        );
        let local = LogSettings::from_config(Some(&config("local", &[]))).unwrap();
        assert_eq!(local.rotation().unwrap(), Rotation::LOCAL);
        let syslog = LogSettings::from_config(Some(&config(
            "syslog",
            &[
                ("syslog-address", "udp://127.0.0.1:5514"),
                ("cache-disabled", "true"),
            ],
        )))
        .unwrap();
        assert!(!syslog.keeps_file());
        assert!(json.keeps_file() && local.keeps_file());
    }
}
