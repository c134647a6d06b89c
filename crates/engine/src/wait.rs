//! Waiting for a container, as dockerd's `State.Wait`: the one policy `berth wait`, `run`
//! and `POST /containers/{id}/wait` share. A waiter returns at the first exit after it
//! started waiting (also when a restart policy starts the container again), reads the exit
//! code from the container's `die` event (so an `--rm` container's code survives its record),
//! and with `removed` waits on until the container is gone.

use std::os::fd::OwnedFd;
use std::str::FromStr;
use std::time::Duration;

use crate::{Engine, Error};

/// Docker's `condition=` for a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitCondition {
    /// Returns at once when the container is not running (created, exited), else at its
    /// next exit.
    #[default]
    NotRunning,
    /// Returns at the container's next exit, even when it is not running now.
    NextExit,
    /// Returns when the container has been removed.
    Removed,
}

impl FromStr for WaitCondition {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::InvalidArgument(format!(
                "invalid condition: {other:?}"
            ))),
        }
    }
}

/// See [`Engine::wait_point`].
pub struct WaitPoint {
    record: crate::store::ContainerRecord,
    cursor: i64,
}

/// How often a waiter looks at the event log when no pidfd wakes it (no running init: not
/// started yet, in a restart back-off, or waiting for its removal).
const IDLE_LOOK: Duration = Duration::from_millis(50);

/// What the event log said about a container since a waiter's cursor.
#[derive(Default)]
struct Seen {
    /// The exit code of the first `die` since the cursor.
    first_exit: Option<i64>,
    /// The exit code of the last `die` since the cursor (what `removed` answers).
    last_exit: Option<i64>,
    /// Whether the container was destroyed (removed).
    destroyed: bool,
}

impl Engine {
    /// `berth wait`: blocks until the container is not running; returns its exit code.
    pub fn wait_container(&self, name_or_id: &str) -> Result<i64, Error> {
        self.wait_container_until(name_or_id, WaitCondition::NotRunning, &|| false)
    }

    /// Waits for `condition` as dockerd does and returns the exit code then: the first exit
    /// after the call for `not-running` (at once when not running) and `next-exit`; for
    /// `removed`, the exit code known when the container was removed. `cancelled` is asked
    /// now and then: true (a client that went away) ends the wait with an error.
    pub fn wait_container_until(
        &self,
        name_or_id: &str,
        condition: WaitCondition,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<i64, Error> {
        let point = self.wait_point(name_or_id)?;
        self.wait_from(point, condition, cancelled)
    }

    /// Where a wait starts: the container as it is now (a missing one is the caller's 404)
    /// and the event log's position. A front end that answers before it waits (the API sends
    /// the headers, then the client starts the container) takes it first, so that an exit
    /// (or removal) in between still counts.
    pub fn wait_point(&self, name_or_id: &str) -> Result<WaitPoint, Error> {
        self.repair();
        // The cursor before the record: an exit after the look at the record is in the log
        // after the cursor.
        let cursor = self.db.events_cursor()?;
        let record = self.container(name_or_id)?;
        Ok(WaitPoint { record, cursor })
    }

    /// [`Engine::wait_container_until`] from a [`WaitPoint`] taken earlier.
    pub fn wait_from(
        &self,
        point: WaitPoint,
        condition: WaitCondition,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<i64, Error> {
        let WaitPoint { record, mut cursor } = point;
        let id = record.id.clone();
        if condition == WaitCondition::NotRunning && !record.state.has_shim() {
            return Ok(record.exit_code);
        }
        let mut last_code = record.exit_code;
        let mut seen = Seen::default();
        loop {
            self.read_exits(&id, &mut cursor, &mut seen)?;
            if let Some(code) = seen.first_exit
                && condition != WaitCondition::Removed
            {
                self.until_exit_recorded(&record);
                return Ok(code);
            }
            let now = self.db.container(&id)?;
            let Some(now) = now else {
                // Removed: its last exit is in the log (read above, or written just before
                // the record went).
                self.read_exits(&id, &mut cursor, &mut seen)?;
                return Ok(seen.last_exit.unwrap_or(last_code));
            };
            if seen.destroyed && condition == WaitCondition::Removed {
                return Ok(seen.last_exit.unwrap_or(now.exit_code));
            }
            last_code = now.exit_code;
            if cancelled() {
                return Err(Error::Conflict("the wait was cancelled".into()));
            }
            self.sleep_until_exit_or(&now, IDLE_LOOK);
        }
    }

    /// After a `die` event: waits, bounded, until the container's record shows that exit (the
    /// shim records the exit before it logs the event; this covers a `die` logged by any other
    /// order), so that a client acting on the wait's answer (`docker wait x && docker rm x`)
    /// finds the container exited.
    fn until_exit_recorded(&self, before: &crate::store::ContainerRecord) {
        for _ in 0..2000 {
            match self.db.container(&before.id) {
                Ok(Some(now)) if now.finished_at == before.finished_at => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => return,
            }
        }
    }

    /// Reads the log from `cursor` on, noting `id`'s first exit and its removal.
    fn read_exits(&self, id: &str, cursor: &mut i64, seen: &mut Seen) -> Result<(), Error> {
        loop {
            let batch = self.db.events_after(*cursor, 0, 500)?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            *cursor = last.seq;
            for event in batch
                .iter()
                .filter(|e| e.kind == "container" && e.actor_id == id)
            {
                match event.action.as_str() {
                    "die" => {
                        let code = event
                            .attributes
                            .get("exitCode")
                            .and_then(|c| c.parse().ok());
                        seen.first_exit = seen.first_exit.or(code);
                        seen.last_exit = code.or(seen.last_exit);
                    }
                    "destroy" => seen.destroyed = true,
                    _ => {}
                }
            }
        }
    }

    /// Sleeps until the container's running init or its shim exits, at most `idle`
    /// (or a moment when the init is gone already and the shim has yet to record it). A
    /// shim that died without a word gets its container repaired (the `die` the waiter
    /// reads).
    fn sleep_until_exit_or(&self, rec: &crate::store::ContainerRecord, idle: Duration) {
        if !rec.state.has_shim() {
            std::thread::sleep(idle);
            return;
        }
        let shim = crate::proc::checked_pidfd(rec.shim_pid, rec.shim_start);
        let Some(shim) = shim else {
            self.repair();
            return;
        };
        let init = self.init_pidfd(rec);
        let fds: Vec<&OwnedFd> = init.iter().chain(std::iter::once(&shim)).collect();
        let woke = crate::proc::poll_readable(&fds, Some(idle));
        if woke.iter().any(|w| *w) {
            // The shim records the exit right after; look again shortly.
            std::thread::sleep(Duration::from_millis(2));
            if woke.last() == Some(&true) {
                self.repair();
            }
        }
    }
}
