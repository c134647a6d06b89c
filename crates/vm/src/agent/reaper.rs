//! PID 1's duty: reap every child, the agent's own processes and the orphans the kernel hands
//! it. A process the agent started is registered (under the table's lock, held across its
//! fork, so its exit cannot be reaped before it is known); its Docker exit code is sent to
//! whoever waits for it. Orphans are reaped and forgotten.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// Registered processes: pid -> where their exit code goes.
pub type Table = HashMap<i32, mpsc::Sender<i32>>;

static TABLE: Mutex<Option<Table>> = Mutex::new(None);
static CHILD_ADDED: Condvar = Condvar::new();

/// The table, locked: fork and insert the child's pid while holding it.
pub fn lock() -> TableGuard {
    let mut guard = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    guard.get_or_insert_with(HashMap::new);
    TableGuard(guard)
}

pub struct TableGuard(MutexGuard<'static, Option<Table>>);

impl TableGuard {
    /// Registers `pid`; its exit code will arrive on the returned channel.
    pub fn register(&mut self, pid: i32) -> mpsc::Receiver<i32> {
        let (send, receive) = mpsc::channel();
        self.0.as_mut().expect("initialized").insert(pid, send);
        CHILD_ADDED.notify_all();
        receive
    }
}

/// Starts the reaping thread.
pub fn start() {
    std::thread::spawn(|| {
        loop {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(status) => {
                    let (pid, code) = match status {
                        WaitStatus::Exited(pid, code) => (pid, code),
                        WaitStatus::Signaled(pid, signal, _) => (pid, 128 + signal as i32),
                        _ => continue,
                    };
                    let mut guard = TABLE.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(send) = guard.as_mut().and_then(|t| t.remove(&pid.as_raw())) {
                        let _ = send.send(code);
                    }
                }
                Err(Errno::ECHILD) => {
                    // No children: sleep until one is started (orphans only come from them).
                    let guard = TABLE.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = CHILD_ADDED.wait_timeout(guard, Duration::from_millis(200));
                }
                Err(_) => {}
            }
        }
    });
}
