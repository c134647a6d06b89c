//! The restart policy's timing: Docker's back-off between restarts, 100 ms doubling up to a
//! minute, reset after 10 s of running. Whether to restart at all is the record's decision
//! ([`ContainerRecord::restart_wanted`](crate::store::ContainerRecord::restart_wanted)).

use std::time::{Duration, Instant};

use crate::store::ContainerRecord;

/// The first wait, and the wait again after a run that lasted [`RESET_AFTER`].
const FIRST: Duration = Duration::from_millis(100);
/// The longest wait.
const MAX: Duration = Duration::from_secs(60);
/// A run this long resets the back-off.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// The waits between restarts of one shim's container.
pub(super) struct Backoff {
    delay: Duration,
}

impl Backoff {
    pub(super) fn new() -> Backoff {
        Backoff { delay: FIRST }
    }

    /// The wait before restarting a container whose last run lasted `ran`.
    pub(super) fn next(&mut self, ran: Duration) -> Duration {
        if ran >= RESET_AFTER {
            self.delay = FIRST;
        }
        let wait = self.delay;
        self.delay = (wait * 2).min(MAX);
        wait
    }
}

/// Sleeps for the restart back-off; false when a stop arrived meanwhile (`record` reads the
/// container's record afresh).
pub(super) fn sleep_unless_stopped(
    total: Duration,
    record: impl Fn() -> Option<ContainerRecord>,
) -> bool {
    let end = Instant::now() + total;
    while Instant::now() < end {
        if record().is_none_or(|r| r.manually_stopped) {
            return false;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    record().is_some_and(|r| !r.manually_stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_a_minute_and_resets_after_a_long_run() {
        let mut b = Backoff::new();
        let short = Duration::from_secs(1);
        let waits: Vec<u64> = (0..12).map(|_| b.next(short).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000
            ]
        );
        assert_eq!(b.next(Duration::from_secs(10)), FIRST);
        assert_eq!(b.next(short), Duration::from_millis(200));
    }
}
