//! Layer extraction. Security critical: a layer tar is untrusted input.
//!
//! Rules:
//! - Paths are cleaned lexically: leading `/` and `.` are dropped, `..` pops a component, and a `..`
//!   that would leave the layer directory is an error.
//! - Parents are opened component by component from a directory fd with `O_NOFOLLOW|O_DIRECTORY`,
//!   so a symlink already on disk (made by an earlier entry) is never followed; an entry under such
//!   a symlink is an error. Files are created with `O_CREAT|O_EXCL|O_NOFOLLOW` after removing what
//!   was there.
//! - Hard links must name an already-extracted regular file inside the layer (`linkat` without
//!   `AT_SYMLINK_FOLLOW`).
//! - Char/block devices and fifos are created only when running as root; other special types are
//!   skipped.
//! - Modes (incl. setuid/setgid/sticky), uid/gid (lchown), mtimes and xattrs (best effort, and never
//!   `trusted.overlay.*` from the tar) are kept. chown happens before chmod and xattrs, since chown
//!   clears setuid bits and `security.capability`.
//! - `.wh.NAME` becomes an overlayfs whiteout (char device 0:0 NAME); `.wh..wh..opq` sets
//!   `trusted.overlay.opaque=y` on its directory; other `.wh..wh.*` (aufs metadata) are skipped.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{
    FileStat, Mode, SFlag, UtimensatFlags, fstatat, makedev, mkdirat, mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, linkat, symlinkat, unlinkat};

use crate::Error;
use crate::error::IoContext;

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

/// Cleans a tar path into components inside the layer dir. Empty result = the layer root.
pub(crate) fn clean_path(raw: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("path escapes the layer directory with '..'".into());
                }
            }
            c => {
                if c.contains(&0) {
                    return Err("path contains a NUL byte".into());
                }
                out.push(c.to_vec());
            }
        }
    }
    Ok(out)
}

fn show(comps: &[Vec<u8>]) -> String {
    let v: Vec<String> = comps
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    v.join("/")
}

fn unsafe_entry(raw: &[u8], reason: impl Into<String>) -> Error {
    Error::UnsafeEntry {
        entry: String::from_utf8_lossy(raw).into_owned(),
        reason: reason.into(),
    }
}

fn os(c: &[u8]) -> &OsStr {
    OsStr::from_bytes(c)
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful open(2)-family call and is owned by nobody
    // else; the OwnedFd becomes its only owner and closes it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn open_dir_nofollow(dir: RawFd, name: &[u8]) -> nix::Result<OwnedFd> {
    openat(
        Some(dir),
        os(name),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
}

fn lstat_at(dir: RawFd, name: &[u8]) -> nix::Result<FileStat> {
    fstatat(Some(dir), os(name), AtFlags::AT_SYMLINK_NOFOLLOW)
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// Sets an xattr on an open fd.
fn fset_xattr(fd: RawFd, name: &[u8], value: &[u8]) -> io::Result<()> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `cname` is a valid NUL-terminated string and `value` a valid slice for the duration
    // of the call; fsetxattr does not keep either pointer.
    let rc = unsafe { libc::fsetxattr(fd, cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Metadata from a tar header (plus PAX overrides) to apply to an extracted entry.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
    let h = entry.header();
    let mut m = Meta {
        mode: h.mode()? & 0o7777,
        uid: h.uid()? as u32,
        gid: h.gid()? as u32,
        mtime: h.mtime().unwrap_or(0) as i64,
        xattrs: Vec::new(),
    };
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            let Ok(key) = ext.key() else { continue };
            let val = ext.value_bytes();
            if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                m.xattrs.push((name.as_bytes().to_vec(), val.to_vec()));
            } else if key == "uid" || key == "gid" {
                if let Some(n) = std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok())
                {
                    if key == "uid" { m.uid = n } else { m.gid = n }
                }
            } else if key == "mtime" {
                m.mtime = std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.split('.').next())
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(m.mtime);
            }
        }
    }
    Ok(m)
}

/// Extracts one layer tar into `dest` (an existing, private, empty directory).
pub(crate) fn unpack<R: Read>(reader: R, dest: &Path) -> Result<(), Error> {
    let root = openat(
        None,
        dest,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
    .ctx("open layer directory", dest)?;
    let mut u = Unpacker {
        root,
        root_path: dest.to_path_buf(),
        // SAFETY: geteuid has no preconditions and cannot fail.
        is_root: unsafe { libc::geteuid() } == 0,
        dirs: Vec::new(),
        cache: None,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(Error::InvalidTar)?;
    for entry in entries {
        let mut entry = entry.map_err(Error::InvalidTar)?;
        u.entry(&mut entry)?;
    }
    u.finish_dirs();
    Ok(())
}

struct Unpacker {
    root: OwnedFd,
    root_path: PathBuf,
    is_root: bool,
    /// Directories whose mtime is set at the end (creating children changes it).
    dirs: Vec<(Vec<Vec<u8>>, i64)>,
    /// Last opened parent directory, by components.
    cache: Option<(Vec<Vec<u8>>, OwnedFd)>,
}

impl Unpacker {
    fn path_of(&self, comps: &[Vec<u8>]) -> PathBuf {
        let mut p = self.root_path.clone();
        for c in comps {
            p.push(os(c));
        }
        p
    }

    /// Opens the directory at `comps` without following any symlink; creates missing
    /// directories (mode 0755) when `create`.
    fn open_dir(&mut self, comps: &[Vec<u8>], raw: &[u8], create: bool) -> Result<RawFd, Error> {
        if let Some((_, fd)) = self.cache.as_ref().filter(|(c, _)| c.as_slice() == comps) {
            return Ok(fd.as_raw_fd());
        }
        let mut cur: Option<OwnedFd> = None;
        for (i, c) in comps.iter().enumerate() {
            let dirfd = cur
                .as_ref()
                .map_or(self.root.as_raw_fd(), |f| f.as_raw_fd());
            let next = match open_dir_nofollow(dirfd, c) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) if create => {
                    match mkdirat(Some(dirfd), os(c), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => {
                            return Err(e)
                                .ctx("create parent directory", self.path_of(&comps[..=i]));
                        }
                    }
                    open_dir_nofollow(dirfd, c)
                        .ctx("open parent directory", self.path_of(&comps[..=i]))?
                }
                Err(Errno::ELOOP) | Err(Errno::ENOTDIR) => {
                    let what = match lstat_at(dirfd, c) {
                        Ok(st) if kind(&st) == SFlag::S_IFLNK => "is a symlink",
                        _ => "is not a directory",
                    };
                    return Err(unsafe_entry(
                        raw,
                        format!("parent component {:?} {what}", show(&comps[..=i])),
                    ));
                }
                Err(e) => return Err(e).ctx("open parent directory", self.path_of(&comps[..=i])),
            };
            cur = Some(next);
        }
        let fd = match cur {
            Some(fd) => fd,
            None => nix::unistd::dup(self.root.as_raw_fd())
                .map(owned)
                .ctx("dup layer directory fd", &self.root_path)?,
        };
        let raw_fd = fd.as_raw_fd();
        self.cache = Some((comps.to_vec(), fd));
        Ok(raw_fd)
    }

    /// Removes whatever is at `parent/name`. Returns true if a directory was there and was kept
    /// (`keep_dir`).
    fn clear(&mut self, parent: RawFd, comps: &[Vec<u8>], keep_dir: bool) -> Result<bool, Error> {
        let name = comps.last().expect("non-empty");
        let st = match lstat_at(parent, name) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(false),
            Err(e) => return Err(e).ctx("stat", self.path_of(comps)),
        };
        if kind(&st) == SFlag::S_IFDIR {
            if keep_dir {
                return Ok(true);
            }
            // Every parent was opened with O_NOFOLLOW and the tree is private to this unpack, so
            // the path names exactly this directory; remove_dir_all does not follow symlinks.
            let p = self.path_of(comps);
            std::fs::remove_dir_all(&p).ctx("remove directory", &p)?;
            self.cache = None;
        } else {
            unlinkat(Some(parent), os(name), UnlinkatFlags::NoRemoveDir)
                .ctx("remove", self.path_of(comps))?;
        }
        Ok(false)
    }

    fn apply_meta_fd(&self, fd: RawFd, m: &Meta, path: &Path) -> Result<(), Error> {
        nix::unistd::fchown(fd, Some(Uid::from_raw(m.uid)), Some(Gid::from_raw(m.gid)))
            .ctx("chown", path)?;
        nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(m.mode)).ctx("chmod", path)?;
        self.set_xattrs(fd, m);
        Ok(())
    }

    fn set_xattrs(&self, fd: RawFd, m: &Meta) {
        for (name, value) in &m.xattrs {
            if name.starts_with(b"trusted.overlay.") {
                continue; // overlay metadata is ours to set (opaque), never the tar's
            }
            let _ = fset_xattr(fd, name, value); // best effort, as Docker
        }
    }

    fn set_mtime(&self, parent: RawFd, name: &[u8], mtime: i64, path: &Path) -> Result<(), Error> {
        let t = TimeSpec::new(mtime, 0);
        utimensat(
            Some(parent),
            os(name),
            &t,
            &t,
            UtimensatFlags::NoFollowSymlink,
        )
        .ctx("set mtime", path)
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), Error> {
        let raw = entry.path_bytes().into_owned();
        let comps = clean_path(&raw).map_err(|r| unsafe_entry(&raw, r))?;
        let mut etype = entry.header().entry_type();
        if etype == tar::EntryType::Regular && raw.ends_with(b"/") {
            etype = tar::EntryType::Directory; // old tars mark directories by a trailing slash
        }
        let meta = read_meta(entry).map_err(Error::InvalidTar)?;

        if comps.is_empty() {
            // The layer root itself ("./"): only a directory makes sense; apply its metadata.
            if etype.is_dir() {
                let p = self.root_path.clone();
                self.apply_meta_fd(self.root.as_raw_fd(), &meta, &p)?;
                self.dirs.push((Vec::new(), meta.mtime));
            }
            return Ok(());
        }
        let name = comps.last().unwrap().clone();
        let parent_comps = &comps[..comps.len() - 1];
        let path = self.path_of(&comps);

        // Whiteouts.
        if name.starts_with(WHITEOUT_PREFIX) {
            let parent = self.open_dir(parent_comps, &raw, true)?;
            if name == WHITEOUT_OPAQUE {
                fset_xattr(parent, b"trusted.overlay.opaque", b"y")
                    .ctx("set trusted.overlay.opaque on", self.path_of(parent_comps))?;
                return Ok(());
            }
            if name.starts_with(WHITEOUT_META_PREFIX) {
                return Ok(()); // aufs hardlink dirs etc.: not content
            }
            let real = name[WHITEOUT_PREFIX.len()..].to_vec();
            if real.is_empty() || real == b"." || real == b".." {
                return Err(unsafe_entry(&raw, "whiteout of an invalid name"));
            }
            let mut real_comps = parent_comps.to_vec();
            real_comps.push(real.clone());
            self.clear(parent, &real_comps, false)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            mknodat(
                Some(parent),
                os(&real),
                SFlag::S_IFCHR,
                Mode::empty(),
                makedev(0, 0),
            )
            .ctx("create whiteout", self.path_of(&real_comps))?;
            return Ok(());
        }

        let parent = self.open_dir(parent_comps, &raw, true)?;
        if etype.is_dir() {
            let existed = self.clear(parent, &comps, true)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            if !existed {
                mkdirat(Some(parent), os(&name), Mode::from_bits_truncate(0o700))
                    .ctx("create directory", &path)?;
            }
            let fd = open_dir_nofollow(parent, &name).ctx("open directory", &path)?;
            self.apply_meta_fd(fd.as_raw_fd(), &meta, &path)?;
            self.dirs.push((comps, meta.mtime));
        } else if etype.is_file() || etype.is_contiguous() || etype.is_gnu_sparse() {
            self.clear(parent, &comps, false)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            let fd = openat(
                Some(parent),
                os(&name),
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map(owned)
            .ctx("create file", &path)?;
            let mut file = File::from(fd);
            io::copy(entry, &mut file).map_err(Error::InvalidTar)?;
            self.apply_meta_fd(file.as_raw_fd(), &meta, &path)?;
            self.set_mtime(parent, &name, meta.mtime, &path)?;
        } else if etype.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|c| c.into_owned())
                .ok_or_else(|| unsafe_entry(&raw, "symlink without a target"))?;
            self.clear(parent, &comps, false)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            // The target is stored verbatim; it is never followed while extracting.
            symlinkat(os(&target), Some(parent), os(&name)).ctx("create symlink", &path)?;
            fchownat(
                Some(parent),
                os(&name),
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .ctx("lchown", &path)?;
            self.set_mtime(parent, &name, meta.mtime, &path)?;
        } else if etype.is_hard_link() {
            let target_raw = entry
                .link_name_bytes()
                .map(|c| c.into_owned())
                .ok_or_else(|| unsafe_entry(&raw, "hard link without a target"))?;
            let target = clean_path(&target_raw)
                .map_err(|r| unsafe_entry(&raw, format!("hard link target: {r}")))?;
            if target.is_empty() {
                return Err(unsafe_entry(&raw, "hard link to the layer root"));
            }
            if target == comps {
                return Ok(());
            }
            let tparent = self
                .open_dir(&target[..target.len() - 1], &raw, false)
                .map_err(|e| match e {
                    Error::UnsafeEntry { .. } => e,
                    _ => unsafe_entry(
                        &raw,
                        format!("hard link target {:?} does not exist", show(&target)),
                    ),
                })?;
            let tname = target.last().unwrap();
            match lstat_at(tparent, tname) {
                Ok(st) if kind(&st) == SFlag::S_IFREG => {}
                Ok(_) => {
                    return Err(unsafe_entry(
                        &raw,
                        format!("hard link target {:?} is not a regular file", show(&target)),
                    ));
                }
                Err(_) => {
                    return Err(unsafe_entry(
                        &raw,
                        format!(
                            "hard link target {:?} does not exist in the layer",
                            show(&target)
                        ),
                    ));
                }
            }
            // Keep the target's parent open across clear() (which may reset the cache).
            let tparent = nix::unistd::dup(tparent).map(owned).ctx("dup fd", &path)?;
            // The cache now holds the target's parent: reopen ours before use.
            let parent = self.open_dir(parent_comps, &raw, true)?;
            self.clear(parent, &comps, false)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            linkat(
                Some(tparent.as_raw_fd()),
                os(tname),
                Some(parent),
                os(&name),
                AtFlags::empty(),
            )
            .ctx("create hard link", &path)?;
        } else if etype.is_character_special() || etype.is_block_special() || etype.is_fifo() {
            if !self.is_root {
                return Ok(()); // devices and fifos only when root, as Docker
            }
            let (kind, dev) = if etype.is_fifo() {
                (SFlag::S_IFIFO, 0)
            } else {
                let h = entry.header();
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let k = if etype.is_block_special() {
                    SFlag::S_IFBLK
                } else {
                    SFlag::S_IFCHR
                };
                (k, makedev(major as u64, minor as u64))
            };
            self.clear(parent, &comps, false)?;
            let parent = self.open_dir(parent_comps, &raw, true)?;
            mknodat(
                Some(parent),
                os(&name),
                kind,
                Mode::from_bits_truncate(meta.mode & 0o777),
                dev,
            )
            .ctx("create device node", &path)?;
            fchownat(
                Some(parent),
                os(&name),
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .ctx("chown", &path)?;
            nix::sys::stat::fchmodat(
                Some(parent),
                os(&name),
                Mode::from_bits_truncate(meta.mode),
                nix::sys::stat::FchmodatFlags::NoFollowSymlink,
            )
            .ctx("chmod", &path)?;
            self.set_mtime(parent, &name, meta.mtime, &path)?;
        }
        // Anything else (sockets, unknown types) is skipped.
        Ok(())
    }

    /// Sets directory mtimes last, deepest first; failures are ignored (a later entry may have
    /// replaced the directory).
    fn finish_dirs(&mut self) {
        self.cache = None;
        let dirs = std::mem::take(&mut self.dirs);
        for (comps, mtime) in dirs.iter().rev() {
            let t = TimeSpec::new(*mtime, 0);
            if comps.is_empty() {
                let _ = nix::sys::stat::futimens(self.root.as_raw_fd(), &t, &t);
                continue;
            }
            let Ok(parent) = self.open_dir(&comps[..comps.len() - 1], b"", false) else {
                continue;
            };
            let _ = utimensat(
                Some(parent),
                os(comps.last().unwrap()),
                &t,
                &t,
                UtimensatFlags::NoFollowSymlink,
            );
        }
    }
}
