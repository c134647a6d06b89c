//! A scratch overlay for steps that change files without running anything (COPY, ADD,
//! WORKDIR): the parent image's layers as lower dirs, a fresh upper dir that becomes the step's
//! layer. Unmounted and removed on drop, so an error never leaves a mount behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{BuildError, BuildHost};

pub struct Scratch<'h, H: BuildHost> {
    host: &'h H,
    dir: PathBuf,
    pub merged: PathBuf,
    pub upper: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl<'h, H: BuildHost> Scratch<'h, H> {
    /// Mounts `image`'s rootfs with an empty upper dir, under `scratch` (the build's scratch
    /// directory). `image` None is an empty rootfs.
    pub fn mount(
        host: &'h H,
        scratch: &Path,
        image: Option<&str>,
    ) -> Result<Self, BuildError<H::Error>> {
        let dir = scratch.join(format!("s{}", COUNTER.fetch_add(1, Ordering::Relaxed)));
        let scratch = Scratch {
            host,
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
                .map_err(|e| BuildError::io(format!("creating {}", d.display()), e))?;
        }
        let lowers = match image {
            Some(id) => host.images().layer_dirs(id)?,
            None => vec![scratch.dir.join("empty")],
        };
        host.mount_overlay(
            &lowers,
            &scratch.upper,
            &scratch.dir.join("work"),
            &scratch.merged,
        )?;
        Ok(scratch)
    }

    /// Unmounts, leaving the upper dir readable for the diff.
    pub fn unmount(&self) {
        self.host.unmount(&self.merged);
    }
}

impl<H: BuildHost> Drop for Scratch<'_, H> {
    fn drop(&mut self) {
        remove_scratch(&self.dir, &|m| self.host.unmount(m));
    }
}

/// Unmounts every mount under `dir` (deepest first, through `unmount`), then removes it: a
/// step's scratch dir, or a whole build's when it ends or was killed.
pub fn remove_scratch(dir: &Path, unmount: &dyn Fn(&Path)) {
    let prefix = dir.to_string_lossy().into_owned();
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    for m in mounts.iter().rev() {
        unmount(Path::new(m));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `path` (absolute, inside the image) resolved under `root` the way the container would see
/// it: symlinks in existing components are followed but never lead outside `root` (the one
/// resolver, [`berth_image::rootpath`]); a symlink in the last component is kept.
pub fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    // Only a symlink loop fails; its lexical path, with `..` already clamped, stays inside too.
    let inside = berth_image::rootpath::resolve_parent_in_root(root, path)
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
