//! A machine's root out of the initramfs. The kernel's initial rootfs cannot be pivoted away
//! from (pivot_root(2) returns EINVAL there), and every container runtime pivots: the Docker
//! host inside a machine could run no container. So, as busybox's switch_root does, the
//! initramfs's tree is copied to a tmpfs, the old copy is deleted (its memory freed), the
//! pseudo-filesystems are moved over, and the tmpfs becomes `/`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use nix::mount::{MsFlags, mount};

use super::boot::mount_fs;

/// Where the new root is built before it is moved to `/`.
const STAGING: &str = "/newroot";

/// The agent's mounts, moved into the new root with everything under them.
const MOUNTS: &[&str] = &["/proc", "/sys", "/dev", "/run"];

/// Makes a tmpfs copy of the initramfs the root.
pub fn to_tmpfs() -> Result<(), String> {
    let staging = Path::new(STAGING);
    mount_fs(
        "root",
        staging,
        "tmpfs",
        MsFlags::empty(),
        Some("mode=0755"),
    )?;
    let skip = |path: &Path| path == staging || MOUNTS.iter().any(|m| path == Path::new(m));
    copy_tree(Path::new("/"), staging, &skip)?;
    remove_tree(Path::new("/"), &skip);
    for point in MOUNTS {
        let target = staging.join(point.trim_start_matches('/'));
        let _ = fs::create_dir_all(&target);
        mount(
            Some(*point),
            &target,
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| format!("moving {point} to the new root: {e}"))?;
    }
    nix::unistd::chdir(staging).map_err(|e| format!("chdir {STAGING}: {e}"))?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .map_err(|e| format!("moving the new root to /: {e}"))?;
    nix::unistd::chroot(".").map_err(|e| format!("chroot to the new root: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

/// Copies directories, files and symlinks under `from` to `to`, keeping modes.
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<(), String> {
    let entries = fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.flatten() {
        let source = entry.path();
        if skip(&source) {
            continue;
        }
        let target = to.join(entry.file_name());
        let meta =
            fs::symlink_metadata(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let failed = |e: std::io::Error| format!("copying {}: {e}", source.display());
        if meta.file_type().is_symlink() {
            symlink(fs::read_link(&source).map_err(failed)?, &target).map_err(failed)?;
        } else if meta.is_dir() {
            fs::create_dir(&target).map_err(failed)?;
            fs::set_permissions(
                &target,
                fs::Permissions::from_mode(meta.permissions().mode()),
            )
            .map_err(failed)?;
            copy_tree(&source, &target, skip)?;
        } else if meta.is_file() {
            fs::copy(&source, &target).map_err(failed)?;
        }
    }
    Ok(())
}

/// Deletes what was copied (best effort: what stays only costs memory).
fn remove_tree(root: &Path, skip: &dyn Fn(&Path) -> bool) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip(&path) {
            continue;
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let _ = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
    }
}
