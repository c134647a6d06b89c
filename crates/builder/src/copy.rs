//! COPY and ADD with Docker's rules: a directory source copies its contents; a destination
//! ending in `/` (or several sources) is a directory; context files become root-owned unless
//! `--chown`; `--chmod` sets the mode; ADD unpacks local tar archives
//! (plain, gzip, bzip2 or xz, detected by content).

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::fs_step::resolve_in_root;

/// One source to copy: where it is on the host (context or a mounted image) and its name.
pub struct SourceFile {
    pub path: PathBuf,
    /// Keep the source's owner (files from another image) instead of root.
    pub keep_owner: bool,
    /// ADD may unpack it (false for downloads).
    pub extract: bool,
}

/// Options of one COPY/ADD.
pub struct CopyOptions<'a> {
    /// For context sources: whether a host path is part of the context (not .dockerignore'd).
    pub in_context: Option<&'a dyn Fn(&Path) -> bool>,
    pub owner: Option<(u32, u32)>,
    pub mode: Option<u32>,
    pub extract_archives: bool,
}

/// Copies `sources` to `dest` (absolute, in the container) inside the mounted rootfs `root`.
pub fn copy(
    root: &Path,
    sources: &[SourceFile],
    dest: &str,
    options: &CopyOptions,
) -> Result<(), String> {
    let dest_is_dir = dest.ends_with('/') || sources.len() > 1 || resolve_dir(root, dest).is_dir();
    if sources.len() > 1 && !dest.ends_with('/') {
        return Err("When using COPY with more than one source file, the destination must be a directory and end with a /".into());
    }
    for source in sources {
        let meta = std::fs::symlink_metadata(&source.path)
            .map_err(|e| format!("{}: {e}", source.path.display()))?;
        if meta.is_dir() {
            make_dirs(root, dest)?;
            copy_dir_contents(root, &source.path, dest, source.keep_owner, options)?;
        } else if options.extract_archives
            && source.extract
            && meta.is_file()
            && is_tar(&source.path)
        {
            make_dirs(root, dest)?;
            extract(&source.path, &resolve_dir(root, dest))?;
        } else {
            let name = source
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target_in = if dest_is_dir {
                format!("{}/{name}", dest.trim_end_matches('/'))
            } else {
                dest.to_string()
            };
            let parent = Path::new(&target_in)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".into());
            make_dirs(root, &parent)?;
            copy_entry(
                &source.path,
                &resolve_in_root(root, &target_in),
                &meta,
                source.keep_owner,
                options,
            )?;
        }
    }
    Ok(())
}

/// Writes a here-document as a file (mode 0644 unless --chmod).
pub fn write_heredoc(
    root: &Path,
    dest: &str,
    name: &str,
    body: &str,
    options: &CopyOptions,
) -> Result<(), String> {
    let target_in = if dest.ends_with('/') || resolve_dir(root, dest).is_dir() {
        format!("{}/{name}", dest.trim_end_matches('/'))
    } else {
        dest.to_string()
    };
    let parent = Path::new(&target_in)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    make_dirs(root, &parent)?;
    let target = resolve_in_root(root, &target_in);
    remove_non_dir(&target);
    std::fs::write(&target, body).map_err(|e| format!("{target_in}: {e}"))?;
    let (uid, gid) = options.owner.unwrap_or((0, 0));
    std::os::unix::fs::lchown(&target, Some(uid), Some(gid))
        .map_err(|e| format!("{target_in}: {e}"))?;
    std::fs::set_permissions(
        &target,
        std::fs::Permissions::from_mode(options.mode.unwrap_or(0o644)),
    )
    .map_err(|e| format!("{target_in}: {e}"))
}

/// A directory path in the container, every symlink in it (the last one too) resolved inside
/// `root`.
fn resolve_dir(root: &Path, dir: &str) -> PathBuf {
    resolve_in_root(root, &format!("{}/.", dir.trim_end_matches('/')))
}

/// `mkdir -p` inside the rootfs; new directories are 0755 and root-owned, as Docker makes them.
pub fn make_dirs(root: &Path, path: &str) -> Result<(), String> {
    let mut current = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        current.push('/');
        current.push_str(part);
        // Every symlink resolved inside the rootfs: nothing below follows one on the host.
        let resolved = resolve_dir(root, &current);
        match std::fs::symlink_metadata(&resolved) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(format!(
                    "cannot create directory {current}: a file exists there"
                ));
            }
            Err(_) => {
                std::fs::create_dir_all(&resolved)
                    .map_err(|e| format!("creating {current}: {e}"))?;
                std::fs::set_permissions(&resolved, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("{current}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn remove_non_dir(target: &Path) {
    if std::fs::symlink_metadata(target).is_ok_and(|m| !m.is_dir()) {
        let _ = std::fs::remove_file(target);
    }
}

/// Copies the entries of `src` into `dest` (a path in the container under `root`). Every
/// target is resolved inside `root`, so a symlink the image has where a directory is copied
/// leads somewhere in the rootfs, never to the host.
fn copy_dir_contents(
    root: &Path,
    src: &Path,
    dest: &str,
    keep_owner: bool,
    options: &CopyOptions,
) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta =
            std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if options.in_context.is_some_and(|keep| !keep(&path)) {
            continue;
        }
        let child = format!(
            "{}/{}",
            dest.trim_end_matches('/'),
            entry.file_name().to_string_lossy()
        );
        let target = resolve_in_root(root, &child);
        if meta.is_dir() {
            let is_dir = std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir());
            if !is_dir {
                if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink())
                    && resolve_in_root(root, &format!("{child}/.")).is_dir()
                {
                    // A symlink to a directory inside the rootfs: copy into where it points.
                    copy_dir_contents(root, &path, &format!("{child}/."), keep_owner, options)?;
                    continue;
                }
                remove_non_dir(&target);
                std::fs::create_dir(&target).map_err(|e| format!("{}: {e}", target.display()))?;
            }
            copy_dir_contents(root, &path, &child, keep_owner, options)?;
            set_metadata(&target, &meta, keep_owner, options)?;
        } else {
            copy_entry(&path, &target, &meta, keep_owner, options)?;
        }
    }
    Ok(())
}

fn copy_entry(
    src: &Path,
    target: &Path,
    meta: &std::fs::Metadata,
    keep_owner: bool,
    options: &CopyOptions,
) -> Result<(), String> {
    let err = |e: std::io::Error| format!("copying {}: {e}", src.display());
    remove_non_dir(target);
    if meta.file_type().is_symlink() {
        let link = std::fs::read_link(src).map_err(err)?;
        std::os::unix::fs::symlink(link, target).map_err(err)?;
    } else if meta.is_file() {
        std::fs::copy(src, target).map_err(err)?;
    } else {
        return Ok(()); // devices, fifos and sockets are not copied
    }
    set_metadata(target, meta, keep_owner, options)
}

fn set_metadata(
    target: &Path,
    meta: &std::fs::Metadata,
    keep_owner: bool,
    options: &CopyOptions,
) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", target.display());
    let (uid, gid) = options.owner.unwrap_or(if keep_owner {
        (meta.uid(), meta.gid())
    } else {
        (0, 0)
    });
    std::os::unix::fs::lchown(target, Some(uid), Some(gid)).map_err(err)?;
    if !meta.file_type().is_symlink() {
        let mode = options.mode.unwrap_or(meta.mode() & 0o7777);
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    }
    let mtime = nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    nix::sys::stat::utimensat(
        None,
        target,
        &mtime,
        &mtime,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| format!("{}: {e}", target.display()))
}

/// Opens a file, decompressing it when its content starts with a gzip, bzip2 or xz
/// magic number (Docker's ADD detects the compression by content, never by name).
fn open_maybe_compressed(path: &Path) -> std::io::Result<Box<dyn Read>> {
    use std::io::Seek;
    let mut f = std::fs::File::open(path)?;
    let mut magic = Vec::with_capacity(6);
    (&mut f).take(6).read_to_end(&mut magic)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(f))
    } else if magic.starts_with(b"BZh") {
        Box::new(bzip2::read::BzDecoder::new(f))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Box::new(liblzma::read::XzDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// A local file ADD unpacks: a tar, plain or compressed with gzip, bzip2 or xz.
fn is_tar(path: &Path) -> bool {
    let mut head = Vec::with_capacity(512);
    let Ok(reader) = open_maybe_compressed(path) else {
        return false;
    };
    if reader.take(512).read_to_end(&mut head).is_err() || head.len() < 512 {
        return false;
    }
    &head[257..262] == b"ustar"
}

fn extract(path: &Path, dest: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("extracting {}: {e}", path.display());
    let mut archive = tar::Archive::new(open_maybe_compressed(path).map_err(err)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive.unpack(dest).map_err(err)
}
