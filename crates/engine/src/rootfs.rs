//! The container's root filesystem: an overlay of the image's unpacked layers (read-only,
//! shared) under the container's own upper/work directories; plus the files Docker writes for
//! every container (/etc/hosts, /etc/hostname, /etc/resolv.conf) are the networks module's.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::Error;

/// Mounts the overlay at `target` unless something is mounted there already (a restart).
/// `volatile` skips every sync to the upper dir (overlayfs `volatile`, Linux 5.10+): for
/// containers removed when they exit (`--rm`), whose writes need not survive a host crash;
/// it spares a sync of the whole host filesystem at unmount.
pub fn mount_overlay(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path, volatile: bool) -> Result<(), Error> {
    std::fs::create_dir_all(target).map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
    if is_mountpoint(target) {
        return Ok(());
    }
    // overlayfs wants the top-most lower layer first.
    let lowerdir: Vec<String> = lowers.iter().rev().map(|p| p.display().to_string()).collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowerdir.join(":"),
        upper.display(),
        work.display()
    );
    if data.len() >= 4000 {
        return Err(Error::Internal(format!(
            "too many image layers for one overlay mount ({} layers)",
            lowers.len()
        )));
    }
    if volatile {
        // A volatile mount refuses to come back after a crash until its marker is gone.
        let _ = std::fs::remove_dir_all(work.join("work/incompat"));
        let with_volatile = format!("{data},volatile");
        if mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(with_volatile.as_str())).is_ok() {
            return Ok(());
        }
    }
    mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(data.as_str()))
        .map_err(|e| Error::Internal(format!("mounting the container's overlay rootfs at {}: {e}", target.display())))
}

/// Lazily unmounts `target` if it is mounted; missing or unmounted is fine.
pub fn unmount(target: &Path) {
    if is_mountpoint(target) {
        let _ = umount2(target, MntFlags::MNT_DETACH);
    }
}

/// Whether `path` is a mount point (its device differs from its parent's, or it is listed).
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(me), Some(parent)) = (std::fs::metadata(path), path.parent()) else { return false };
    match std::fs::metadata(parent) {
        Ok(p) => me.dev() != p.dev(),
        Err(_) => false,
    }
}
