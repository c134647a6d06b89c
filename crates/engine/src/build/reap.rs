//! Cleanup of builds killed mid-way: their step containers (labelled with the owning process)
//! and their scratch mounts and directories (under `RUN/build/<pid>-<start>/`).

use crate::Engine;

/// Label on every RUN container: `<pid>:<start time>` of the building process.
pub const OWNER_LABEL: &str = "org.berth.build.owner";

/// This process, as `<pid>:<start time>`.
pub fn owner() -> String {
    let pid = std::process::id() as i32;
    format!("{pid}:{}", crate::proc::start_time(pid).unwrap_or(0))
}

fn owner_alive(owner: &str) -> bool {
    let Some((pid, start)) = owner.split_once(':') else {
        return false;
    };
    match (pid.parse::<i32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => crate::proc::alive(pid, start),
        _ => false,
    }
}

/// The scratch directory of this build process (mount points for COPY/WORKDIR steps).
pub fn scratch_dir(engine: &Engine) -> std::path::PathBuf {
    engine.root.join("build").join(owner().replace(':', "-"))
}

/// Cheap enough for every command: one readdir of `ROOT/build` (every running build has its
/// directory there); the full cleanup only when a build's process is gone.
pub fn reap_if_abandoned(engine: &Engine) {
    let Ok(entries) = std::fs::read_dir(engine.root.join("build")) else {
        return;
    };
    let abandoned = entries
        .flatten()
        .any(|e| !owner_alive(&e.file_name().to_string_lossy().replace('-', ":")));
    if abandoned {
        reap_abandoned(engine);
    }
}

/// Whether a build is running on this root (its process alive): its layers and step images
/// exist before any record or cache row points at them, so no gc may run meanwhile.
pub fn build_running(engine: &Engine) -> bool {
    std::fs::read_dir(engine.root.join("build")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| owner_alive(&e.file_name().to_string_lossy().replace('-', ":")))
    })
}

/// Removes the step containers and scratch mounts of build processes that are gone.
pub fn reap_abandoned(engine: &Engine) {
    if let Ok(records) = engine.db.containers() {
        for rec in records {
            let Some(owner) = rec
                .config
                .config
                .labels
                .as_ref()
                .and_then(|l| l.get(OWNER_LABEL))
            else {
                continue;
            };
            if !owner_alive(owner) {
                let _ = engine.remove_container(&rec.id, true);
            }
        }
    }
    let base = engine.root.join("build");
    let Ok(entries) = std::fs::read_dir(&base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().replace('-', ":");
        if owner_alive(&name) {
            continue;
        }
        remove_scratch(&entry.path());
    }
}

/// Unmounts every mount under `dir`, then removes it.
pub fn remove_scratch(dir: &std::path::Path) {
    berth_builder::remove_scratch(dir, &crate::rootfs::unmount);
}
