//! The machine's persistent disk: an ext4 filesystem in a qcow2 image, made on the host so the
//! guest never formats anything (its agent stays simple, and a first boot is as fast as any).
//!
//! How: `mkfs.ext4 -q -F` on a sparse raw file of the full size, then `qemu-img convert -O
//! qcow2` into the final image and the raw file is removed. mkfs cannot write into a qcow2
//! directly without a block device (qemu-nbd needs the nbd module, which hosts such as this one
//! cannot load); the sparse raw file costs only the metadata mkfs writes (lazy inode tables), and
//! the conversion skips its holes, so a 20 GiB disk takes a few MiB and well under a second.

use std::path::Path;
use std::process::Command;

use crate::MachineError;

pub fn create(path: &Path, size_bytes: u64) -> Result<(), MachineError> {
    let raw = path.with_extension("raw.tmp");
    let result = (|| {
        let file = std::fs::File::create(&raw).map_err(MachineError::io("creating", &raw))?;
        file.set_len(size_bytes)
            .map_err(MachineError::io("sizing", &raw))?;
        drop(file);
        run(
            Command::new("mkfs.ext4")
                .args([
                    "-q",
                    "-F",
                    "-L",
                    "berth-data",
                    "-E",
                    "lazy_itable_init=1,lazy_journal_init=1,discard",
                ])
                .arg(&raw),
            "mkfs.ext4",
            "apt-get install e2fsprogs",
        )?;
        run(
            Command::new("qemu-img")
                .args(["convert", "-q", "-f", "raw", "-O", "qcow2"])
                .arg(&raw)
                .arg(path),
            "qemu-img",
            "apt-get install qemu-utils",
        )
    })();
    let _ = std::fs::remove_file(&raw);
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn run(command: &mut Command, program: &str, hint: &str) -> Result<(), MachineError> {
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MachineError::MissingTool {
                program: program.to_string(),
                hint: hint.to_string(),
            }
        } else {
            MachineError::ToolFailed {
                command: program.to_string(),
                detail: e.to_string(),
            }
        }
    })?;
    if !output.status.success() {
        return Err(MachineError::ToolFailed {
            command: program.to_string(),
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(())
}

/// Whether `program` is on PATH (a driver's prerequisites are checked before anything is made).
pub fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_ext4_in_qcow2_of_the_asked_size() {
        if !on_path("mkfs.ext4") || !on_path("qemu-img") {
            let reason = "mkfs.ext4 and qemu-img are needed (apt-get install e2fsprogs qemu-utils)";
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false"),
                "{reason}"
            );
            eprintln!("skipping: {reason}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.qcow2");
        create(&path, 20 << 30).unwrap();
        let info = Command::new("qemu-img")
            .args(["info", "--output=json"])
            .arg(&path)
            .output()
            .unwrap();
        let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(info["format"], "qcow2");
        assert_eq!(info["virtual-size"], 20u64 << 30);
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert!(on_disk < 64 << 20, "a 20 GiB disk takes {on_disk} bytes");
        // Only the image is left: the raw intermediate is gone.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1);
    }
}
