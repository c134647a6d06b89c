//! A pod's sandbox: the infra container holding the pod's network, IPC and UTS namespaces.
//!
//! There is no pause image to pull: the infra process is berth itself (`berth pod-infra`, see
//! [`run_infra_process`]), bind-mounted read-only into a nearly empty image made here once per
//! state root, with the host's library directories bound in for its dynamic loader.

use std::path::{Path, PathBuf};

use berth_engine::Engine;
use berth_engine::types::{CreateRequest, MountSpec};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

use super::Error;

/// The infra image's name (one per berth version: its layout may change with it).
pub fn image_name() -> String {
    format!("localhost/berth-pod-infra:{}", env!("CARGO_PKG_VERSION"))
}

/// Where the berth binary appears inside the infra container.
const INFRA_BINARY: &str = "/pod-infra";

/// The hidden subcommand the infra container runs.
pub const INFRA_COMMAND: &str = "pod-infra";

/// The host's library directories: a real directory is bound in, a symlink (a merged /usr)
/// is recreated in the image.
const LIBRARY_DIRS: [&str; 4] = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

/// Imports the infra image unless the store has it.
pub fn ensure_image(engine: &Engine) -> Result<(), Error> {
    let name = image_name();
    if engine.resolve_image(&name).is_ok() {
        return Ok(());
    }
    let tar = image_tar().map_err(|source| Error::Io {
        context: "making the pod infra image".into(),
        source,
    })?;
    engine
        .import_image(tar.as_slice(), Some(&name), &[], Some("berth pod infra"))
        .map_err(Error::engine("importing the pod infra image"))?;
    Ok(())
}

/// The image's one layer: mount points and the host's library symlinks.
fn image_tar() -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let dir = |builder: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut header = header(tar::EntryType::Directory, 0o755);
        builder.append_data(&mut header, path, std::io::empty())
    };
    for path in ["dev", "proc", "sys", "etc", "usr"] {
        dir(&mut builder, path)?;
    }
    for lib in LIBRARY_DIRS {
        let relative = lib.trim_start_matches('/');
        match std::fs::symlink_metadata(lib) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(lib)?;
                let mut header = header(tar::EntryType::Symlink, 0o777);
                builder.append_link(&mut header, relative, target)?;
            }
            Ok(meta) if meta.is_dir() => dir(&mut builder, relative)?,
            _ => {}
        }
    }
    // The file the berth binary is bound onto.
    let mut header = header(tar::EntryType::Regular, 0o755);
    builder.append_data(
        &mut header,
        INFRA_BINARY.trim_start_matches('/'),
        std::io::empty(),
    )?;
    builder.into_inner()
}

/// An empty entry's header, owned by root.
fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

/// The infra container's command and mounts: berth and the host's libraries, read-only.
pub fn apply(request: &mut CreateRequest) -> Result<(), Error> {
    let exe = berth_binary().map_err(|source| Error::Io {
        context: "finding the berth binary for the pod infra container".into(),
        source,
    })?;
    request.config.image = image_name();
    request.config.entrypoint = Some(vec![INFRA_BINARY.into(), INFRA_COMMAND.into()]);
    request.config.cmd = None;
    let mut mounts = vec![bind(&exe, INFRA_BINARY)];
    for lib in LIBRARY_DIRS {
        if std::fs::symlink_metadata(lib).is_ok_and(|m| m.is_dir()) {
            mounts.push(bind(Path::new(lib), lib));
        }
    }
    request.host_config.mounts = Some(mounts);
    Ok(())
}

fn bind(source: &Path, target: &str) -> MountSpec {
    MountSpec {
        kind: "bind".into(),
        source: source.to_string_lossy().into_owned(),
        target: target.into(),
        read_only: true,
        ..Default::default()
    }
}

/// This process's own binary, by its path (a container's mount outlives this process).
fn berth_binary() -> std::io::Result<PathBuf> {
    std::env::current_exe()?.canonicalize()
}

/// The infra container's process (PID 1 of the pod's sandbox), as Kubernetes' pause: it sleeps
/// until SIGTERM or SIGINT (then exits 0), reaping any child that is handed to it. The signals
/// are blocked and taken with sigwait: a PID 1 gets only the signals it asked for.
pub fn run_infra_process() -> i32 {
    let mut signals = SigSet::empty();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD] {
        signals.add(signal);
    }
    if let Err(e) = signals.thread_block() {
        eprintln!("pod-infra: blocking signals: {e}");
        return 1;
    }
    loop {
        match signals.wait() {
            Ok(Signal::SIGTERM | Signal::SIGINT) => return 0,
            Ok(Signal::SIGCHLD) => reap_children(),
            Ok(_) => {}
            Err(e) => {
                eprintln!("pod-infra: waiting for signals: {e}");
                return 1;
            }
        }
    }
}

fn reap_children() {
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_has_the_binary_mount_point_and_the_library_paths() {
        let tar = image_tar().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n == "pod-infra"), "{names:?}");
        assert!(names.iter().any(|n| n.trim_end_matches('/') == "proc"));
        assert!(
            names
                .iter()
                .any(|n| n.trim_end_matches('/') == "lib" || n.trim_end_matches('/') == "usr/lib")
        );
    }
}
