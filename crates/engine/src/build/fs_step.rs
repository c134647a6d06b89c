//! A scratch overlay for steps that change files without running anything (COPY, ADD,
//! WORKDIR): the parent image's layers as lower dirs, a fresh upper dir that becomes the step's
//! layer. Unmounted and removed on drop, so an error never leaves a mount behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Engine, Error};

pub struct Scratch {
    dir: PathBuf,
    pub merged: PathBuf,
    pub upper: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Scratch {
    /// Mounts `image`'s rootfs with an empty upper dir. `image` None is an empty rootfs.
    pub fn mount(engine: &Engine, image: Option<&str>) -> Result<Scratch, Error> {
        let dir = super::reap::scratch_dir(engine)
            .join(format!("s{}", COUNTER.fetch_add(1, Ordering::Relaxed)));
        let scratch = Scratch {
            merged: dir.join("merged"),
            upper: dir.join("upper"),
            dir,
        };
        for d in [
            &scratch.merged,
            &scratch.upper,
            &scratch.dir.join("work"),
            &scratch.dir.join("empty"),
        ] {
            std::fs::create_dir_all(d)
                .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
        }
        let lowers = match image {
            Some(id) => engine.images.layer_dirs(id)?,
            None => vec![scratch.dir.join("empty")],
        };
        crate::rootfs::mount_overlay(
            &lowers,
            &scratch.upper,
            &scratch.dir.join("work"),
            &scratch.merged,
            true,
        )?;
        Ok(scratch)
    }

    /// Unmounts, leaving the upper dir readable for the diff.
    pub fn unmount(&self) {
        crate::rootfs::unmount(&self.merged);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        super::reap::remove_scratch(&self.dir);
    }
}

/// `path` (absolute, inside the image) resolved under `root` the way the container would see
/// it: symlinks in existing components are followed but never lead outside `root` (the engine's
/// one resolver, [`crate::rootpath`]); a symlink in the last component is kept.
pub fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    // Only a symlink loop fails; its lexical path, with `..` already clamped, stays inside too.
    let inside = crate::rootpath::resolve_parent_in_root(root, path)
        .unwrap_or_else(|_| berth_image::clean_abs(path));
    root.join(inside.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("real/escape")).unwrap();
        assert_eq!(resolve_in_root(root, "/abs/sub/f"), root.join("real/sub/f"));
        assert_eq!(
            resolve_in_root(root, "/real/escape/passwd"),
            root.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(root, "/../x"), root.join("x"));
        // The last component is not followed: the caller replaces it.
        assert_eq!(resolve_in_root(root, "/abs"), root.join("abs"));
    }
}
