//! The namespace modes (`--pid`, `--ipc`, `--uts`, `--cgroupns`, `--userns`), device cgroup
//! rules (`--device-cgroup-rule`) and cpu/memory-node lists (`--cpuset-cpus`, `--cpuset-mems`),
//! with Docker's rules for what is valid and its words for what is not.

use std::collections::BTreeSet;

/// Which namespace a mode is for; each kind accepts its own modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    Pid,
    Ipc,
    Uts,
    Cgroup,
    User,
}

impl NamespaceKind {
    /// The docker CLI's refusal of an invalid mode of this kind ("--ipc: invalid IPC mode").
    pub fn invalid_mode(self) -> &'static str {
        match self {
            NamespaceKind::Pid => "--pid: invalid PID mode",
            NamespaceKind::Ipc => "--ipc: invalid IPC mode",
            NamespaceKind::Uts => "--uts: invalid UTS mode",
            NamespaceKind::Cgroup => "--cgroupns: invalid CGROUP mode",
            NamespaceKind::User => "--userns: invalid USER mode",
        }
    }

    /// The daemon's refusal of an invalid mode in a create request ("invalid IPC mode: x").
    pub fn invalid_mode_value(self, value: &str) -> String {
        let what = match self {
            NamespaceKind::Pid => "PID",
            NamespaceKind::Ipc => "IPC",
            NamespaceKind::Uts => "UTS",
            NamespaceKind::Cgroup => "cgroup namespace",
            NamespaceKind::User => "USER",
        };
        format!("invalid {what} mode: {value}")
    }
}

/// A namespace mode, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMode {
    /// "" (the default of the kind).
    Default,
    /// A new namespace of the container's own ("private"; IPC's "shareable" and "none" too).
    Private,
    /// IPC only: private, with a /dev/shm other containers may join.
    Shareable,
    /// IPC only: private, with no /dev/shm at all.
    None,
    /// The host's namespace.
    Host,
    /// `container:NAME`: another container's namespace.
    Container(String),
}

/// Reads a mode of `kind` as Docker validates it; `None` when Docker refuses it.
pub fn parse_namespace_mode(kind: NamespaceKind, value: &str) -> Option<NamespaceMode> {
    use NamespaceKind::*;
    let mode = match (kind, value) {
        (_, "") => NamespaceMode::Default,
        (_, "host") => NamespaceMode::Host,
        (Ipc | Cgroup, "private") => NamespaceMode::Private,
        (Ipc, "shareable") => NamespaceMode::Shareable,
        (Ipc, "none") => NamespaceMode::None,
        (Pid | Ipc, other) => {
            let name = other.strip_prefix("container:")?;
            if name.is_empty() || name.contains(':') {
                return None;
            }
            NamespaceMode::Container(name.to_string())
        }
        _ => return None,
    };
    Some(mode)
}

/// One `--device-cgroup-rule`: `TYPE MAJOR:MINOR ACCESS`, `*` for any number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCgroupRule {
    /// 'a', 'b' or 'c'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Some of "rwm", in the user's order.
    pub access: String,
}

/// Reads a device cgroup rule as the docker CLI's `^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`.
pub fn parse_device_cgroup_rule(rule: &str) -> Result<DeviceCgroupRule, String> {
    let bad = || format!("invalid device cgroup format '{rule}'");
    let mut parts = rule.split(' ');
    let (Some(kind), Some(numbers), Some(access), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let kind = match kind {
        "a" | "b" | "c" => kind.chars().next().unwrap_or('a'),
        _ => return Err(bad()),
    };
    let number = |n: &str| -> Result<Option<i64>, String> {
        if n == "*" {
            return Ok(None);
        }
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        n.parse().map(Some).map_err(|_| bad())
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let (major, minor) = (number(major)?, number(minor)?);
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(DeviceCgroupRule {
        kind,
        major,
        minor,
        access: access.to_string(),
    })
}

/// Reads a cpu or memory-node list ("0-2,4") as Go's `parsers.ParseUintList`; `None` when
/// malformed.
pub fn parse_cpuset(list: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    if list.is_empty() {
        return Some(set);
    }
    for part in list.split(',') {
        match part.split_once('-') {
            Some((low, high)) => {
                let (low, high): (u32, u32) = (low.parse().ok()?, high.parse().ok()?);
                if high < low {
                    return None;
                }
                set.extend(low..=high);
            }
            None => {
                set.insert(part.parse().ok()?);
            }
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_valid_per_kind_as_docker_says() {
        use NamespaceKind::*;
        assert_eq!(
            parse_namespace_mode(Ipc, "shareable"),
            Some(NamespaceMode::Shareable)
        );
        assert_eq!(
            parse_namespace_mode(Pid, "container:db"),
            Some(NamespaceMode::Container("db".into()))
        );
        assert_eq!(parse_namespace_mode(Pid, "container:"), None);
        assert_eq!(parse_namespace_mode(Pid, "private"), None);
        assert_eq!(parse_namespace_mode(Uts, "container:x"), None);
        assert_eq!(
            parse_namespace_mode(Cgroup, "private"),
            Some(NamespaceMode::Private)
        );
        assert_eq!(
            parse_namespace_mode(User, "host"),
            Some(NamespaceMode::Host)
        );
        assert_eq!(parse_namespace_mode(User, "private"), None);
        assert_eq!(parse_namespace_mode(Ipc, ""), Some(NamespaceMode::Default));
    }

    #[test]
    fn device_rules_and_cpusets_parse() {
        assert_eq!(
            parse_device_cgroup_rule("c 1:3 rwm").unwrap(),
            DeviceCgroupRule {
                kind: 'c',
                major: Some(1),
                minor: Some(3),
                access: "rwm".into()
            }
        );
        let any = parse_device_cgroup_rule("b *:* r").unwrap();
        assert_eq!((any.major, any.minor), (None, None));
        for bad in [
            "c 1:3",
            "x 1:3 rwm",
            "c 1:3 rwx",
            "c 1-3 r",
            "c a:3 r",
            "c 1:3 rwmr",
        ] {
            assert_eq!(
                parse_device_cgroup_rule(bad).unwrap_err(),
                format!("invalid device cgroup format '{bad}'")
            );
        }
        assert_eq!(
            parse_cpuset("0-2,4")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [0, 1, 2, 4]
        );
        assert!(parse_cpuset("2-1").is_none());
        assert!(parse_cpuset("a").is_none());
        assert!(parse_cpuset("1,").is_none());
    }
}
