//! `--mount type=..,source=..,target=..,...`: the Docker CLI's CSV syntax, turned into the
//! API's `HostConfig.Mounts` entry; and `-v`, which is either an anonymous volume or a bind.
//! Only the syntax is checked here (unknown keys, bad values, options for another type); the
//! engine checks the meaning (missing source, relative paths).

use std::collections::BTreeMap;
use std::path::Path;

use super::memory::parse_memory;
use crate::types::{BindOptions, DriverConfig, MountSpec, TmpfsOptions, VolumeOptions};

/// What one `-v` value asks for, as Docker's CLI sorts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeFlag {
    /// `-v /path` (one part): an anonymous volume, for `Config.Volumes`.
    Anonymous(String),
    /// `-v SOURCE:TARGET[:OPTIONS]`: a `HostConfig.Binds` entry, a relative source ("./dir")
    /// made absolute against `cwd`.
    Bind(String),
}

/// Sorts one `-v` value; `cwd` is asked for only when the source is relative.
pub fn parse_volume<E>(
    value: &str,
    cwd: impl FnOnce() -> Result<std::path::PathBuf, E>,
) -> Result<VolumeFlag, String>
where
    E: std::fmt::Display,
{
    match value.split_once(':') {
        None if !value.is_empty() => Ok(VolumeFlag::Anonymous(value.to_string())),
        Some((source, rest))
            if source == "."
                || source == ".."
                || source.starts_with("./")
                || source.starts_with("../") =>
        {
            let cwd = cwd().map_err(|e| format!("resolving {source}: {e}"))?;
            Ok(VolumeFlag::Bind(format!(
                "{}:{rest}",
                Path::new(&cwd).join(source).display()
            )))
        }
        _ => Ok(VolumeFlag::Bind(value.to_string())),
    }
}

/// Parses one `--mount` value; errors are the reason part of Docker's message.
pub fn parse_mount(value: &str) -> Result<MountSpec, String> {
    let mut m = MountSpec::default();
    let mut bind = BindOptions::default();
    let mut volume = VolumeOptions::default();
    let mut tmpfs = TmpfsOptions::default();
    let (mut has_bind, mut has_volume, mut has_tmpfs) = (false, false, false);
    let mut labels = BTreeMap::new();
    let mut driver_options = BTreeMap::new();
    let mut driver = String::new();
    for field in value.split(',') {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let flag = |val: Option<&str>| -> Result<bool, String> {
            match val {
                None => Ok(true),
                Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
                Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
                Some(v) => Err(format!("invalid value for '{key}': {v}")),
            }
        };
        let bare_ok = matches!(
            key.as_str(),
            "readonly" | "ro" | "volume-nocopy" | "bind-nonrecursive"
        );
        if val.is_none() && !bare_ok {
            return Err(format!("invalid field '{field}' must be a key=value pair"));
        }
        let v = val.unwrap_or("");
        match key.as_str() {
            "type" => m.kind = v.to_string(),
            "source" | "src" => m.source = v.to_string(),
            "target" | "dst" | "destination" => m.target = v.to_string(),
            "readonly" | "ro" => m.read_only = flag(val)?,
            "consistency" => {}
            "bind-propagation" => {
                has_bind = true;
                bind.propagation = v.to_string();
            }
            "bind-nonrecursive" => {
                has_bind = true;
                bind.non_recursive = flag(val)?;
            }
            "volume-nocopy" => {
                has_volume = true;
                volume.no_copy = flag(val)?;
            }
            "volume-label" => {
                has_volume = true;
                let (k, lv) = v.split_once('=').unwrap_or((v, ""));
                labels.insert(k.to_string(), lv.to_string());
            }
            "volume-driver" => {
                has_volume = true;
                driver = v.to_string();
            }
            "volume-opt" => {
                has_volume = true;
                let (k, ov) = v
                    .split_once('=')
                    .ok_or_else(|| format!("invalid value for {key}: {v}"))?;
                driver_options.insert(k.to_string(), ov.to_string());
            }
            "tmpfs-size" => {
                has_tmpfs = true;
                tmpfs.size_bytes =
                    parse_memory(v).map_err(|_| format!("invalid value for {key}: {v}"))?;
            }
            "tmpfs-mode" => {
                has_tmpfs = true;
                tmpfs.mode = u32::from_str_radix(v, 8)
                    .map_err(|_| format!("invalid value for {key}: {v}"))?;
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.kind.is_empty() {
        m.kind = "volume".into();
    }
    let mix = |what: &str| {
        Err(format!(
            "cannot mix '{what}-*' options with mount type '{}'",
            m.kind
        ))
    };
    if has_bind && m.kind != "bind" {
        return mix("bind");
    }
    if has_volume && m.kind != "volume" {
        return mix("volume");
    }
    if has_tmpfs && m.kind != "tmpfs" {
        return mix("tmpfs");
    }
    if has_bind {
        m.bind_options = Some(bind);
    }
    if has_volume {
        volume.labels = (!labels.is_empty()).then_some(labels);
        if !driver.is_empty() || !driver_options.is_empty() {
            volume.driver_config = Some(DriverConfig {
                name: driver,
                options: (!driver_options.is_empty()).then_some(driver_options),
            });
        }
        m.volume_options = Some(volume);
    }
    if has_tmpfs {
        m.tmpfs_options = Some(tmpfs);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_csv_follows_docker() {
        let m =
            parse_mount("type=bind,source=/a,target=/b,readonly,bind-propagation=rshared").unwrap();
        assert_eq!(
            (
                m.kind.as_str(),
                m.source.as_str(),
                m.target.as_str(),
                m.read_only
            ),
            ("bind", "/a", "/b", true)
        );
        assert_eq!(m.bind_options.unwrap().propagation, "rshared");
        let m =
            parse_mount("src=v1,dst=/data,volume-nocopy,volume-opt=type=tmpfs,volume-label=a=b")
                .unwrap();
        assert_eq!(m.kind, "volume");
        let vo = m.volume_options.unwrap();
        assert!(vo.no_copy);
        assert_eq!(vo.driver_config.unwrap().options.unwrap()["type"], "tmpfs");
        let m = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            m.tmpfs_options,
            Some(TmpfsOptions {
                size_bytes: 1 << 20,
                mode: 0o1770
            })
        );
        assert_eq!(
            parse_mount("type=bind,foo=bar").unwrap_err(),
            "unexpected key 'foo' in 'foo=bar'"
        );
        assert_eq!(
            parse_mount("type=bind,target").unwrap_err(),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            parse_mount("type=volume,bind-propagation=shared").unwrap_err(),
            "cannot mix 'bind-*' options with mount type 'volume'"
        );
    }

    #[test]
    fn volume_flags_are_anonymous_or_binds() {
        let cwd = || Ok::<_, String>(std::path::PathBuf::from("/home/u"));
        assert_eq!(
            parse_volume("/data", cwd),
            Ok(VolumeFlag::Anonymous("/data".into()))
        );
        assert_eq!(
            parse_volume("./src:/src:ro", cwd),
            Ok(VolumeFlag::Bind("/home/u/./src:/src:ro".into()))
        );
        assert_eq!(
            parse_volume("v1:/data", cwd),
            Ok(VolumeFlag::Bind("v1:/data".into()))
        );
        assert_eq!(
            parse_volume("../x:/x", || Err("gone")),
            Err("resolving ../x: gone".into())
        );
    }
}
