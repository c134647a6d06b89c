//! `docker export` (`GET /containers/{id}/export`): a tar of the container's whole filesystem as
//! its processes see it (image layers and its changes, deletions applied), written as it is
//! walked. As Docker's: the mount points of /proc, /sys, /dev and of volumes and bind mounts
//! are in it, empty; what is mounted there is not.

use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::{Engine, Error};

struct Export<'a, W: Write> {
    tar: tar::Builder<W>,
    /// Container paths ("/proc", "/data") whose contents are not exported.
    mount_points: &'a [String],
    /// The rootfs's device: a directory on another one is a mount, exported empty.
    root_dev: u64,
}

impl<W: Write> Export<'_, W> {
    fn dir(&mut self, dir: &Path, rel: &str) -> io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let entry_rel = format!("{rel}{}", name.to_string_lossy());
            let meta = std::fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            if ft.is_socket() {
                continue;
            }
            if ft.is_dir() {
                self.tar.append_dir(format!("{entry_rel}/"), &path)?;
                let container_path = format!("/{entry_rel}");
                let mounted =
                    meta.dev() != self.root_dev || self.mount_points.contains(&container_path);
                if !mounted {
                    self.dir(&path, &format!("{entry_rel}/"))?;
                }
            } else {
                self.tar.append_path_with_name(&path, &entry_rel)?;
            }
        }
        Ok(())
    }
}

impl Engine {
    /// `berth export CONTAINER`: writes the container's filesystem as a tar to `out`. A
    /// stopped container's rootfs is mounted for the call.
    pub fn export_container(&self, name_or_id: &str, out: impl Write) -> Result<(), Error> {
        self.with_rootfs(name_or_id, |rec, rootfs| {
            let mount_points = self.not_the_containers_changes(&rec.id)?;
            let failed = |e| Error::io(format!("exporting container {}", rec.id), e);
            let root_dev = std::fs::metadata(rootfs).map_err(failed)?.dev();
            let mut tar = tar::Builder::new(out);
            tar.follow_symlinks(false);
            let mut export = Export {
                tar,
                mount_points: &mount_points,
                root_dev,
            };
            export.dir(rootfs, "").map_err(failed)?;
            export
                .tar
                .into_inner()
                .and_then(|mut out| out.flush())
                .map_err(failed)
        })
    }
}
