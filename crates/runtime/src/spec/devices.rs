//! Device nodes and cgroup device rules: Docker's defaults, and every host device for
//! `--privileged`.

use std::collections::HashSet;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::SpecError;

pub(super) fn dev_rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// The device cgroup rules of a non-privileged container: moby's `DefaultLinuxSpec` list (deny
/// all; allow zero, null, urandom, random, tty, console; deny fuse), followed by the rules every
/// OCI runtime appends on its own (runc's and youki's built-in allow list: mknod of any device,
/// full, /dev/pts/*, ptmx, and tun/tap, which runc re-added in 1.2.4 and youki always adds).
/// Writing them out keeps embedded and external runtimes identical.
pub(super) fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    use LinuxDeviceType::{A, B, C};
    Ok(vec![
        dev_rule(false, A, None, None, "rwm")?,
        dev_rule(true, C, Some(1), Some(5), "rwm")?,
        dev_rule(true, C, Some(1), Some(3), "rwm")?,
        dev_rule(true, C, Some(1), Some(9), "rwm")?,
        dev_rule(true, C, Some(1), Some(8), "rwm")?,
        dev_rule(true, C, Some(5), Some(0), "rwm")?,
        dev_rule(true, C, Some(5), Some(1), "rwm")?,
        dev_rule(false, C, Some(10), Some(229), "rwm")?,
        dev_rule(true, C, None, None, "m")?,
        dev_rule(true, B, None, None, "m")?,
        dev_rule(true, C, Some(1), Some(7), "rwm")?,
        dev_rule(true, C, Some(136), None, "rwm")?,
        dev_rule(true, C, Some(5), Some(2), "rwm")?,
        dev_rule(true, C, Some(10), Some(200), "rwm")?,
    ])
}

/// Device nodes every container gets: null, zero, full, random, urandom, tty (root-owned, 0666).
fn default_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .iter()
    .map(|(path, major, minor)| {
        Ok(LinuxDeviceBuilder::default()
            .path(*path)
            .typ(LinuxDeviceType::C)
            .major(*major)
            .minor(*minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()?)
    })
    .collect()
}

/// Every device node under `dir` (what `--privileged` exposes), as containerd's `HostDevices`
/// finds them: directories that are mounts of their own or runtime scratch (pts, shm, fd,
/// mqueue, .lxc, .lxd-mounts, .udev) and /dev/console are skipped, symlinks and fifos too.
fn host_devices(dir: &Path, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SpecError::HostDevices {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Lstat: a symlink is not a device.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            if matches!(
                name.as_str(),
                "pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev"
            ) {
                continue;
            }
            // A subdirectory we cannot read is skipped rather than failing the container.
            let _ = host_devices(&path, out);
            continue;
        }
        if dir == Path::new("/dev") && name == "console" {
            continue;
        }
        out.extend(device_node(path, &meta)?);
    }
    Ok(())
}

/// The node at `path` as the runtime makes it, if `meta` is a character or block device's.
fn device_node(path: PathBuf, meta: &std::fs::Metadata) -> Result<Option<LinuxDevice>, SpecError> {
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Ok(None);
    };
    let rdev = meta.rdev();
    Ok(Some(
        LinuxDeviceBuilder::default()
            .path(path)
            .typ(typ)
            .major(libc::major(rdev) as i64)
            .minor(libc::minor(rdev) as i64)
            .file_mode(meta.mode() & 0o7777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build()?,
    ))
}

/// One `--device HOST:CONTAINER:PERMISSIONS`: the host's node (or every node under a host
/// directory, as Docker does) made at the container path, with cgroup access `permissions`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDevice {
    pub host: PathBuf,
    pub container: PathBuf,
    /// A subset of "rwm".
    pub permissions: String,
}

impl UserDevice {
    /// Docker's `--device` with its defaults: an empty container path is the host's, empty
    /// permissions are "rwm".
    pub fn new(host: &str, container: &str, permissions: &str) -> UserDevice {
        UserDevice {
            host: PathBuf::from(host),
            container: PathBuf::from(if container.is_empty() {
                host
            } else {
                container
            }),
            permissions: if permissions.is_empty() {
                "rwm".to_string()
            } else {
                permissions.to_string()
            },
        }
    }
}

/// The host nodes of `device` and where each goes in the container.
fn nodes_of(device: &UserDevice) -> Result<Vec<(LinuxDevice, PathBuf)>, SpecError> {
    let failed = |reason: String| SpecError::Device {
        path: device.host.clone(),
        reason,
    };
    let meta = std::fs::metadata(&device.host).map_err(|e| failed(e.to_string()))?;
    let mut found = Vec::new();
    if meta.is_dir() {
        host_devices(&device.host, &mut found)?;
    } else {
        let node = device_node(device.host.clone(), &meta)?;
        found.push(node.ok_or_else(|| failed("not a device node".into()))?);
    }
    Ok(found
        .into_iter()
        .map(|d| {
            let inside = match d.path().strip_prefix(&device.host) {
                Ok(rest) if !rest.as_os_str().is_empty() => device.container.join(rest),
                _ => device.container.clone(),
            };
            (d, inside)
        })
        .collect())
}

/// The cgroup rules that let a container use its `--device`s (also kept by a live `update`).
pub fn user_device_rules(devices: &[UserDevice]) -> Result<Vec<super::DeviceRule>, SpecError> {
    let mut rules = Vec::new();
    for device in devices {
        for (node, _) in nodes_of(device)? {
            rules.push(super::DeviceRule {
                kind: if node.typ() == LinuxDeviceType::B {
                    'b'
                } else {
                    'c'
                },
                major: Some(node.major()),
                minor: Some(node.minor()),
                access: device.permissions.clone(),
            });
        }
    }
    Ok(rules)
}

pub(super) fn build_devices(
    privileged: bool,
    user: &[UserDevice],
) -> Result<Vec<LinuxDevice>, SpecError> {
    let mut devices = default_devices()?;
    for device in user {
        for (mut node, inside) in nodes_of(device)? {
            node.set_path(inside);
            devices.push(node);
        }
    }
    if privileged {
        let mut host = Vec::new();
        host_devices(Path::new("/dev"), &mut host)?;
        let mut paths: HashSet<PathBuf> = devices.iter().map(|d| d.path().clone()).collect();
        for d in host {
            if paths.insert(d.path().clone()) {
                devices.push(d);
            }
        }
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use crate::spec::build_spec;
    use crate::spec::test_support::*;

    #[test]
    fn default_devices_and_rules() {
        let spec = build_spec(&input()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let devs = linux.devices().as_ref().unwrap();
        let paths: Vec<_> = devs
            .iter()
            .map(|d| d.path().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            s(&[
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ])
        );
        assert!(
            devs.iter()
                .all(|d| d.file_mode() == Some(0o666) && d.uid() == Some(0))
        );
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        let text: Vec<String> = rules
            .iter()
            .map(|r| format!("{} {}", if r.allow() { "allow" } else { "deny" }, r))
            .collect();
        assert_eq!(text[0], "deny a *:* rwm");
        for want in [
            "allow c 1:3 rwm",
            "allow c 1:5 rwm",
            "allow c 1:7 rwm",
            "allow c 1:8 rwm",
            "allow c 1:9 rwm",
            "allow c 5:0 rwm",
            "allow c 5:1 rwm",
            "allow c 5:2 rwm",
            "allow c 136:* rwm",
            "allow c *:* m",
            "allow b *:* m",
            "deny c 10:229 rwm",
        ] {
            assert!(
                text.iter().any(|t| t == want),
                "missing rule {want}: {text:?}"
            );
        }
    }
}
