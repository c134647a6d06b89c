//! What the spec's tests share: a plain container's settings and readers of a built spec.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, LinuxNamespaceType, Mount, Spec};

use super::SpecInput;

pub(crate) fn input() -> SpecInput {
    SpecInput {
        rootfs: PathBuf::from("/var/lib/berth/overlay/abc/merged"),
        args: vec!["/bin/sh".into(), "-c".into(), "true".into()],
        env: vec!["PATH=/usr/bin:/bin".into()],
        cwd: "/".into(),
        hostname: "abc".into(),
        cgroup_path: "/berth/abc".into(),
        private_network: true,
        ..Default::default()
    }
}

pub(crate) fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub(crate) fn caps_of(spec: &Spec) -> (HashSet<Capability>, &oci_spec::runtime::LinuxCapabilities) {
    let c = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    (c.bounding().clone().unwrap(), c)
}

pub(crate) fn ns_types(spec: &Spec) -> Vec<LinuxNamespaceType> {
    spec.linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect()
}

pub(crate) fn mount_dests(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect()
}

pub(crate) fn find_mount<'a>(spec: &'a Spec, dest: &str) -> &'a Mount {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(dest))
        .unwrap_or_else(|| panic!("no mount at {dest}"))
}

pub(crate) fn grantable(cap: &str) -> bool {
    crate::capabilities::not_grantable_reason(cap).is_none()
}
