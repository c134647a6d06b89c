//! A container's root filesystem, for every backend (a micro-VM's guest gets it over 9p): an overlay of the image's layers under the container's
//! writable layer (`upper`, `work` in the container's directory), through the engine's
//! [`crate::rootfs`] mounter that builds and commits use too.

use std::path::{Path, PathBuf};

use crate::sandbox::SandboxError;

/// Mounts the overlay of `layers` under `container_dir`'s writable layer at `target`.
pub(crate) fn mount(
    layers: &[PathBuf],
    container_dir: &Path,
    target: &Path,
    volatile: bool,
) -> Result<(), SandboxError> {
    let (upper, work) = (container_dir.join("upper"), container_dir.join("work"));
    std::fs::create_dir_all(&upper)
        .and_then(|_| std::fs::create_dir_all(&work))
        .map_err(|e| failed(crate::Error::io("creating the container's overlay dirs", e)))?;
    crate::rootfs::mount_overlay(layers, &upper, &work, target, volatile).map_err(failed)
}

/// The engine's mounter failed: the backend's failure, its error kept.
fn failed(e: crate::Error) -> SandboxError {
    SandboxError::Failed(Box::new(e))
}
