//! Whole-file advisory locks (`flock`) that serialise berth processes around one piece of
//! shared kernel state: the host's subnets and bridges ([`crate::ipam::HostLock`]), a state
//! root's firewall table. The kernel drops the lock when its holder dies, even by SIGKILL, so a
//! killed process never wedges the next one.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::Error;

/// An exclusive lock, held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Opens (or creates) `path` and waits for an exclusive lock on it.
    pub fn exclusive(path: &Path) -> Result<FileLock, Error> {
        let file = open(path)?;
        loop {
            // SAFETY: flock on an fd we own; the lock goes with the open file description.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(FileLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(format!("locking {}", path.display()), err));
            }
        }
    }

    /// The lock if nobody holds it now (`None`: another holder).
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>, Error> {
        let file = open(path)?;
        // SAFETY: flock on an fd we own; the lock goes with the open file description.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(FileLock { _file: file }));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        Err(Error::io(format!("locking {}", path.display()), err))
    }
}

fn open(path: &Path) -> Result<File, Error> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_for_the_first() {
        let dir = tempfile_dir();
        let path = dir.join("x.lock");
        let first = FileLock::exclusive(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let _second = FileLock::exclusive(&p).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(100))
                .is_err(),
            "the lock was taken twice"
        );
        assert!(FileLock::try_exclusive(&path).unwrap().is_none());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the waiter got the lock once it was free");
        waiter.join().unwrap();
        assert!(FileLock::try_exclusive(&path).unwrap().is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-net-lock-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
