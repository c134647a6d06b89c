//! The root the container's processes see: the host's 9p share of the container's rootfs at
//! /newroot with /proc, /sys (read-only), a minimal /dev and /dev/shm, then the launch's
//! mounts in order and the files laid over it by bind mount (their content lives in the
//! guest's /run tmpfs; the shared root only gets an empty mount point when it lacks one, as
//! runc does). Processes enter it with chroot: the VM, not the chroot, is the boundary.
//! Without a shared root (a machine) the initramfs's tree is the root, moved to a tmpfs first
//! (`switch_root`) so the Docker host inside can pivot its containers' roots.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};

use super::boot::mount_fs;
use crate::config::{GuestFile, GuestMount, ROOT_TAG};

/// Where the container's root is mounted in the initramfs.
pub const NEW_ROOT: &str = "/newroot";

/// 9p options: version 9p2000.L, 512 KiB messages; `cache=mmap` lets binaries be mapped
/// (exec) while every read and write still goes to the host, which keeps the host's view and
/// the guest's the same (the rootfs is the container's, `berth cp` and `diff` read it).
const NINEP_OPTIONS: &str = "trans=virtio,version=9p2000.L,msize=524288,cache=mmap";

/// Mounts the container's root and what goes under it; returns the root processes chroot to.
pub fn prepare(
    shared_root: bool,
    mounts: &[GuestMount],
    files: &[GuestFile],
) -> Result<PathBuf, String> {
    let root = if shared_root {
        let root = PathBuf::from(NEW_ROOT);
        mount_fs(ROOT_TAG, &root, "9p", MsFlags::empty(), Some(NINEP_OPTIONS))?;
        let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount_fs("proc", &root.join("proc"), "proc", nosuid, None)?;
        mount_fs(
            "sysfs",
            &root.join("sys"),
            "sysfs",
            nosuid | MsFlags::MS_RDONLY,
            None,
        )?;
        minimal_dev(&root.join("dev"))?;
        root
    } else {
        super::switch_root::to_tmpfs()?;
        host_mounts()?;
        PathBuf::from("/")
    };
    for guest_mount in mounts {
        mount_one(&root, guest_mount)?;
    }
    for (index, file) in files.iter().enumerate() {
        lay_over(&root, index, file)?;
    }
    Ok(root)
}

/// What a Docker host (a machine, whose root is the initramfs) has on top of the agent's own
/// mounts: /dev/shm, /tmp and the cgroup2 hierarchy.
fn host_mounts() -> Result<(), String> {
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount_fs(
        "shm",
        Path::new("/dev/shm"),
        "tmpfs",
        nosuid | MsFlags::MS_NOEXEC,
        Some("mode=1777"),
    )?;
    mount_fs(
        "tmpfs",
        Path::new("/tmp"),
        "tmpfs",
        nosuid,
        Some("mode=1777"),
    )?;
    mount_fs(
        "cgroup2",
        Path::new("/sys/fs/cgroup"),
        "cgroup2",
        nosuid | MsFlags::MS_NOEXEC,
        None,
    )
}

/// `path` (absolute, in the container's terms) under `root`.
pub fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// A tmpfs /dev with Docker's device nodes, its own devpts instance and /dev/shm (the guest's
/// devtmpfs would show the container the agent's port and every disk).
fn minimal_dev(dev: &Path) -> Result<(), String> {
    mount_fs(
        "tmpfs",
        dev,
        "tmpfs",
        MsFlags::MS_NOSUID,
        Some("mode=755,size=65536k"),
    )?;
    let char_device = |name: &str, major: u64, minor: u64| -> Result<(), String> {
        let path = dev.join(name);
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .map_err(|e| format!("mknod {}: {e}", path.display()))?;
        // mknod's mode passes through the umask.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666))
            .map_err(|e| format!("chmod {}: {e}", path.display()))
    };
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        char_device(name, major, minor)?;
    }
    mount_fs(
        "devpts",
        &dev.join("pts"),
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    mount_fs(
        "shm",
        &dev.join("shm"),
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .map_err(|e| format!("symlink /dev/{link}: {e}"))?;
    }
    Ok(())
}

fn mount_one(root: &Path, guest_mount: &GuestMount) -> Result<(), String> {
    match guest_mount {
        GuestMount::Share {
            tag,
            destination,
            readonly,
        } => {
            let flags = if *readonly {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
            mount_fs(
                tag,
                &inside(root, destination),
                "9p",
                flags,
                Some(NINEP_OPTIONS),
            )
        }
        GuestMount::Tmpfs {
            destination,
            options,
        } => mount_fs(
            "tmpfs",
            &inside(root, destination),
            "tmpfs",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options).filter(|o| !o.is_empty()).map(|o| o.as_str()),
        ),
        GuestMount::Disk {
            serial,
            destination,
            fstype,
        } => {
            let device = disk_by_serial(serial)?;
            mount_fs(
                &device.to_string_lossy(),
                &inside(root, destination),
                fstype,
                MsFlags::empty(),
                None,
            )
        }
    }
}

/// The virtio-blk disk whose serial is `serial` (/sys/block/*/serial).
fn disk_by_serial(serial: &str) -> Result<PathBuf, String> {
    let entries = fs::read_dir("/sys/block").map_err(|e| format!("/sys/block: {e}"))?;
    for entry in entries.flatten() {
        let found = fs::read_to_string(entry.path().join("serial")).unwrap_or_default();
        if found.trim() == serial {
            return Ok(Path::new("/dev").join(entry.file_name()));
        }
    }
    Err(format!("no disk with serial {serial:?} in /sys/block"))
}

/// 0644, but 0600 for a private key (a machine's TLS `*key.pem`): GuestFile carries no mode.
fn file_mode(path: &str) -> u32 {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with("key.pem") || name.ends_with(".key") {
        0o600
    } else {
        0o644
    }
}

/// Writes the file's content to /run and bind-mounts it over its path in the root.
fn lay_over(root: &Path, index: usize, file: &GuestFile) -> Result<(), String> {
    let staging = PathBuf::from(format!("/run/berth-files/{index}"));
    let _ = fs::create_dir_all("/run/berth-files");
    fs::write(&staging, &file.content).map_err(|e| format!("{}: {e}", staging.display()))?;
    fs::set_permissions(&staging, fs::Permissions::from_mode(file_mode(&file.path)))
        .map_err(|e| format!("{}: {e}", staging.display()))?;
    let target = inside(root, &file.path);
    if !target.exists() {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&target, b"").map_err(|e| format!("{}: {e}", target.display()))?;
    }
    mount(
        Some(&staging),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        format!(
            "bind-mounting {} over {}: {e}",
            staging.display(),
            file.path
        )
    })
}
