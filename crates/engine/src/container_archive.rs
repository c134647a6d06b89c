//! `docker cp`: files in and out of a container, running or stopped (Docker's
//! `GET/HEAD/PUT /containers/{id}/archive`). Paths resolve inside the container as its processes
//! see them: symlinks and `..` stay in the rootfs, and a path under a volume or bind mount lands
//! in that mount's source. A stopped container's rootfs is mounted for the call and unmounted after.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::rootpath::resolve_in_root;
use crate::store::ContainerRecord;
use crate::{Engine, Error};

/// What `X-Docker-Container-Path-Stat` carries (base64 JSON): Go's `os.FileMode` bits in `mode`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathStat {
    pub name: String,
    pub size: u64,
    pub mode: u32,
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// An upload's tar stream, decompressed when its first bytes say gzip, bzip2 or xz (dockerd
/// accepts all three on `PUT /containers/{id}/archive`); anything else is read as a plain tar.
fn decompressed_upload<'a>(mut input: impl Read + 'a) -> Result<Box<dyn Read + 'a>, Error> {
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::InvalidArgument(format!("reading the archive: {e}"))),
        }
    }
    let head = &magic[..n];
    let whole = std::io::Cursor::new(head.to_vec()).chain(input);
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(whole))
    } else if head.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(whole))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(whole))
    } else {
        Box::new(whole)
    })
}

/// Options of an extraction (`PUT /containers/{id}/archive`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the archive's owners; otherwise files belong to root, as Docker's.
    pub copy_uid_gid: bool,
}

/// Go's `os.FileMode` type bits, which Docker clients decode.
const GO_MODE_DIR: u32 = 1 << 31;
const GO_MODE_SYMLINK: u32 = 1 << 27;
const GO_MODE_DEVICE: u32 = 1 << 26;
const GO_MODE_PIPE: u32 = 1 << 25;
const GO_MODE_SOCKET: u32 = 1 << 24;
const GO_MODE_SETUID: u32 = 1 << 23;
const GO_MODE_SETGID: u32 = 1 << 22;
const GO_MODE_CHARDEV: u32 = 1 << 21;
const GO_MODE_STICKY: u32 = 1 << 20;

/// A Unix `st_mode` as Go's `os.FileMode`.
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    mode |= match st_mode & libc::S_IFMT {
        libc::S_IFDIR => GO_MODE_DIR,
        libc::S_IFLNK => GO_MODE_SYMLINK,
        libc::S_IFBLK => GO_MODE_DEVICE,
        libc::S_IFCHR => GO_MODE_DEVICE | GO_MODE_CHARDEV,
        libc::S_IFIFO => GO_MODE_PIPE,
        libc::S_IFSOCK => GO_MODE_SOCKET,
        _ => 0,
    };
    if st_mode & libc::S_ISUID != 0 {
        mode |= GO_MODE_SETUID;
    }
    if st_mode & libc::S_ISGID != 0 {
        mode |= GO_MODE_SETGID;
    }
    if st_mode & libc::S_ISVTX != 0 {
        mode |= GO_MODE_STICKY;
    }
    mode
}

/// The relative path a tar entry names, or an error when it would climb out (`..`, absolute
/// paths are taken relative, as Docker's extractor does).
pub fn entry_relative_path(name: &Path) -> Result<PathBuf, Error> {
    let mut out = PathBuf::new();
    for part in name.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::InvalidArgument(format!(
                    "archive entry {} climbs out of the destination",
                    name.display()
                )));
            }
        }
    }
    Ok(out)
}

/// A container's rootfs, mounted for as long as this lives when the container was not running.
struct MountedRootfs {
    path: PathBuf,
    unmount: bool,
}

impl Drop for MountedRootfs {
    fn drop(&mut self) {
        if self.unmount {
            crate::rootfs::unmount(&self.path);
        }
    }
}

/// Where a container path lives on the host: a mount's source or the rootfs.
struct Located {
    host: PathBuf,
    /// The container path, resolved (no symlinks left).
    resolved: String,
}

impl Engine {
    fn mount_rootfs_for_copy(&self, rec: &ContainerRecord) -> Result<MountedRootfs, Error> {
        let path = self.container_run_dir(&rec.id).join("rootfs");
        if crate::rootfs::is_mountpoint(&path) {
            return Ok(MountedRootfs {
                path,
                unmount: false,
            });
        }
        let dir = self.container_dir(&rec.id);
        let lowers = self.images.layer_dirs(&rec.image_id)?;
        std::fs::create_dir_all(dir.join("upper"))
            .and_then(|_| std::fs::create_dir_all(dir.join("work")))
            .map_err(|e| Error::io("creating the container's overlay dirs", e))?;
        crate::rootfs::mount_overlay(&lowers, &dir.join("upper"), &dir.join("work"), &path, false)?;
        Ok(MountedRootfs {
            path,
            unmount: true,
        })
    }

    /// Resolves `path` in the container: inside the rootfs, or inside the source of the
    /// volume or bind mounted over it (the longest matching destination wins).
    fn locate(&self, rec: &ContainerRecord, rootfs: &Path, path: &str) -> Result<Located, Error> {
        let absolute = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let resolved = resolve_in_root(rootfs, &absolute)?;
        let mut best: Option<(String, PathBuf)> = None;
        for m in self.container_mounts(&rec.id)? {
            let source = match m.kind.as_str() {
                "volume" => self.volume_mountpoint(&m.name),
                "bind" => PathBuf::from(&m.source),
                _ => continue,
            };
            let destination = resolve_in_root(rootfs, &m.destination)?;
            let inside = resolved == destination
                || destination == "/"
                || resolved.starts_with(&format!("{destination}/"));
            if inside
                && best
                    .as_ref()
                    .is_none_or(|(d, _)| destination.len() > d.len())
            {
                best = Some((destination, source));
            }
        }
        let host = match best {
            Some((destination, source)) => {
                let rest = &resolved[destination.len()..];
                let in_mount = resolve_in_root(&source, rest)?;
                source.join(in_mount.trim_start_matches('/'))
            }
            None => rootfs.join(resolved.trim_start_matches('/')),
        };
        Ok(Located { host, resolved })
    }

    /// Runs `f` on the container's rootfs, mounted for the call when needed.
    pub(crate) fn with_rootfs<T>(
        &self,
        name_or_id: &str,
        f: impl FnOnce(&ContainerRecord, &Path) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let rec = self.container(name_or_id)?;
        let mounted = self.mount_rootfs_for_copy(&rec)?;
        f(&rec, &mounted.path)
    }

    /// `HEAD /containers/{id}/archive`: what is at `path` (the path itself, not a link's target).
    pub fn container_path_stat(&self, name_or_id: &str, path: &str) -> Result<PathStat, Error> {
        self.with_rootfs(name_or_id, |rec, rootfs| {
            let (stat, _) = self.stat_located(rec, rootfs, path)?;
            Ok(stat)
        })
    }

    fn stat_located(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
        path: &str,
    ) -> Result<(PathStat, PathBuf), Error> {
        // The last component is not followed: stat a link as a link, as Docker's lstat.
        let trimmed = path.trim_end_matches('/');
        let (parent, base) = match trimmed.rfind('/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => ("", trimmed),
        };
        let located = if base.is_empty() || base == "." || base == ".." || path.ends_with('/') {
            self.locate(rec, rootfs, path)?
        } else {
            let dir = self.locate(rec, rootfs, if parent.is_empty() { "/" } else { parent })?;
            Located {
                host: dir.host.join(base),
                resolved: format!("{}/{base}", dir.resolved.trim_end_matches('/')),
            }
        };
        let meta = std::fs::symlink_metadata(&located.host).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound(format!(
                    "Could not find the file {path} in container {}",
                    rec.name.trim_start_matches('/')
                ))
            } else {
                Error::io(format!("stat {path}"), e)
            }
        })?;
        let link_target = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&located.host)
                .map_err(|e| Error::io(format!("reading link {path}"), e))?;
            let target = target.to_string_lossy();
            if target.starts_with('/') {
                target.into_owned()
            } else {
                let dir = located
                    .resolved
                    .rsplit_once('/')
                    .map(|(d, _)| d)
                    .unwrap_or("");
                format!("{dir}/{target}")
            }
        } else {
            String::new()
        };
        let mtime = chrono::DateTime::from_timestamp(meta.mtime(), meta.mtime_nsec() as u32)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let name = Path::new(&located.resolved)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".to_string());
        Ok((
            PathStat {
                name,
                size: meta.size(),
                mode: go_file_mode(meta.mode()),
                mtime,
                link_target,
            },
            located.host,
        ))
    }

    /// `GET /containers/{id}/archive`: a tar of `path` (named by its base name) into `out`.
    pub fn container_archive(
        &self,
        name_or_id: &str,
        path: &str,
        out: impl Write,
    ) -> Result<PathStat, Error> {
        self.with_rootfs(name_or_id, |rec, rootfs| {
            let (stat, host) = self.stat_located(rec, rootfs, path)?;
            let mut tar = tar::Builder::new(out);
            tar.follow_symlinks(false);
            let name = if stat.name == "/" {
                ".".to_string()
            } else {
                stat.name.clone()
            };
            let failed = |e| Error::io(format!("archiving {path}"), e);
            if stat.mode & GO_MODE_DIR != 0 {
                tar.append_dir_all(&name, &host).map_err(failed)?;
            } else {
                tar.append_path_with_name(&host, &name).map_err(failed)?;
            }
            tar.into_inner().map_err(failed)?.flush().map_err(failed)?;
            Ok(stat)
        })
    }

    /// `PUT /containers/{id}/archive`: extracts the tar `input` into the directory `path`.
    pub fn extract_to_container(
        &self,
        name_or_id: &str,
        path: &str,
        input: impl Read,
        options: ExtractOptions,
    ) -> Result<(), Error> {
        self.with_rootfs(name_or_id, |rec, rootfs| {
            let dest = self.locate(rec, rootfs, path)?;
            let meta = std::fs::metadata(&dest.host).map_err(|_| {
                Error::NotFound(format!(
                    "Could not find the file {path} in container {}",
                    rec.name.trim_start_matches('/')
                ))
            })?;
            if !meta.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "extraction point is not a directory: {path}"
                )));
            }
            let mut archive = tar::Archive::new(decompressed_upload(input)?);
            let entries = archive
                .entries()
                .map_err(|e| Error::InvalidArgument(format!("reading the archive: {e}")))?;
            for entry in entries {
                let mut entry = entry
                    .map_err(|e| Error::InvalidArgument(format!("reading the archive: {e}")))?;
                let name = entry
                    .path()
                    .map_err(|e| Error::InvalidArgument(format!("archive entry name: {e}")))?
                    .into_owned();
                let relative = entry_relative_path(&name)?;
                if relative.as_os_str().is_empty() {
                    continue;
                }
                self.extract_entry(rec, rootfs, &dest.resolved, &relative, &mut entry, options)?;
            }
            Ok(())
        })
    }

    fn extract_entry<R: Read>(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
        dest: &str,
        relative: &Path,
        entry: &mut tar::Entry<'_, R>,
        options: ExtractOptions,
    ) -> Result<(), Error> {
        let container_path = format!(
            "{}/{}",
            dest.trim_end_matches('/'),
            relative.to_string_lossy()
        );
        let (parent, base) = container_path
            .rsplit_once('/')
            .unwrap_or(("", &container_path));
        // The parent resolves inside the container; the last component is never followed.
        let parent = self.locate(rec, rootfs, if parent.is_empty() { "/" } else { parent })?;
        std::fs::create_dir_all(&parent.host)
            .map_err(|e| Error::io(format!("creating {}", parent.resolved), e))?;
        let host = parent.host.join(base);
        let kind = entry.header().entry_type();
        let existing = std::fs::symlink_metadata(&host).ok();
        if let Some(existing) = &existing {
            let is_dir = existing.is_dir();
            if options.no_overwrite_dir_non_dir && is_dir != kind.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "cannot overwrite {} {container_path} with a {}",
                    if is_dir { "directory" } else { "non-directory" },
                    if kind.is_dir() {
                        "directory"
                    } else {
                        "non-directory"
                    },
                )));
            }
            if is_dir && !kind.is_dir() {
                std::fs::remove_dir_all(&host)
                    .map_err(|e| Error::io(format!("replacing {container_path}"), e))?;
            } else if !is_dir && kind.is_dir() {
                std::fs::remove_file(&host)
                    .map_err(|e| Error::io(format!("replacing {container_path}"), e))?;
            }
        }
        let failed = |e| Error::io(format!("extracting {container_path}"), e);
        if kind.is_hard_link() {
            let target = entry.link_name().map_err(failed)?.ok_or_else(|| {
                Error::InvalidArgument(format!("hard link {container_path} has no target"))
            })?;
            let target = entry_relative_path(&target)?;
            let target = format!(
                "{}/{}",
                dest.trim_end_matches('/'),
                target.to_string_lossy()
            );
            let source = self.locate(rec, rootfs, &target)?;
            if existing.is_some() && std::fs::symlink_metadata(&host).is_ok() {
                std::fs::remove_file(&host).map_err(failed)?;
            }
            std::fs::hard_link(&source.host, &host).map_err(failed)?;
            return Ok(());
        }
        entry.set_preserve_permissions(true);
        entry.set_preserve_mtime(true);
        entry.unpack(&host).map_err(failed)?;
        let (uid, gid) = if options.copy_uid_gid {
            let header = entry.header();
            (
                header.uid().unwrap_or(0) as u32,
                header.gid().unwrap_or(0) as u32,
            )
        } else {
            (0, 0)
        };
        std::os::unix::fs::lchown(&host, Some(uid), Some(gid)).map_err(failed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_never_climb_out() {
        assert_eq!(
            entry_relative_path(Path::new("a/./b")).unwrap(),
            PathBuf::from("a/b")
        );
        assert_eq!(
            entry_relative_path(Path::new("/etc/passwd")).unwrap(),
            PathBuf::from("etc/passwd")
        );
        assert!(entry_relative_path(Path::new("a/../../b")).is_err());
        assert!(entry_relative_path(Path::new("..")).is_err());
    }

    #[test]
    fn go_modes_carry_the_type_bits() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), GO_MODE_DIR | 0o755);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), GO_MODE_SYMLINK | 0o777);
    }
}
