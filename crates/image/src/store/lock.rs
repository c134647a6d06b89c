//! The store's gc lock (`gc.lock`): writers hold it shared, `gc` and `discard` exclusively.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::Store;
use crate::Error;
use crate::error::IoContext;

/// A held flock; released on drop (closing the fd).
pub(crate) struct Lock(#[allow(dead_code)] File);

/// A shared hold on the store's gc lock: `gc` (which takes it exclusively) cannot delete
/// blobs that the holder is adding.
pub(crate) fn shared_gc_lock(store: &Store) -> Result<Lock, Error> {
    lock(&store.root().join("gc.lock"), false)
}

pub(super) fn lock(path: &Path, exclusive: bool) -> Result<Lock, Error> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .ctx("open lock file", path)?;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: flock on a valid, open fd owned by `f`; no memory is passed.
        let rc = unsafe { libc::flock(f.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(Lock(f));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(Error::io("lock", path, e));
        }
    }
}
