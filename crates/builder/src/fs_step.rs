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
        let lowers = match image {
            Some(id) => Some(host.images().layer_dirs(id)?),
            None => None,
        };
        Self::over(host, scratch, lowers)
    }

    /// An overlay of `lowers` (lowest first; None: an empty dir) with a fresh upper dir, under
    /// `scratch`: a writable throwaway view of directories that must not change.
    pub fn over(
        host: &'h H,
        scratch: &Path,
        lowers: Option<Vec<PathBuf>>,
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
        let lowers = lowers.unwrap_or_else(|| vec![scratch.dir.join("empty")]);
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

/// Removes from a step's `upper` dir what the runtime created only to mount `targets` on (the
/// empty file or directory of a target, and its parents that were made for it), as BuildKit
/// leaves no mount stubs in a layer. `lowers` are the parent image's layer dirs: what existed
/// there stays.
pub fn remove_mount_stubs(upper: &Path, lowers: &[PathBuf], targets: &[&str]) {
    for target in targets {
        let mut rel = PathBuf::from(berth_image::clean_abs(target).trim_start_matches('/'));
        while !rel.as_os_str().is_empty() {
            if lowers
                .iter()
                .any(|l| l.join(&rel).symlink_metadata().is_ok())
            {
                break;
            }
            let stub = upper.join(&rel);
            let removed = match stub.symlink_metadata() {
                Ok(m) if m.is_dir() => std::fs::remove_dir(&stub).is_ok(),
                Ok(m) if m.is_file() && m.len() == 0 => std::fs::remove_file(&stub).is_ok(),
                _ => false,
            };
            if !removed {
                break;
            }
            rel = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        }
    }
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

    #[test]
    fn mount_stubs_go_and_what_existed_or_was_written_stays() {
        let dir = tempfile::tempdir().unwrap();
        let (upper, lower) = (dir.path().join("upper"), dir.path().join("lower"));
        std::fs::create_dir_all(lower.join("root")).unwrap();
        std::fs::create_dir_all(upper.join("root/.cache")).unwrap();
        std::fs::create_dir_all(upper.join("run/secrets")).unwrap();
        std::fs::write(upper.join("run/secrets/tok"), "").unwrap();
        std::fs::create_dir_all(upper.join("src/keep")).unwrap();
        std::fs::write(upper.join("src/made-by-run"), "x").unwrap();
        remove_mount_stubs(
            &upper,
            std::slice::from_ref(&lower),
            &["/root/.cache", "/run/secrets/tok", "/src/keep"],
        );
        assert!(!upper.join("root/.cache").exists());
        // Copied up (it is the image's), not made for the mount.
        assert!(upper.join("root").exists());
        assert!(!upper.join("run").exists());
        assert!(!upper.join("src/keep").exists());
        assert!(upper.join("src/made-by-run").exists());
    }
}
