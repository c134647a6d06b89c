//! Linux capabilities as Docker spells and combines them: the names, Docker's default set, and
//! `--cap-add`/`--cap-drop` arithmetic against what this process can hand on.
//!
//! Owns the one capability-name normalizer ([`canonical_name`]): the spec and both seccomp
//! profiles (Docker's default and a user's) read names through it. Lives below [`crate::spec`]
//! and [`crate::seccomp`], which both need it.

use std::collections::HashSet;
use std::sync::OnceLock;

use oci_spec::runtime::Capability;

/// A capability name that is unknown, or that this process cannot give to a container.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    #[error("unknown capability {0:?} (expected a name such as NET_ADMIN, CAP_NET_ADMIN or ALL)")]
    Unknown(String),
    #[error("--cap-add {cap}: {reason}")]
    NotGrantable { cap: String, reason: String },
}

/// Capability names indexed by their number (linux/capability.h), 0 ..= 40.
pub(crate) const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set (moby `oci/caps.DefaultCapabilities`), in Docker's order.
pub fn default_capabilities() -> Vec<String> {
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub(crate) fn cap_number(name: &str) -> Option<usize> {
    CAP_NAMES.iter().position(|c| *c == name)
}

/// The highest capability number the running kernel knows.
fn kernel_last_cap() -> usize {
    static LAST: OnceLock<usize> = OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(CAP_NAMES.len() - 1)
    })
}

/// The calling process's capability bounding set (a bit per capability number). A container can
/// never hold a capability outside it: libcontainer would fail at start with EPERM.
fn own_bounding_set() -> u64 {
    static BND: OnceLock<u64> = OnceLock::new();
    *BND.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status.lines().find_map(|l| {
                    l.strip_prefix("CapBnd:")
                        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                })
            })
            .unwrap_or(u64::MAX)
    })
}

/// Why `cap` cannot be given to a container from this process, if it cannot.
pub(crate) fn not_grantable_reason(cap: &str) -> Option<String> {
    let n = cap_number(cap)?;
    if n > kernel_last_cap() {
        return Some(format!(
            "the running kernel does not support {cap} (its last capability is number {})",
            kernel_last_cap()
        ));
    }
    if own_bounding_set() & (1u64 << n) == 0 {
        return Some(format!(
            "this process does not hold {cap} in its bounding set, so it cannot give it to a container"
        ));
    }
    None
}

/// Every capability the kernel knows and this process can hand on, in number order: what
/// `--privileged` and `--cap-add ALL` mean. (On a normal root host that is all of them; on hosts
/// whose root lacks some capability, such as CAP_SYS_RESOURCE, those are left out rather than
/// failing the container's start.)
pub(crate) fn grantable_capabilities() -> Vec<String> {
    CAP_NAMES
        .iter()
        .filter(|c| not_grantable_reason(c).is_none())
        .map(|c| c.to_string())
        .collect()
}

/// `net_admin`, `NET_ADMIN`, `cap_net_admin` -> `CAP_NET_ADMIN`; `all` -> `ALL`. Any case,
/// surrounding blanks ignored; whether the name exists is not checked here.
pub fn canonical_name(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// [`canonical_name`], refusing a capability the kernel headers do not name.
fn known_name(name: &str) -> Result<String, CapabilityError> {
    let full = canonical_name(name);
    if full != "ALL" && cap_number(&full).is_none() {
        return Err(CapabilityError::Unknown(name.to_string()));
    }
    Ok(full)
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Docker's capability arithmetic (moby `caps.TweakCapabilities`):
/// privileged -> everything (add/drop ignored, as Docker does); `--cap-add ALL` -> everything but
/// the drops; `--cap-drop ALL` -> only the adds; otherwise defaults minus drops plus adds.
/// Names are accepted with or without `CAP_`, in any case. Returns "CAP_*" names.
pub fn resolve_capabilities(
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Vec<String>, CapabilityError> {
    if privileged {
        return Ok(grantable_capabilities());
    }
    let add = add
        .iter()
        .map(|c| known_name(c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop = drop
        .iter()
        .map(|c| known_name(c))
        .collect::<Result<Vec<_>, _>>()?;
    let check_add = |cap: &String| -> Result<(), CapabilityError> {
        match not_grantable_reason(cap) {
            Some(reason) => Err(CapabilityError::NotGrantable {
                cap: cap.clone(),
                reason,
            }),
            None => Ok(()),
        }
    };

    let mut caps = Vec::new();
    if add.iter().any(|c| c == "ALL") {
        for c in grantable_capabilities() {
            if !drop.contains(&c) {
                push_unique(&mut caps, c);
            }
        }
    } else if drop.iter().any(|c| c == "ALL") {
        for c in add {
            check_add(&c)?;
            push_unique(&mut caps, c);
        }
    } else {
        for c in default_capabilities() {
            // A default the host cannot grant is quietly left out, as with --privileged.
            if !drop.contains(&c) && not_grantable_reason(&c).is_none() {
                push_unique(&mut caps, c);
            }
        }
        for c in add {
            check_add(&c)?;
            push_unique(&mut caps, c);
        }
    }
    Ok(caps)
}

/// The OCI capability set of `caps` ("CAP_*" names).
pub(crate) fn to_oci_capabilities(caps: &[String]) -> Result<HashSet<Capability>, CapabilityError> {
    caps.iter()
        .map(|c| {
            serde_json::from_value::<Capability>(serde_json::Value::String(c.clone()))
                .map_err(|_| CapabilityError::Unknown(c.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_add_of_a_capability_this_process_lacks_is_a_clear_error() {
        match CAP_NAMES.iter().find(|c| not_grantable_reason(c).is_some()) {
            Some(missing) => {
                let err = resolve_capabilities(&[missing.to_string()], &[], false).unwrap_err();
                assert!(matches!(err, CapabilityError::NotGrantable { .. }));
                assert!(err.to_string().contains(missing), "{err}");
            }
            None => eprintln!("this process holds every capability; nothing to check"),
        }
    }

    #[test]
    fn names_are_read_in_any_spelling() {
        assert_eq!(canonical_name(" net_admin "), "CAP_NET_ADMIN");
        assert_eq!(canonical_name("CAP_sys_admin"), "CAP_SYS_ADMIN");
        assert_eq!(canonical_name("all"), "ALL");
        assert_eq!(known_name("NET_RAW").unwrap(), "CAP_NET_RAW");
        assert!(
            matches!(known_name("NET_FOO"), Err(CapabilityError::Unknown(n)) if n == "NET_FOO")
        );
    }
}
