//! Paths inside an unpacked or mounted rootfs, resolved the way runc/moby's securejoin does:
//! every symlink on the way is read and followed as if the rootfs were `/`, so `..` and absolute
//! link targets never leave it. The one resolver of the workspace: the engine uses it for mount
//! destinations and `cp`, the builder for COPY, ADD and WORKDIR.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Linux's own limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;

/// Why a path could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RootPathError {
    /// A symlink loop (more than Linux's 40 links in one lookup).
    #[error("{0}: too many levels of symbolic links")]
    TooManyLinks(String),
    /// A symlink that could not be read.
    #[error("reading link {link}: {source}")]
    ReadLink {
        link: String,
        #[source]
        source: std::io::Error,
    },
}

/// Resolves `path` (absolute, inside the container) against `root`; returns the container path
/// with every existing symlink replaced by its target, clamped to the rootfs. Components that
/// do not exist yet are kept as given.
pub fn resolve_in_root(root: &Path, path: &str) -> Result<String, RootPathError> {
    resolve(root, path, true)
}

/// As [`resolve_in_root`], but a symlink in the last component is left as it is: what a build
/// step's COPY, ADD or WORKDIR names is written at that place in the image, as Docker does. A
/// trailing `/.` names what the last component leads to, so it is followed then.
pub fn resolve_parent_in_root(root: &Path, path: &str) -> Result<String, RootPathError> {
    resolve(root, path, path.ends_with("/.") || path == ".")
}

fn resolve(root: &Path, path: &str, follow_last: bool) -> Result<String, RootPathError> {
    let mut pending: Vec<OsString> = components(path.as_bytes());
    pending.reverse();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let mut host = root.to_path_buf();
        host.extend(&resolved);
        host.push(&part);
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() && (follow_last || !pending.is_empty()) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(RootPathError::TooManyLinks(path.to_string()));
                }
                let target =
                    std::fs::read_link(&host).map_err(|source| RootPathError::ReadLink {
                        link: host.display().to_string(),
                        source,
                    })?;
                let target = target.as_os_str().as_bytes();
                if target.starts_with(b"/") {
                    resolved.clear();
                }
                let mut parts = components(target);
                parts.reverse();
                pending.extend(parts);
            }
            _ => resolved.push(part),
        }
    }
    let joined: Vec<String> = resolved
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    Ok(format!("/{}", joined.join("/")))
}

fn components(path: &[u8]) -> Vec<OsString> {
    path.split(|b| *b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .map(|p| OsString::from(std::ffi::OsStr::from_bytes(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("up")).unwrap();
        std::os::unix::fs::symlink("real", root.join("rel")).unwrap();
        std::os::unix::fs::symlink("/loop2", root.join("loop1")).unwrap();
        std::os::unix::fs::symlink("/loop1", root.join("loop2")).unwrap();
        assert_eq!(resolve_in_root(root, "/abs/x").unwrap(), "/etc/x");
        assert_eq!(resolve_in_root(root, "/up").unwrap(), "/etc");
        assert_eq!(
            resolve_in_root(root, "/rel/sub/../new").unwrap(),
            "/real/new"
        );
        assert_eq!(resolve_in_root(root, "/../../x").unwrap(), "/x");
        assert!(matches!(
            resolve_in_root(root, "/loop1/x"),
            Err(RootPathError::TooManyLinks(_))
        ));
    }
}
