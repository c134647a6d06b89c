//! The process that runs a machine (for QEMU: `berth vm-relay`), recorded by pid and start time.
//! A pid alone can be reused after a crash or a reboot; the start time (field 22 of
//! /proc/PID/stat, clock ticks since boot) and the boot id pin the record to one process, so a
//! recycled pid is never mistaken for the machine.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::MachineError;
use crate::paths::write_atomic;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: i32,
    pub start_ticks: u64,
    pub boot_id: String,
}

impl ProcessRecord {
    /// The record of a live process, read from /proc now.
    pub fn of(pid: i32) -> Option<ProcessRecord> {
        Some(ProcessRecord {
            pid,
            start_ticks: start_ticks(pid)?,
            boot_id: boot_id(),
        })
    }

    pub fn load(path: &Path) -> Option<ProcessRecord> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    pub fn save(&self, path: &Path) -> Result<(), MachineError> {
        let bytes = serde_json::to_vec(self).expect("the record serializes");
        write_atomic(path, &bytes, 0o644).map_err(MachineError::io("writing", path))
    }

    /// Whether the recorded process still runs (and is not a zombie).
    pub fn alive(&self) -> bool {
        self.boot_id == boot_id()
            && start_ticks(self.pid) == Some(self.start_ticks)
            && !is_zombie(self.pid)
    }

    /// Sends `signal` if the process is still the recorded one.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        if self.alive() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), signal);
        }
    }

    /// Waits until the process is gone; false on timeout.
    pub fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.alive() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

fn start_ticks(pid: i32) -> Option<u64> {
    // After the name: field 3 (state) is index 0, so field 22 (starttime) is index 19.
    stat_fields(pid)?.get(19)?.parse().ok()
}

fn is_zombie(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s == "Z" || s == "X"))
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_matches_and_a_dead_one_does_not() {
        let me = ProcessRecord::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let record = ProcessRecord::of(child.id() as i32);
        child.wait().unwrap();
        if let Some(record) = record {
            assert!(!record.alive());
        }
        let recycled = ProcessRecord {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!recycled.alive());
    }
}
