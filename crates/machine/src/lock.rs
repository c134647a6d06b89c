//! The per-machine lock: every command that reads or changes a machine holds it, so a `start`
//! racing a `stop` or two `create`s of one name cannot interleave. An flock on
//! `<BERTH_RUN>/machines/<name>.lock`: the kernel drops it when its holder dies, so a killed
//! command never leaves the machine locked. `rm` unlinks the file while holding it; a waiter that
//! then gets the lock on the unlinked file sees its inode gone from the path and locks again.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::MachineError;

pub struct MachineLock {
    _flock: Flock<File>,
    path: PathBuf,
}

impl MachineLock {
    pub fn acquire(path: &Path) -> Result<MachineLock, MachineError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(MachineError::io("creating", dir))?;
        }
        loop {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(MachineError::io("opening the lock", path))?;
            let flock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
                MachineError::Io {
                    what: "locking",
                    path: path.to_path_buf(),
                    source: errno.into(),
                }
            })?;
            let held = flock
                .metadata()
                .map_err(MachineError::io("checking the lock", path))?;
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                    return Ok(MachineLock {
                        _flock: flock,
                        path: path.to_path_buf(),
                    });
                }
                // Unlinked (or replaced) by an `rm` while this process waited: lock anew.
                _ => continue,
            }
        }
    }

    /// Removes the lock file (the machine is gone); the lock holds until this value drops.
    pub fn unlink(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
