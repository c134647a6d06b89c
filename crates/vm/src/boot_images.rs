//! The kernel and initramfs a guest boots from, as private in-memory copies that QEMU can be
//! made to let go of once the guest runs.
//!
//! QEMU keeps `-kernel` and `-initrd` mapped for the VM's whole life, to reload them on a reset
//! (a berth guest never resets: `-no-reboot` turns a reboot into QEMU's exit). Mapped from the
//! cache, those ~80 MB of page cache counted in every idle VM's RSS. Booting from memfd copies
//! instead costs one copy from the page cache per boot (a few tens of ms); truncating them after
//! the agent's Hello takes the pages out of QEMU's mappings and frees them.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};

use crate::error::VmError;
use crate::kernel::GuestKernel;

/// Memfd copies of a [`GuestKernel`]'s files.
pub struct BootImages {
    kernel: File,
    initramfs: File,
    version: String,
}

impl BootImages {
    /// Copies `kernel`'s vmlinux and initramfs into two memfds (close-on-exec; [`Self::fds`]
    /// names the ones a child must inherit).
    pub fn copy(kernel: &GuestKernel) -> Result<BootImages, VmError> {
        Ok(BootImages {
            kernel: memfd_copy(&kernel.vmlinux, c"berth-vmlinux")?,
            initramfs: memfd_copy(&kernel.initramfs, c"berth-initramfs")?,
            version: kernel.version.clone(),
        })
    }

    /// The kernel as QEMU, having inherited [`Self::fds`], opens it.
    pub fn as_guest_kernel(&self) -> GuestKernel {
        GuestKernel {
            vmlinux: proc_self_fd(&self.kernel),
            initramfs: proc_self_fd(&self.initramfs),
            version: self.version.clone(),
        }
    }

    /// The descriptors QEMU must inherit (clear their close-on-exec flag between fork and exec).
    pub fn fds(&self) -> [RawFd; 2] {
        [self.kernel.as_raw_fd(), self.initramfs.as_raw_fd()]
    }

    /// Empties both copies: their pages leave QEMU's mappings and return to the host. Only once
    /// the guest runs (its kernel and initramfs are in guest RAM by then).
    pub fn release(self) {
        for file in [&self.kernel, &self.initramfs] {
            let _ = file.set_len(0);
        }
    }
}

/// `/proc/self/fd/N`: the same descriptor number in the child that inherits it.
fn proc_self_fd(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn memfd_copy(source: &Path, name: &std::ffi::CStr) -> Result<File, VmError> {
    let read_error = |source_error| VmError::Read {
        path: source.to_path_buf(),
        source: source_error,
    };
    let mut from = File::open(source).map_err(read_error)?;
    // SAFETY: `name` is a NUL-terminated string; memfd_create takes no other pointer.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(VmError::Write {
            path: PathBuf::from("memfd"),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nothing else.
    let mut to = unsafe { File::from_raw_fd(fd) };
    std::io::copy(&mut from, &mut to).map_err(read_error)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copies_hold_the_files_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let vmlinux = dir.path().join("vmlinux");
        let initramfs = dir.path().join("initramfs");
        std::fs::write(&vmlinux, b"kernel bytes").unwrap();
        std::fs::write(&initramfs, vec![7u8; 1 << 20]).unwrap();
        let images = BootImages::copy(&GuestKernel {
            vmlinux,
            initramfs,
            version: "6.1".into(),
        })
        .unwrap();
        let seen = images.as_guest_kernel();
        assert_eq!(std::fs::read(&seen.vmlinux).unwrap(), b"kernel bytes");
        assert_eq!(std::fs::read(&seen.initramfs).unwrap().len(), 1 << 20);
        let opened = File::open(&seen.initramfs).unwrap();
        images.release();
        assert_eq!(opened.metadata().unwrap().len(), 0);
    }
}
