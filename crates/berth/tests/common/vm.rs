//! What every test that boots a guest needs: the check that it can (QEMU and a Debian kernel,
//! else cannot_run), and the QEMU processes a test may have left.

use super::{Env, cannot_run, have, require, required_env};

/// Whether QEMU and a guest kernel (Debian's `vmlinuz-*-amd64`, with its 9p modules) are here;
/// says which is missing (a failure under CI).
pub fn can_boot_guests() -> bool {
    if !have(
        "qemu-system-x86_64",
        "micro-VMs and machines run under QEMU",
    ) {
        return false;
    }
    let kernel = std::fs::read_dir("/boot").is_ok_and(|d| {
        d.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("vmlinuz-") && name.ends_with("-amd64")
        })
    });
    if !kernel {
        cannot_run("no /boot/vmlinuz-*-amd64 for the guest (apt-get install linux-image-amd64)");
    }
    kernel
}

/// An env that can boot guests: root, busybox, QEMU and a Debian kernel (else the test fails,
/// saying which is missing).
pub fn vm_env() -> Env {
    let env = required_env();
    require(can_boot_guests(), "QEMU and a guest kernel");
    env
}

/// The QEMU processes whose command line contains `needle` (a container id, a run directory).
pub fn qemus_naming(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("qemu-system") && c.contains(needle)
            })
        })
        .collect()
}
