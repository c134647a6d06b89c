//! Atomic writes: everything goes to tmp/ first, is fsync'd and renamed into place, and a
//! [`TmpGuard`] removes what a failed write left in tmp/.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::Store;
use crate::Error;
use crate::error::IoContext;

/// Removes a tmp file or directory on drop unless `keep()` was called.
pub(super) struct TmpGuard {
    path: Option<PathBuf>,
}

impl TmpGuard {
    pub(super) fn new(path: PathBuf) -> Self {
        TmpGuard { path: Some(path) }
    }
    pub(super) fn keep(&mut self) {
        self.path = None;
    }
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {
                    let _ = fs::remove_dir_all(&p);
                }
                Ok(_) => {
                    let _ = fs::remove_file(&p);
                }
                Err(_) => {}
            }
        }
    }
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub(super) fn fsync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", dir)
}

impl Store {
    pub(super) fn tmp_path(&self, prefix: &str) -> PathBuf {
        self.root.join("tmp").join(unique_name(prefix))
    }

    pub(super) fn create_tmp_file(&self) -> Result<(File, TmpGuard, PathBuf), Error> {
        let path = self.tmp_path("blob");
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .ctx("create temporary file", &path)?;
        Ok((f, TmpGuard::new(path.clone()), path))
    }

    /// fsyncs `file` and renames `tmp` into `dest`, then fsyncs `dest`'s directory.
    pub(super) fn commit(
        &self,
        file: File,
        tmp: &Path,
        guard: &mut TmpGuard,
        dest: &Path,
    ) -> Result<(), Error> {
        file.sync_all().ctx("fsync", tmp)?;
        drop(file);
        fs::rename(tmp, dest).ctx("rename into place", dest)?;
        guard.keep();
        fsync_dir(dest.parent().unwrap_or(&self.root))
    }

    pub(super) fn write_file_atomic(&self, dest: &Path, data: &[u8]) -> Result<(), Error> {
        let (mut f, mut guard, tmp) = self.create_tmp_file()?;
        f.write_all(data).ctx("write", &tmp)?;
        self.commit(f, &tmp, &mut guard, dest)
    }
}
