//! The container's root filesystem: an overlay of the image's unpacked layers (read-only,
//! shared) under the container's own upper/work directories; plus the files Docker writes for
//! every container (/etc/hosts, /etc/hostname, /etc/resolv.conf) are the networks module's.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::Error;

/// The overlay's options must fit in one page with the classic mount(2).
const MOUNT_DATA_LIMIT: usize = 4000;

/// Mounts the overlay at `target` unless something is mounted there already (a restart).
/// `volatile` skips every sync to the upper dir (overlayfs `volatile`, Linux 5.10+): for
/// containers removed when they exit (`--rm`), whose writes need not survive a host crash;
/// it spares a sync of the whole host filesystem at unmount.
///
/// Layers whose paths do not fit in one page (40-odd with the store's paths) go through the new
/// mount API, one `lowerdir+` per layer (Linux 6.8+), else through short relative names (how
/// Docker's overlay2 does it).
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    volatile: bool,
) -> Result<(), Error> {
    std::fs::create_dir_all(target)
        .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
    if is_mountpoint(target) {
        return Ok(());
    }
    // overlayfs wants the top-most lower layer first.
    let top_first: Vec<&Path> = lowers.iter().rev().map(PathBuf::as_path).collect();
    let failed = |e: std::io::Error| {
        Error::io(
            format!(
                "mounting the container's overlay rootfs at {}",
                target.display()
            ),
            e,
        )
    };
    if volatile {
        // A volatile mount refuses to come back after a crash until its marker is gone.
        let _ = std::fs::remove_dir_all(work.join("work/incompat"));
        if mount_overlay_with(&top_first, upper, work, target, true).is_ok() {
            return Ok(());
        }
    }
    mount_overlay_with(&top_first, upper, work, target, false).map_err(failed)
}

fn mount_overlay_with(
    top_first: &[&Path],
    upper: &Path,
    work: &Path,
    target: &Path,
    volatile: bool,
) -> std::io::Result<()> {
    let options = |lowerdir: &str| {
        let mut data = format!(
            "lowerdir={lowerdir},upperdir={},workdir={}",
            upper.display(),
            work.display()
        );
        if volatile {
            data.push_str(",volatile");
        }
        data
    };
    let joined: Vec<String> = top_first.iter().map(|p| p.display().to_string()).collect();
    let data = options(&joined.join(":"));
    if data.len() < MOUNT_DATA_LIMIT {
        return mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(data.as_str()),
        )
        .map_err(std::io::Error::from);
    }
    match overlay_fsmount::mount(top_first, upper, work, target, volatile) {
        Err(e) if overlay_fsmount::unsupported(&e) => {
            short_names::mount(top_first, target, &options)
        }
        result => result,
    }
}

/// The new mount API (fsopen/fsconfig/fsmount/move_mount): no page limit on the options.
mod overlay_fsmount {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_SET_FLAG: libc::c_uint = 0;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

    /// The kernel lacks the new mount API or `lowerdir+` (before 6.8).
    pub fn unsupported(e: &std::io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP)
        )
    }

    fn c(s: &[u8]) -> std::io::Result<CString> {
        CString::new(s).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
    }

    fn check(r: libc::c_long) -> std::io::Result<libc::c_long> {
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    fn owned(r: libc::c_long) -> OwnedFd {
        // SAFETY: `r` is a new descriptor returned by the kernel that nobody else owns.
        unsafe { OwnedFd::from_raw_fd(r as i32) }
    }

    fn set(fs: &OwnedFd, key: &str, value: Option<&[u8]>) -> std::io::Result<()> {
        let key = c(key.as_bytes())?;
        let value = value.map(c).transpose()?;
        let (cmd, ptr) = match &value {
            Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        // SAFETY: fsconfig(2) on our fs context fd with NUL-terminated key and value (or null
        // for a flag), aux 0.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                cmd,
                key.as_ptr(),
                ptr,
                0,
            )
        })
        .map(|_| ())
    }

    pub fn mount(
        top_first: &[&Path],
        upper: &Path,
        work: &Path,
        target: &Path,
        volatile: bool,
    ) -> std::io::Result<()> {
        let mnt = detached(top_first, upper, work, volatile)?;
        let target = c(target.as_os_str().as_bytes())?;
        let empty = c(b"")?;
        // SAFETY: move_mount(2) of our detached mount fd onto a NUL-terminated absolute path.
        check(unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                mnt.as_raw_fd(),
                empty.as_ptr(),
                libc::AT_FDCWD,
                target.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            )
        })
        .map(|_| ())
    }

    /// The overlay as a mount attached nowhere: its fd is the only way to it.
    pub fn detached(
        top_first: &[&Path],
        upper: &Path,
        work: &Path,
        volatile: bool,
    ) -> std::io::Result<OwnedFd> {
        let name = c(b"overlay")?;
        // SAFETY: fsopen(2) with a NUL-terminated filesystem name.
        let fs = owned(check(unsafe {
            libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC)
        })?);
        for lower in top_first {
            set(&fs, "lowerdir+", Some(lower.as_os_str().as_bytes()))?;
        }
        set(&fs, "upperdir", Some(upper.as_os_str().as_bytes()))?;
        set(&fs, "workdir", Some(work.as_os_str().as_bytes()))?;
        if volatile {
            set(&fs, "volatile", None)?;
        }
        // SAFETY: fsconfig(2) CMD_CREATE on our fs context fd, no key or value.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_char>(),
                0,
            )
        })?;
        // SAFETY: fsmount(2) on the created fs context, no mount attributes.
        Ok(owned(check(unsafe {
            libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0)
        })?))
    }
}

/// A mount no path leads to, held by a descriptor: it goes when the descriptor is closed,
/// by a kill -9 of its holder too. For work on a rootfs that must not outlive the process
/// doing it (a client filling a new container's volumes from its image).
pub(crate) struct DetachedMount(std::os::fd::OwnedFd);

impl DetachedMount {
    /// The mount's root as a path this process can open and walk (`/proc/self/fd/N`).
    pub(crate) fn path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()))
    }
}

/// A container's overlay rootfs as a [`DetachedMount`]: with the new mount API it is never
/// attached anywhere; on older kernels it is mounted at `target` (which must not be a mount
/// point yet) and detached at once.
pub(crate) fn overlay_detached(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<DetachedMount, Error> {
    let top_first: Vec<&Path> = lowers.iter().rev().map(PathBuf::as_path).collect();
    match overlay_fsmount::detached(&top_first, upper, work, false) {
        Ok(fd) => return Ok(DetachedMount(fd)),
        Err(e) if overlay_fsmount::unsupported(&e) => {}
        Err(e) => {
            return Err(Error::io("mounting the container's overlay rootfs", e));
        }
    }
    if is_mountpoint(target) {
        return Err(Error::Internal(format!(
            "{} is mounted already",
            target.display()
        )));
    }
    mount_overlay(lowers, upper, work, target, false)?;
    let held = nix::fcntl::open(
        target,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    );
    let detached = umount2(target, MntFlags::MNT_DETACH);
    match (held, detached) {
        // SAFETY: `fd` is a new descriptor returned by open(2) that nobody else owns.
        (Ok(fd), Ok(())) => Ok(DetachedMount(unsafe {
            std::os::fd::FromRawFd::from_raw_fd(fd)
        })),
        (held, detached) => {
            if let Ok(fd) = held {
                let _ = nix::unistd::close(fd);
            }
            Err(Error::Internal(format!(
                "detaching the overlay at {}: {:?}",
                target.display(),
                detached.err()
            )))
        }
    }
}

/// The fallback for kernels before 6.8: the layers get one-number symlinks in a scratch
/// directory, and a forked child mounts from there with relative lower paths. overlayfs resolves
/// the paths at mount time, so the symlinks go right after.
mod short_names {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    pub fn mount(
        top_first: &[&Path],
        target: &Path,
        options: &dyn Fn(&str) -> String,
    ) -> std::io::Result<()> {
        /// The symlinks' directory, removed on every path out.
        struct Links(std::path::PathBuf);
        impl Drop for Links {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let parent = target.parent().unwrap_or(Path::new("/"));
        let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let links = Links(parent.join(format!(".lowers-{}-{unique}", std::process::id())));
        let _ = std::fs::remove_dir_all(&links.0);
        std::fs::create_dir(&links.0)?;
        for (i, lower) in top_first.iter().enumerate() {
            std::os::unix::fs::symlink(lower, links.0.join(i.to_string()))?;
        }
        let names: Vec<String> = (0..top_first.len()).map(|i| i.to_string()).collect();
        let data = options(&names.join(":"));
        let invalid = |_| std::io::Error::from_raw_os_error(libc::EINVAL);
        let dir = CString::new(links.0.as_os_str().as_bytes()).map_err(invalid)?;
        let target = CString::new(target.as_os_str().as_bytes()).map_err(invalid)?;
        let data = CString::new(data).map_err(invalid)?;
        let overlay = CString::new("overlay").map_err(invalid)?;
        // The chdir must not move the other threads of this process: a child does it.
        // SAFETY: the child only makes async-signal-safe calls (chdir, mount, _exit) on
        // buffers prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above; the child never returns into Rust code.
            unsafe {
                let code = if libc::chdir(dir.as_ptr()) == 0
                    && libc::mount(
                        overlay.as_ptr(),
                        target.as_ptr(),
                        overlay.as_ptr(),
                        0,
                        data.as_ptr().cast(),
                    ) == 0
                {
                    0
                } else {
                    *libc::__errno_location()
                };
                libc::_exit(code);
            }
        }
        let mut status = 0;
        // SAFETY: waitpid on the child we just forked, with a valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
            Some(0) => Ok(()),
            Some(errno) => Err(std::io::Error::from_raw_os_error(errno)),
            None => Err(std::io::Error::other("the mounting child died")),
        }
    }
}

/// Lazily unmounts `target` if it is mounted; missing or unmounted is fine.
pub fn unmount(target: &Path) {
    if is_mountpoint(target) {
        let _ = umount2(target, MntFlags::MNT_DETACH);
    }
}

/// Whether `path` is a mount point (its device differs from its parent's, or it is listed).
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(me), Some(parent)) = (std::fs::metadata(path), path.parent()) else {
        return false;
    };
    match std::fs::metadata(parent) {
        Ok(p) => me.dev() != p.dev(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 80 layers with long paths, mounted through each way; every layer's file shows through,
    /// the top-most layer wins.
    fn mounts_many_layers(how: &str) {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            // Under CI a test that cannot run fails; elsewhere it says so.
            assert!(std::env::var_os("CI").is_none(), "mounting needs root");
            eprintln!("skipping: mounting needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let lowers: Vec<PathBuf> = (0..80)
            .map(|i| {
                let layer = dir.path().join(format!("{i:02}-{}", "x".repeat(100)));
                std::fs::create_dir_all(&layer).unwrap();
                std::fs::write(layer.join(format!("f{i}")), "").unwrap();
                std::fs::write(layer.join("top"), format!("{i}")).unwrap();
                layer
            })
            .collect();
        let (upper, work, target) = (
            dir.path().join("upper"),
            dir.path().join("work"),
            dir.path().join("merged"),
        );
        for d in [&upper, &work, &target] {
            std::fs::create_dir_all(d).unwrap();
        }
        let top_first: Vec<&Path> = lowers.iter().rev().map(PathBuf::as_path).collect();
        let options = |lowerdir: &str| {
            format!(
                "lowerdir={lowerdir},upperdir={},workdir={}",
                upper.display(),
                work.display()
            )
        };
        let result = match how {
            "fsmount" => overlay_fsmount::mount(&top_first, &upper, &work, &target, false),
            _ => short_names::mount(&top_first, &target, &options),
        };
        let seen = (
            std::fs::read_to_string(target.join("top")).ok(),
            (0..80).all(|i| target.join(format!("f{i}")).exists()),
        );
        unmount(&target);
        result.unwrap();
        assert_eq!(seen, (Some("79".to_string()), true));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".lowers-"))
            .collect();
        assert!(left.is_empty(), "symlink dirs left: {left:?}");
    }

    #[test]
    fn many_layers_mount_through_the_new_mount_api() {
        mounts_many_layers("fsmount");
    }

    #[test]
    fn many_layers_mount_through_short_relative_names() {
        mounts_many_layers("short");
    }
}
