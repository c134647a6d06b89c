//! Repairs what a killed process left behind, so every command sees the truth: a container
//! whose shim is gone is stopped and torn down (its init killed, its rootfs unmounted, its
//! runtime state deleted) and recorded as exited; `--rm` containers are removed.

use crate::types::State;
use crate::{Engine, rootfs};

/// Exit code recorded when the shim died and the container was stopped for it (SIGKILL).
const SHIM_LOST_EXIT: i64 = 137;

/// How often one engine re-checks shims.
const REPAIR_INTERVAL_MS: u64 = 200;

impl Engine {
    /// Best effort: repairs every container whose shim is gone. Cheap when nothing is wrong
    /// (one query and a /proc read per running container), and done at most every
    /// [`REPAIR_INTERVAL_MS`] by one engine (a command calls several engine functions).
    pub fn repair(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let last = self
            .last_repair_ms
            .swap(now, std::sync::atomic::Ordering::Relaxed);
        if now.saturating_sub(last) < REPAIR_INTERVAL_MS {
            return;
        }
        // What a killed `berth build` left: its step containers, mounts and scratch files.
        crate::build::reap_if_abandoned(self);
        let Ok(records) = self.db.containers_with_shim() else {
            return;
        };
        // Containers whose shim is alive: their network namespaces are theirs.
        let mut live = std::collections::HashSet::new();
        for mut rec in records {
            let starting = rec.state == State::Created && rec.shim_pid != 0;
            if !(rec.state.has_shim() || starting) {
                continue;
            }
            if crate::proc::alive(rec.shim_pid, rec.shim_start) {
                live.insert(rec.id);
                continue;
            }
            // Re-read: the shim may have finished normally since the list was read.
            match self.db.container(&rec.id) {
                Ok(Some(now))
                    if now.shim_pid == rec.shim_pid
                        && (now.state.has_shim() || now.state == State::Created) => {}
                _ => continue,
            }
            if rec.pid > 0 && crate::proc::alive(rec.pid, 0) {
                // Nobody holds its stdio or will record its exit any more.
                // SAFETY: kill(2) on the container's recorded init pid.
                unsafe { libc::kill(rec.pid, libc::SIGKILL) };
                crate::proc::wait_exit(rec.pid, Some(std::time::Duration::from_secs(5)));
            }
            if let Ok(rt) = self.runtime_for(&rec) {
                let _ = rt.delete(&self.runtime_state_root(), &rec.id, true);
            }
            rootfs::unmount(&self.container_run_dir(&rec.id).join("rootfs"));
            self.release_volume_mounts(&rec.id);
            self.teardown_container_network(&rec);
            if rec.config.host_config.auto_remove {
                let _ = self.destroy(&rec.id);
                continue;
            }
            if starting {
                rec.error = "start interrupted: the berth shim was killed".into();
            } else {
                rec.state = State::Exited;
                rec.exit_code = SHIM_LOST_EXIT;
                rec.error = "the berth shim was killed; the container was stopped".into();
                rec.finished_at = crate::containers::now();
            }
            rec.pid = 0;
            rec.shim_pid = 0;
            let _ = self.db.update_container(&rec);
        }
        self.repair_networks(&live);
    }
}
