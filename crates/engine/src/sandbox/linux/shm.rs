//! A shareable /dev/shm (`--ipc shareable`): a tmpfs on the host, in the container's runtime
//! directory, bound in as its /dev/shm and into every container that joins its IPC
//! (`--ipc container:X`), as Docker's `shm` mount. It goes with the rootfs, once the
//! container is done for good.

use std::path::Path;

use nix::mount::{MsFlags, mount as mount2};

use crate::sandbox::SandboxError;

/// Docker's default `--shm-size`, 64 MiB.
const SHM_SIZE: &str = "size=67108864,mode=1777";

/// Mounts the tmpfs at `dir` unless it is mounted already (a restart keeps its contents).
pub(super) fn mount(dir: &Path) -> Result<(), SandboxError> {
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
        Some(SHM_SIZE),
    )
    .map_err(|e| failed(e.into()))
}
