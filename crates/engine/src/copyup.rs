//! The first-use copy of an image's content into an empty volume (Docker's copy-up): files,
//! directories, symlinks and special files, with owners, modes, times and xattrs where the
//! target filesystem allows. Files hard-linked together stay hard-linked in the copy.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Copies already made, by the source's (device, inode), for files with several links.
type Links = HashMap<(u64, u64), PathBuf>;

/// Copies the content of directory `src` into directory `dst`, and gives `dst` the owner and
/// mode of `src`.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links = Links::new();
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        copy_entry(&entry.path(), &dst.join(entry.file_name()), &mut links)?;
    }
    copy_metadata(src, dst, &std::fs::symlink_metadata(src)?)
}

fn copy_entry(src: &Path, dst: &Path, links: &mut Links) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    let kind = meta.file_type();
    if !kind.is_dir() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return std::fs::hard_link(first, dst);
        }
        links.insert((meta.dev(), meta.ino()), dst.to_path_buf());
    }
    if kind.is_dir() {
        std::fs::create_dir(dst)?;
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            copy_entry(&entry.path(), &dst.join(entry.file_name()), links)?;
        }
    } else if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
    } else if kind.is_file() {
        std::fs::copy(src, dst)?;
    } else {
        let c_dst = c_path(dst)?;
        // SAFETY: mknod with a NUL-terminated path and the source's own mode and device.
        if unsafe { libc::mknod(c_dst.as_ptr(), meta.mode(), meta.rdev()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    copy_metadata(src, dst, &meta)
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// Owner, xattrs, mode (after chown, which clears setuid bits) and times; never follows a link.
fn copy_metadata(src: &Path, dst: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    copy_xattrs(src, dst);
    let is_link = meta.file_type().is_symlink();
    if !is_link {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let c_dst = c_path(dst)?;
    let times = [
        libc::timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec(),
        },
        libc::timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec(),
        },
    ];
    // SAFETY: utimensat with a NUL-terminated path and two valid timespecs.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c_dst.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    Ok(())
}

/// Best effort: a filesystem without xattrs (or a namespace we may not write) skips them.
fn copy_xattrs(src: &Path, dst: &Path) {
    let (Ok(c_src), Ok(c_dst)) = (c_path(src), c_path(dst)) else {
        return;
    };
    let mut names = vec![0u8; 4096];
    // SAFETY: llistxattr writes at most names.len() bytes into a buffer we own.
    let n = unsafe { libc::llistxattr(c_src.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return;
    }
    for name in names[..n as usize]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
    {
        let Ok(c_name) = CString::new(name) else {
            continue;
        };
        let mut value = vec![0u8; 65536];
        // SAFETY: lgetxattr writes at most value.len() bytes into a buffer we own.
        let len = unsafe {
            libc::lgetxattr(
                c_src.as_ptr(),
                c_name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            continue;
        }
        // SAFETY: lsetxattr reads `len` bytes from a buffer we own.
        unsafe {
            libc::lsetxattr(
                c_dst.as_ptr(),
                c_name.as_ptr(),
                value.as_ptr().cast(),
                len as usize,
                0,
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_links_modes() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::create_dir(&dst).unwrap();
        std::fs::write(src.join("sub/f"), "hello").unwrap();
        std::fs::set_permissions(src.join("sub/f"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        std::os::unix::fs::symlink("sub/f", src.join("link")).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o711)).unwrap();
        std::fs::hard_link(src.join("sub/f"), src.join("hard")).unwrap();
        let name = CString::new("user.berth-test").unwrap();
        let c_src = c_path(&src.join("sub/f")).unwrap();
        // SAFETY: lsetxattr with NUL-terminated path and name and a 2-byte value we own.
        let xattrs =
            unsafe { libc::lsetxattr(c_src.as_ptr(), name.as_ptr(), b"v1".as_ptr().cast(), 2, 0) }
                == 0;
        copy_tree(&src, &dst).unwrap();
        assert_eq!(std::fs::read_to_string(dst.join("sub/f")).unwrap(), "hello");
        assert_eq!(
            std::fs::metadata(dst.join("sub/f")).unwrap().mode() & 0o777,
            0o640
        );
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("sub/f")
        );
        assert_eq!(std::fs::metadata(&dst).unwrap().mode() & 0o777, 0o711);
        let (a, b) = (
            std::fs::metadata(dst.join("sub/f")).unwrap(),
            std::fs::metadata(dst.join("hard")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino(), "a hard link stays one");
        if xattrs {
            let c_dst = c_path(&dst.join("sub/f")).unwrap();
            let mut value = [0u8; 8];
            // SAFETY: lgetxattr into a buffer we own, of the length we pass.
            let n = unsafe {
                libc::lgetxattr(
                    c_dst.as_ptr(),
                    name.as_ptr(),
                    value.as_mut_ptr().cast(),
                    value.len(),
                )
            };
            assert_eq!(&value[..n.max(0) as usize], b"v1");
        }
    }
}
