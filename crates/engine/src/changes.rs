//! `docker diff` (`GET /containers/{id}/changes`): what the container changed, read off its
//! overlay upper dir. Whiteouts are deletions, paths the image has are modifications, the rest
//! additions; a directory the image has shows only when something under it changed. The files
//! the engine itself puts in (/etc/hosts, hostname, resolv.conf, mount points) are left out.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Engine, Error};

/// One change: Kind 0 modified, 1 added, 2 deleted (Docker's numbers).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub path: String,
    pub kind: u8,
}

pub const MODIFIED: u8 = 0;
pub const ADDED: u8 = 1;
pub const DELETED: u8 = 2;

/// What the engine and the runtime put in every container (Docker keeps these in its "-init"
/// layer, which diff and commit leave out): its files, and the mount points of /proc, /sys and
/// /dev.
const ENGINE_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/.dockerenv",
    "/proc",
    "/sys",
    "/dev",
];

struct Walk<'a> {
    lowers: &'a [PathBuf],
    skipped: &'a [String],
    out: Vec<Change>,
}

impl Walk<'_> {
    fn in_image(&self, relative: &Path) -> bool {
        self.lowers
            .iter()
            .any(|l| std::fs::symlink_metadata(l.join(relative)).is_ok())
    }

    /// Walks `dir` (at container path `path`); returns whether it reported anything.
    fn dir(&mut self, dir: &Path, path: &str) -> std::io::Result<bool> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        let mut any = false;
        for entry in entries {
            let name = entry.file_name();
            let child = format!("{}/{}", path.trim_end_matches('/'), name.to_string_lossy());
            if self.skipped.contains(&child) {
                continue;
            }
            let meta = entry.metadata()?;
            let relative = Path::new(child.trim_start_matches('/'));
            if meta.file_type().is_char_device() && meta.rdev() == 0 {
                self.out.push(Change {
                    path: child,
                    kind: DELETED,
                });
                any = true;
                continue;
            }
            let existed = self.in_image(relative);
            if meta.is_dir() {
                let index = self.out.len();
                let below = self.dir(&entry.path(), &child)?;
                // A directory made only to hold engine files (/etc in an image without one)
                // is the engine's too.
                let engine_parent = !below
                    && self.skipped.iter().any(|s| {
                        s.len() > child.len()
                            && s.starts_with(&child)
                            && s.as_bytes()[child.len()] == b'/'
                    });
                if (!existed || below) && !engine_parent {
                    let kind = if existed { MODIFIED } else { ADDED };
                    self.out.insert(index, Change { path: child, kind });
                    any = true;
                }
            } else {
                self.out.push(Change {
                    path: child,
                    kind: if existed { MODIFIED } else { ADDED },
                });
                any = true;
            }
        }
        Ok(any)
    }
}

impl Engine {
    /// The container paths that are not the container's own changes, whatever its upper dir
    /// holds there: the engine's files and mount points, and the destinations of its mounts.
    /// `diff` does not show them and `commit` does not keep them.
    pub(crate) fn not_the_containers_changes(&self, id: &str) -> Result<Vec<String>, Error> {
        let mut paths: Vec<String> = ENGINE_FILES.iter().map(|s| s.to_string()).collect();
        paths.extend(
            self.container_mounts(id)?
                .into_iter()
                .map(|m| m.destination),
        );
        Ok(paths)
    }

    /// `docker diff CONTAINER`: the container's changes, sorted by path.
    pub fn container_changes(&self, name_or_id: &str) -> Result<Vec<Change>, Error> {
        let rec = self.container(name_or_id)?;
        let upper = self.container_dir(&rec.id).join("upper");
        let lowers = self.images.layer_dirs(&rec.image_id)?;
        let skipped = self.not_the_containers_changes(&rec.id)?;
        let mut walk = Walk {
            lowers: &lowers,
            skipped: &skipped,
            out: Vec::new(),
        };
        if upper.is_dir() {
            walk.dir(&upper, "/")
                .map_err(|e| Error::io("reading the container's changes", e))?;
        }
        Ok(walk.out)
    }
}
