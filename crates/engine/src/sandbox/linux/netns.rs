//! Joining the network namespace the engine made and configured (veth, address, routes)
//! instead of letting the runtime make a fresh, empty one.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// Points the spec's network namespace at `path`.
pub(super) fn join(spec: &mut Spec, path: &Path) {
    let Some(namespaces) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.namespaces_mut().as_mut())
    else {
        return;
    };
    for ns in namespaces
        .iter_mut()
        .filter(|ns| ns.typ() == LinuxNamespaceType::Network)
    {
        ns.set_path(Some(path.to_path_buf()));
    }
}

/// Whether `path` is this process's own network namespace: the host's, for the shim (a
/// `--network container:X` whose X is on the host's network). The runtime refuses network
/// sysctls there, and there is nothing to join.
pub(super) fn is_hosts(path: &Path) -> bool {
    let identity = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    match (identity(path), identity(Path::new("/proc/self/ns/net"))) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => false,
    }
}
