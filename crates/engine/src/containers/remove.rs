//! `docker rm`: removing a container (forcing a running one down first) and destroying every
//! trace of it, with its anonymous volumes when asked.

use crate::types::State;
use crate::{Engine, Error};

impl Engine {
    /// `berth rm [-f]`: removes a container and everything it owned on disk (its anonymous
    /// volumes only with [`Engine::remove_container_and_volumes`]).
    pub fn remove_container(&self, name_or_id: &str, force: bool) -> Result<(), Error> {
        self.remove_container_and_volumes(name_or_id, force, false)
    }

    /// `berth rm [-f] [-v]`
    pub fn remove_container_and_volumes(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), Error> {
        self.repair();
        let mut rec = self.container(name_or_id)?;
        let me = std::process::id() as i32;
        let my_start = crate::proc::start_time(me).unwrap_or(0);
        let mut attempts = 0;
        loop {
            // A claimed container (a shim starting it) is removed as a running one: destroyed
            // under its shim, the shim would go on to run it with no record, log or directory
            // left (`run -d` killed, then `rm -f`: an orphaned shim and container process).
            if rec.state.has_shim() || rec.claimed() {
                if !force {
                    let what = if rec.state == State::Paused {
                        "paused"
                    } else {
                        "running"
                    };
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                        rec.name
                    )));
                }
                self.db.set_manually_stopped(&rec.id, true)?;
                if rec.state == State::Paused {
                    let _ = self.sandbox_for(&rec).resume();
                }
                // The shim records the exit and tears the container down; wait for it.
                self.kill_until_shim_exits(&rec.id);
            }
            // Claimed by this process as a shim claims it, the container cannot start while
            // it goes: a shim spawned meanwhile finds it taken and exits. Killed here, the
            // claim is cleared by the next command's repair.
            if self.db.claim_shim(&rec.id, me, my_start)? {
                break;
            }
            // Held by another process: a dead one's hold is repaired, a live one waited for.
            attempts += 1;
            if let Some(now) = self.db.container(&rec.id)? {
                self.repair_container(now);
            }
            rec = match self.db.container(&rec.id)? {
                Some(now) if attempts < 3 => now,
                Some(now) => {
                    return Err(Error::Conflict(format!(
                        "container {} is being started or removed by another process",
                        now.id
                    )));
                }
                // Removed by another process meanwhile.
                None => return Ok(()),
            };
        }
        // An `--rm` container's anonymous volumes go with it however it is removed.
        self.destroy_with_volumes(&rec.id, volumes || rec.config.host_config.auto_remove)
    }

    /// Deletes every trace of a container: runtime state, mount, directories, record.
    /// Idempotent: the shim (for --rm) and `rm -f` may race to do it.
    /// An `--rm` container's anonymous volumes go with it, as Docker's.
    pub(crate) fn destroy(&self, id: &str) -> Result<(), Error> {
        let auto_remove = self
            .db
            .container(id)
            .ok()
            .flatten()
            .is_some_and(|r| r.config.host_config.auto_remove);
        self.destroy_with_volumes(id, auto_remove)
    }

    /// [`Engine::destroy`], removing the container's unshared anonymous volumes when asked.
    pub(crate) fn destroy_with_volumes(&self, id: &str, remove_volumes: bool) -> Result<(), Error> {
        let existing = self.db.container(id).ok().flatten();
        match &existing {
            Some(rec) => {
                let sandbox = self.sandbox_for(rec);
                let _ = sandbox.teardown();
                sandbox.unmount_rootfs();
            }
            // No record (a removal killed midway): its mount point may be left all the same.
            None => {
                let run_dir = self.container_run_dir(id);
                crate::rootfs::unmount(&run_dir.join("rootfs"));
                // A shareable /dev/shm (`--ipc shareable`) lives beside it.
                crate::rootfs::unmount(&run_dir.join("shm"));
            }
        }
        self.release_container_network(id);
        let _ = std::fs::remove_dir_all(self.container_run_dir(id));
        let _ = std::fs::remove_dir_all(self.container_dir(id));
        self.delete_container_and_mounts(id, remove_volumes)?;
        if let Some(rec) = existing {
            self.container_event(&rec, "destroy", &[]);
        }
        Ok(())
    }
}
