//! A shareable /dev/shm (`--ipc shareable`): a tmpfs on the host, in the container's runtime
//! directory, bound in as its /dev/shm and into every container that joins its IPC
//! (`--ipc container:X`), as Docker's `shm` mount. It goes with the rootfs, once the
//! container is done for good.

use std::path::Path;

use nix::mount::{MsFlags, mount as mount2};

use crate::sandbox::SandboxError;

/// Mounts the tmpfs of `size` bytes (0: Docker's 64 MiB) at `dir` unless it is mounted
/// already (a restart keeps its contents).
pub(super) fn mount(dir: &Path, size: i64) -> Result<(), SandboxError> {
    let failed =
        |e: std::io::Error| SandboxError::Failed(format!("mounting {}: {e}", dir.display()).into());
    std::fs::create_dir_all(dir).map_err(failed)?;
    if crate::rootfs::is_mountpoint(dir) {
        return Ok(());
    }
    mount2(
        Some("shm"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(format!("{},mode=1777", berth_runtime::spec::shm_option(Some(size))).as_str()),
    )
    .map_err(|e| failed(e.into()))
}
