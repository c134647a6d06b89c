//! Joining the network namespace the engine made and configured (veth, address, routes)
//! instead of letting the runtime make a fresh, empty one.

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
