//! The directories of `RUN --mount=type=cache` under the builder's state dir: one per cache id,
//! kept between builds, never part of an image or a cache key. A lock file per id carries
//! BuildKit's sharing modes across concurrent builds (`shared`: many at once; `locked`: one at
//! a time; `private`: a busy cache gives the step a fresh throwaway directory). `system df`
//! counts them ([`usage`]) and `builder prune` removes them ([`prune`]).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use berth_build::mount::Sharing;
use sha2::Digest;

/// Where the cache mounts live, under the builder's state dir.
pub fn root(state: &Path) -> PathBuf {
    state.join("cache-mounts")
}

/// A cache mount's directory, held (its lock) until dropped.
pub struct CacheDir {
    pub path: PathBuf,
    /// The directory did not exist before: its root takes the mount's mode/uid/gid, and its
    /// first content from `from`/`source`.
    pub created: bool,
    _lock: Option<File>,
}

/// Opens (creating on first use) the cache directory of `id` with `sharing`; a private cache
/// in use elsewhere gives a fresh directory under `scratch`, removed with it.
pub fn open(state: &Path, scratch: &Path, id: &str, sharing: Sharing) -> io::Result<CacheDir> {
    let key = hex::encode(sha2::Sha256::digest(id.as_bytes()));
    let dir = root(state).join(&key[..32]);
    std::fs::create_dir_all(&dir)?;
    // The id, for whoever looks at the directory (and `system df`'s description).
    let id_file = dir.join("id");
    if !id_file.exists() {
        std::fs::write(&id_file, id)?;
    }
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    let data = dir.join("data");
    let path = match sharing {
        Sharing::Shared => {
            lock.lock_shared()?;
            data
        }
        Sharing::Locked => {
            lock.lock()?;
            data
        }
        Sharing::Private => match lock.try_lock() {
            Ok(()) => data,
            Err(std::fs::TryLockError::WouldBlock) => {
                let fresh = scratch.join(crate::unique_name("private-cache-"));
                std::fs::create_dir_all(&fresh)?;
                return Ok(CacheDir {
                    path: fresh,
                    created: true,
                    _lock: None,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        },
    };
    let created = !path.exists();
    if created {
        std::fs::create_dir_all(&path)?;
    }
    Ok(CacheDir {
        path,
        created,
        _lock: Some(lock),
    })
}

/// BuildKit refuses one cache id used with two sharing modes in a build: the second use's
/// line and option, naming the first.
pub fn check_sharing(dockerfile: &berth_build::Dockerfile, file: &str) -> Result<(), String> {
    let mut seen: std::collections::BTreeMap<String, (Sharing, usize)> = Default::default();
    for instr in dockerfile.stages.iter().flat_map(|s| &s.instructions) {
        let berth_build::Kind::Run { mounts, .. } = &instr.kind else {
            continue;
        };
        for raw in mounts {
            let Ok(mount) = berth_build::mount::parse_mount(raw) else {
                continue;
            };
            let id = mount.cache_id();
            // An id made of variables is only known when the step runs.
            if mount.kind != berth_build::mount::MountType::Cache || id.contains('$') {
                continue;
            }
            match seen.get(&id) {
                Some((sharing, line)) if *sharing != mount.sharing => {
                    return Err(format!(
                        "{file}:{}: RUN --mount={raw}: cache id {id:?} is used with sharing={} \
                         here and sharing={} on line {line}",
                        instr.line,
                        mount.sharing.name(),
                        sharing.name()
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(id, (mount.sharing, instr.line));
                }
            }
        }
    }
    Ok(())
}

/// How many cache mounts there are and their bytes (files' apparent sizes).
pub fn usage(state: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(root(state)) else {
        return (0, 0);
    };
    let mut count = 0;
    let mut bytes = 0;
    for entry in entries.flatten() {
        count += 1;
        bytes += tree_size(&entry.path().join("data"));
    }
    (count, bytes)
}

fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Removes every cache mount no build is using; returns how many went.
pub fn prune(state: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root(state)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        let in_use = File::options()
            .write(true)
            .open(dir.join("lock"))
            .map(|f| f.try_lock().is_err())
            .unwrap_or(false);
        // Removed while still locked by us: a build opening it meanwhile waits, then
        // recreates it.
        if !in_use && std::fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_between_opens_counted_and_pruned() {
        let state = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let first = open(state.path(), scratch.path(), "pip", Sharing::Shared).unwrap();
        assert!(first.created);
        std::fs::write(first.path.join("f"), "12345").unwrap();
        drop(first);
        let again = open(state.path(), scratch.path(), "pip", Sharing::Locked).unwrap();
        assert!(!again.created);
        assert_eq!(std::fs::read(again.path.join("f")).unwrap(), b"12345");
        drop(again);
        assert_eq!(usage(state.path()), (1, 5));
        assert_eq!(prune(state.path()), 1);
        assert_eq!(usage(state.path()), (0, 0));
    }

    #[test]
    fn one_id_with_two_sharing_modes_is_refused() {
        let df = berth_build::parse(
            "FROM a\nRUN --mount=type=cache,id=c,target=/a true\nRUN --mount=type=cache,target=/b,id=c,sharing=locked true\n",
            "Dockerfile",
        )
        .unwrap();
        let e = check_sharing(&df, "Dockerfile").unwrap_err();
        assert!(
            e.starts_with("Dockerfile:3: RUN --mount=type=cache,target=/b,id=c,sharing=locked"),
            "{e}"
        );
        assert!(e.contains("sharing=shared on line 2"), "{e}");
        let ok = berth_build::parse(
            "FROM a\nRUN --mount=type=cache,target=/a true\nRUN --mount=type=cache,target=/b,sharing=locked true\n",
            "Dockerfile",
        )
        .unwrap();
        assert!(check_sharing(&ok, "Dockerfile").is_ok());
    }

    #[test]
    fn a_busy_private_cache_gives_a_fresh_directory() {
        let state = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let held = open(state.path(), scratch.path(), "x", Sharing::Private).unwrap();
        std::fs::write(held.path.join("f"), "a").unwrap();
        let other = open(state.path(), scratch.path(), "x", Sharing::Private).unwrap();
        assert_ne!(held.path, other.path);
        assert!(other.path.starts_with(scratch.path()));
        assert!(!other.path.join("f").exists());
        // In use: prune leaves it.
        assert_eq!(prune(state.path()), 0);
    }
}
