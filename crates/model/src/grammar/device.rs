//! `--device HOST[:CONTAINER][:PERMISSIONS]` as the docker CLI reads it.

use crate::types::DeviceMapping;

/// Whether `mode` is a non-empty set of r, w and m, each at most once.
fn is_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.len() <= 3
        && mode.chars().all(|c| "rwm".contains(c))
        && mode.chars().all(|c| mode.matches(c).count() == 1)
}

/// Reads a `--device` value: `/dev/x`, `/dev/x:/dev/y`, `/dev/x:rw`, `/dev/x:/dev/y:rw`.
pub fn parse_device(spec: &str) -> Result<DeviceMapping, String> {
    let parts: Vec<&str> = spec.splitn(4, ':').collect();
    let (host, mut inside, mut permissions) = (parts[0], "", "rwm");
    match parts.len() {
        1 => {}
        2 if is_device_mode(parts[1]) => permissions = parts[1],
        2 => inside = parts[1],
        3 if is_device_mode(parts[2]) => (inside, permissions) = (parts[1], parts[2]),
        3 => return Err(format!("invalid device mode: {}", parts[2])),
        _ => return Err(format!("invalid device specification: {spec}")),
    }
    if inside.is_empty() {
        inside = host;
    }
    if !inside.starts_with('/') {
        return Err(format!("bad format for path: {inside}"));
    }
    Ok(DeviceMapping {
        path_on_host: host.to_string(),
        path_in_container: inside.to_string(),
        cgroup_permissions: permissions.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let d = parse_device("/dev/fuse").unwrap();
        assert_eq!(
            (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
            ("/dev/fuse", "rwm")
        );
        let d = parse_device("/dev/zero:/dev/z:r").unwrap();
        assert_eq!(
            (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
            ("/dev/z", "r")
        );
        assert_eq!(
            parse_device("/dev/zero:rw").unwrap().cgroup_permissions,
            "rw"
        );
        assert_eq!(
            parse_device("/dev/zero:/dev/z:x").unwrap_err(),
            "invalid device mode: x"
        );
        assert_eq!(
            parse_device("/dev/zero:z").unwrap_err(),
            "bad format for path: z"
        );
        assert!(parse_device("a:b:c:d").is_err());
    }
}
