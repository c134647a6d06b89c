//! Layer diffs: an overlayfs upper directory becomes a Docker-format layer tar. Overlay's
//! whiteouts (0/0 character devices) become `.wh.NAME` entries, opaque directories
//! (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry, hard links inside the layer stay
//! hard links. Entries are written in sorted order so the same upper gives the same diff_id.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Paths a container runtime creates as mount points; empty ones are not part of a diff.
const MOUNT_POINTS: &[&str] = &[
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "dev",
    "proc",
    "sys",
    ".dockerenv",
];

/// Writes the tar of the changes recorded in `upper` to `out`.
pub fn write_diff(upper: &Path, out: impl Write) -> io::Result<()> {
    write_diff_leaving_out(upper, &[], out)
}

/// [`write_diff`], leaving out the container paths in `left_out` ("/etc/hosts", "/proc"; a
/// directory with everything under it) whatever they hold, and a directory that holds nothing
/// else (an /etc made only for /etc/hosts). `docker commit` leaves the engine's own files out.
pub fn write_diff_leaving_out(
    upper: &Path,
    left_out: &[String],
    out: impl Write,
) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut walk = Walk {
        tar: builder,
        links: HashMap::new(),
        left_out,
    };
    walk.dir(upper, "")?;
    walk.tar.into_inner()?.flush()
}

struct Walk<'a, W: Write> {
    tar: tar::Builder<W>,
    links: HashMap<(u64, u64), String>,
    left_out: &'a [String],
}

impl<W: Write> Walk<'_, W> {
    fn is_left_out(&self, rel: &str) -> bool {
        self.left_out
            .iter()
            .any(|p| p.trim_start_matches('/') == rel)
    }

    fn holds_left_out(&self, rel: &str) -> bool {
        self.left_out.iter().any(|p| {
            let p = p.trim_start_matches('/');
            p.len() > rel.len() && p.starts_with(rel) && p.as_bytes()[rel.len()] == b'/'
        })
    }

    /// Whether directory `dir` (at `rel`) holds only left-out paths, directly or in
    /// directories that do (an opaque directory is a change of its own).
    fn holds_only_left_out(&self, dir: &Path, rel: &str) -> io::Result<bool> {
        if xattr(dir, "trusted.overlay.opaque").as_deref() == Some(b"y") {
            return Ok(false);
        }
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let child = format!("{rel}/{}", entry.file_name().to_string_lossy());
            if self.is_left_out(&child) {
                continue;
            }
            let meta = entry.metadata()?;
            let whiteout = meta.file_type().is_char_device() && meta.rdev() == 0;
            if whiteout
                || !meta.is_dir()
                || !self.holds_left_out(&child)
                || !self.holds_only_left_out(&entry.path(), &child)?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn dir(&mut self, dir: &Path, rel: &str) -> io::Result<()> {
        let mut names: Vec<_> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let name = name.to_string_lossy().into_owned();
            let entry_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            if self.is_left_out(&entry_rel)
                || (ft.is_dir()
                    && self.holds_left_out(&entry_rel)
                    && self.holds_only_left_out(&path, &entry_rel)?)
            {
                continue;
            }
            let tar = &mut self.tar;
            if ft.is_char_device() && meta.rdev() == 0 {
                let wh = if rel.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{rel}/.wh.{name}")
                };
                let mut h = header(&meta, tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                tar.append_data(&mut h, wh, io::empty())?;
                continue;
            }
            if MOUNT_POINTS.contains(&entry_rel.as_str()) && is_empty(&path, &meta) {
                continue;
            }
            if ft.is_dir() {
                let mut h = header(&meta, tar::EntryType::Directory);
                tar.append_data(&mut h, format!("{entry_rel}/"), io::empty())?;
                if xattr(&path, "trusted.overlay.opaque").as_deref() == Some(b"y") {
                    let mut h = header(&meta, tar::EntryType::Regular);
                    h.set_size(0);
                    h.set_mode(0o644);
                    tar.append_data(&mut h, format!("{entry_rel}/.wh..wh..opq"), io::empty())?;
                }
                self.dir(&path, &entry_rel)?;
            } else if ft.is_symlink() {
                let mut h = header(&meta, tar::EntryType::Symlink);
                let target = fs::read_link(&path)?;
                tar.append_link(&mut h, &entry_rel, target)?;
            } else if ft.is_file() {
                if meta.nlink() > 1 {
                    if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                        let mut h = header(&meta, tar::EntryType::Link);
                        tar.append_link(&mut h, &entry_rel, first)?;
                        continue;
                    }
                    self.links
                        .insert((meta.dev(), meta.ino()), entry_rel.clone());
                }
                let mut h = header(&meta, tar::EntryType::Regular);
                h.set_size(meta.len());
                tar.append_data(&mut h, &entry_rel, fs::File::open(&path)?)?;
            } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
                let kind = if ft.is_fifo() {
                    tar::EntryType::Fifo
                } else if ft.is_char_device() {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Block
                };
                let mut h = header(&meta, kind);
                let rdev = meta.rdev();
                h.set_device_major(libc::major(rdev))?;
                h.set_device_minor(libc::minor(rdev))?;
                tar.append_data(&mut h, &entry_rel, io::empty())?;
            }
            // Sockets are not part of a layer.
        }
        Ok(())
    }
}

fn is_empty(path: &Path, meta: &fs::Metadata) -> bool {
    if meta.is_dir() {
        fs::read_dir(path)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
    } else {
        meta.is_file() && meta.len() == 0
    }
}

fn header(meta: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(meta.uid() as u64);
    h.set_gid(meta.gid() as u64);
    h.set_mtime(meta.mtime().max(0) as u64);
    h.set_size(0);
    h
}

/// An extended attribute of `path` itself (not following symlinks), if set.
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = [0u8; 64];
    // SAFETY: both strings are NUL-terminated and live across the call; buf is writable for its length.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_opaque_dirs_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path();
        fs::create_dir_all(up.join("etc/app")).unwrap();
        fs::write(up.join("etc/app/conf"), "x").unwrap();
        fs::hard_link(up.join("etc/app/conf"), up.join("etc/app/conf2")).unwrap();
        std::os::unix::fs::symlink("conf", up.join("etc/app/link")).unwrap();
        nix::sys::stat::mknod(
            &up.join("etc/gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        fs::create_dir(up.join("opq")).unwrap();
        let p = CString::new(up.join("opq").as_os_str().as_bytes()).unwrap();
        // SAFETY: NUL-terminated strings and a valid value buffer.
        let rc = unsafe {
            libc::lsetxattr(
                p.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(rc, 0, "needs root for trusted.* xattrs");
        fs::write(up.join("etc/hosts"), "").unwrap();
        let mut out = Vec::new();
        write_diff(up, &mut out).unwrap();
        let mut ar = tar::Archive::new(&out[..]);
        let entries: Vec<(String, tar::EntryType)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().entry_type(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "etc/",
                "etc/app/",
                "etc/app/conf",
                "etc/app/conf2",
                "etc/app/link",
                "etc/.wh.gone",
                "opq/",
                "opq/.wh..wh..opq"
            ]
        );
        assert_eq!(entries[3].1, tar::EntryType::Link);
        assert_eq!(entries[4].1, tar::EntryType::Symlink);
        let mut again = Vec::new();
        write_diff(up, &mut again).unwrap();
        assert_eq!(out, again, "the same upper gives the same tar");
    }

    #[test]
    fn left_out_paths_and_the_directories_made_for_them_are_not_in_the_diff() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path();
        fs::create_dir_all(up.join("etc")).unwrap();
        fs::write(up.join("etc/hosts"), "127.0.0.1 x\n").unwrap();
        fs::write(up.join("etc/hostname"), "x\n").unwrap();
        fs::create_dir_all(up.join("proc/self")).unwrap();
        fs::create_dir_all(up.join("data")).unwrap();
        fs::write(up.join("data/x"), "x").unwrap();
        fs::create_dir_all(up.join("vol")).unwrap();
        fs::create_dir_all(up.join("run/secrets")).unwrap();
        fs::write(up.join("run/kept"), "k").unwrap();
        let left_out: Vec<String> = [
            "/etc/hosts",
            "/etc/hostname",
            "/proc",
            "/vol",
            "/run/secrets",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut out = Vec::new();
        write_diff_leaving_out(up, &left_out, &mut out).unwrap();
        let mut ar = tar::Archive::new(&out[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["data/", "data/x", "run/", "run/kept"]);
    }
}
