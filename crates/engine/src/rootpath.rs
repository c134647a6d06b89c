//! Paths inside a container's rootfs, resolved by [`berth_image::rootpath`] (securejoin's
//! rules: `..` and absolute link targets never leave it), with the engine's error kinds. A mount
//! destination resolved here names a real directory (or file) inside the rootfs, with no
//! symlink left for the runtime to follow to the host.

use std::path::Path;

use berth_image::rootpath::RootPathError;

use crate::Error;

/// Resolves `path` (absolute, inside the container) against `root`; returns the container path
/// with every existing symlink replaced by its target, clamped to the rootfs. Components that
/// do not exist yet are kept as given.
pub fn resolve_in_root(root: &Path, path: &str) -> Result<String, Error> {
    berth_image::rootpath::resolve_in_root(root, path).map_err(error)
}

/// A symlink loop is the caller's (400); an unreadable link is ours (see [`Error::RootPath`]).
fn error(e: RootPathError) -> Error {
    Error::RootPath(e)
}

/// Creates a mount point at the already resolved `destination` inside `root` if missing: a
/// directory, or an empty file when the source is a file.
pub fn make_mount_point(root: &Path, destination: &str, dir: bool) -> Result<(), Error> {
    let host = root.join(destination.trim_start_matches('/'));
    if std::fs::symlink_metadata(&host).is_ok() {
        return Ok(());
    }
    let made = if dir {
        std::fs::create_dir_all(&host)
    } else {
        host.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&host)
                    .map(|_| ())
            })
    };
    made.map_err(|e| {
        Error::io(
            format!("creating mount point {destination} in the container"),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resolver's own rules are tested in `berth_image::rootpath`; here, what the engine
    /// makes of its errors.
    #[test]
    fn a_symlink_loop_is_the_callers_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink("/loop2", root.join("loop1")).unwrap();
        std::os::unix::fs::symlink("/loop1", root.join("loop2")).unwrap();
        let e = resolve_in_root(root, "/loop1/x").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid, "{e}");
        assert_eq!(resolve_in_root(root, "/../../x").unwrap(), "/x");
    }
}
