//! Repairs what a killed process left behind, so every command sees the truth: a container
//! whose shim is gone is stopped and torn down (its init killed, its rootfs unmounted, its
//! runtime state deleted) and recorded as exited; `--rm` containers are removed.

use crate::Engine;
use crate::types::State;

/// Exit code recorded when the shim died and the container was stopped for it (SIGKILL).
const SHIM_LOST_EXIT: i64 = 137;

/// How often `berth serve` looks for shims started by other processes.
const SUPERVISE_RESCAN: std::time::Duration = std::time::Duration::from_secs(1);

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
        self.repair_now();
    }

    /// [`Engine::repair`] without the throttle.
    fn repair_now(&self) {
        // What a killed `berth build` left: its step containers, mounts and scratch files.
        crate::build::reap_if_abandoned(self);
        let Ok(records) = self.db.containers_held() else {
            return;
        };
        // Containers whose shim is alive: their network namespaces are theirs.
        let mut live = std::collections::HashSet::new();
        for rec in records {
            let id = rec.id.clone();
            if self.repair_container(rec) {
                live.insert(id);
            }
        }
        self.repair_networks(&live);
    }

    /// Repairs one container if the process holding it (its shim, or a process starting or
    /// removing it) is dead. Returns whether its holder is alive.
    pub(crate) fn repair_container(&self, mut rec: crate::store::ContainerRecord) -> bool {
        // Held but not running: a shim starting it, or a process removing it.
        let starting = !rec.state.has_shim() && rec.shim_pid != 0;
        if !(rec.state.has_shim() || starting) {
            return false;
        }
        if crate::proc::alive(rec.shim_pid, rec.shim_start) {
            return true;
        }
        // Re-read: the shim may have finished normally since the list was read.
        match self.db.container(&rec.id) {
            Ok(Some(now))
                if now.shim_pid == rec.shim_pid && (now.state.has_shim() || now.shim_pid != 0) => {}
            _ => return false,
        }
        // Nobody holds its stdio or will record its exit any more.
        if let Some(init) = self.init_pidfd(&rec) {
            let _ = self
                .sandbox_for(&rec)
                .signal(std::os::fd::AsFd::as_fd(&init), libc::SIGKILL);
            crate::proc::poll_readable(&[&init], Some(std::time::Duration::from_secs(5)));
        }
        let sandbox = self.sandbox_for(&rec);
        let _ = sandbox.teardown();
        sandbox.unmount_rootfs();
        self.release_volume_mounts(&rec.id);
        self.teardown_container_network(&rec);
        if rec.config.host_config.auto_remove {
            let _ = self.destroy(&rec.id);
            return false;
        }
        if starting {
            rec.error = "interrupted: the berth process starting or removing it was killed".into();
        } else {
            rec.state = State::Exited;
            rec.exit_code = SHIM_LOST_EXIT;
            rec.error = "the berth shim was killed; the container was stopped".into();
            rec.finished_at = crate::clock::now();
        }
        rec.pid = 0;
        rec.shim_pid = 0;
        let restart = !starting && rec.restart_wanted(SHIM_LOST_EXIT);
        if restart {
            rec.restart_count += 1;
        }
        let _ = self.db.update_container(&rec);
        if !starting {
            self.container_event(&rec, "die", &[("exitCode", SHIM_LOST_EXIT.to_string())]);
        }
        // As Docker restarts a container whose runtime process died: a new shim. Another
        // process repairing at the same time loses the claim on the record and stands back.
        if restart
            && let Err(e) = self.start_container(&rec.id, None)
            && let Ok(Some(mut now)) = self.db.container(&rec.id)
            && !now.state.has_shim()
        {
            now.error = format!("restarting after the berth shim was killed: {e}");
            let _ = self.db.update_container(&now);
        }
        false
    }

    /// Whether container `id`'s holder (shim or remover) is alive, read from its record now:
    /// a container that started after a caller's snapshot counts. An unreadable record counts
    /// as alive, so nothing of a live container is reclaimed on a database hiccup.
    pub(crate) fn holder_alive_now(&self, id: &str) -> bool {
        match self.db.container(id) {
            Ok(Some(rec)) => rec.holder_alive(),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// For a long-running process (`berth serve`): repairs, and restarts by their policy,
    /// containers whose shim dies, as soon as it dies. Waits on every live shim's pidfd and
    /// rescans each second for shims started elsewhere. Never returns.
    pub fn supervise_shims(&self) -> ! {
        loop {
            self.repair_now();
            let shims: Vec<std::os::fd::OwnedFd> = self
                .db
                .containers_held()
                .unwrap_or_default()
                .iter()
                .filter_map(|rec| crate::proc::checked_pidfd(rec.shim_pid, rec.shim_start))
                .collect();
            let refs: Vec<&std::os::fd::OwnedFd> = shims.iter().collect();
            if refs.is_empty() {
                std::thread::sleep(SUPERVISE_RESCAN);
            } else {
                crate::proc::poll_readable(&refs, Some(SUPERVISE_RESCAN));
            }
        }
    }
}
