//! `--sysctl`: which kernel parameters a container may set, and only in namespaces of its own.
//! A sysctl that is not namespaced (kernel.core_pattern ...) would change the host, and a
//! namespaced one in a namespace shared with the host (`--network host`, `--ipc host`) too:
//! both are refused here, for every front end, whatever a client sends.

use std::collections::HashMap;

use super::{Namespace, SpecError, SpecInput};

/// The namespace a sysctl lives in, for the ones a container may set (the docker CLI's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysctlNamespace {
    Network,
    Ipc,
}

/// IPC-namespaced sysctls by full name (the rest of IPC's are under `fs.mqueue.`).
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Where `name` lives, or `None` for a sysctl a container may not set.
pub fn sysctl_namespace(name: &str) -> Option<SysctlNamespace> {
    if name.starts_with("net.") {
        Some(SysctlNamespace::Network)
    } else if name.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&name) {
        Some(SysctlNamespace::Ipc)
    } else {
        None
    }
}

/// The user's sysctls over berth's own network ones, each checked against its namespace.
pub(super) fn build_sysctls(
    input: &SpecInput,
    mut base: HashMap<String, String>,
) -> Result<HashMap<String, String>, SpecError> {
    for (name, value) in &input.sysctls {
        let refuse = |reason: &str| SpecError::Sysctl {
            name: name.clone(),
            reason: reason.to_string(),
        };
        match sysctl_namespace(name) {
            None => return Err(refuse("is not namespaced (it would change the host)")),
            Some(SysctlNamespace::Network) if !input.private_network => {
                return Err(refuse("is not allowed in the host's network namespace"));
            }
            Some(SysctlNamespace::Ipc) if input.namespaces.ipc == Namespace::Host => {
                return Err(refuse("is not allowed in the host's IPC namespace"));
            }
            Some(_) => {}
        }
        base.insert(name.clone(), value.clone());
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::build_spec;
    use crate::spec::test_support::input;

    #[test]
    fn namespaced_sysctls_are_set() {
        let mut i = input();
        i.sysctls = vec![
            ("net.ipv4.ip_forward".into(), "1".into()),
            ("kernel.shmmax".into(), "1000000".into()),
        ];
        let spec = build_spec(&i).unwrap();
        let sysctl = spec.linux().as_ref().unwrap().sysctl().clone().unwrap();
        assert_eq!(sysctl["net.ipv4.ip_forward"], "1");
        assert_eq!(sysctl["kernel.shmmax"], "1000000");
    }

    #[test]
    fn host_changing_sysctls_are_refused() {
        let mut i = input();
        i.sysctls = vec![("kernel.core_pattern".into(), "|/tmp/x".into())];
        let e = build_spec(&i).unwrap_err().to_string();
        assert!(
            e.contains("kernel.core_pattern") && e.contains("not namespaced"),
            "{e}"
        );

        let mut i = input();
        i.private_network = false;
        i.sysctls = vec![("net.ipv4.ip_forward".into(), "1".into())];
        let e = build_spec(&i).unwrap_err().to_string();
        assert!(e.contains("host's network namespace"), "{e}");

        let mut i = input();
        i.namespaces.ipc = Namespace::Host;
        i.sysctls = vec![("fs.mqueue.msg_max".into(), "20".into())];
        let e = build_spec(&i).unwrap_err().to_string();
        assert!(e.contains("host's IPC namespace"), "{e}");
    }
}
