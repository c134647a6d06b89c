//! The [`MachineDriver`] trait: what a backend does for a machine (make its disk, boot it, stop
//! it, say whether it runs, where its API is, run a command in it). The store
//! ([`crate::Machines`]) owns everything around it — names, config, certificates, locks,
//! reconciliation, the readiness probe — so a driver for an own VMM or a cloud provider only
//! implements these verbs.

use std::process::Stdio;
use std::time::Duration;

use crate::MachineError;
use crate::machine::Machine;

/// What a machine is doing, after reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Stopped,
}

impl State {
    /// docker-machine's words.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "Running",
            State::Stopped => "Stopped",
        }
    }
}

/// One command to run in the machine (`ssh`, `scp`).
pub struct ExecRequest {
    /// argv; never empty.
    pub args: Vec<String>,
    /// Run on a pty whose master is sent to this unix socket (runc's console-socket
    /// protocol: one message with the fd as SCM_RIGHTS); the caller proxies its terminal to it.
    pub console_socket: Option<std::path::PathBuf>,
    /// Whether the command reads stdin; without it, it reads nothing.
    pub interactive: bool,
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

pub trait MachineDriver {
    /// The name `create -d` takes and `ls` shows.
    fn name(&self) -> &'static str;

    /// Fails with a clear error when the host lacks what this driver needs; `create` calls it
    /// before it makes anything.
    fn check_host(&self) -> Result<(), MachineError>;

    /// Makes the driver's resources in the machine's state directory (which `create` removes
    /// whole on failure).
    fn create(&self, machine: &Machine) -> Result<(), MachineError>;

    /// Boots the machine and returns once its Docker host process runs (the store then waits
    /// for the API itself). The machine is stopped and the lock held.
    fn start(&self, machine: &Machine) -> Result<(), MachineError>;

    /// Stops it cleanly within `timeout`, harder after that; returns when nothing of it runs.
    fn stop(&self, machine: &Machine, timeout: Duration) -> Result<(), MachineError>;

    /// Stops it at once (no clean shutdown).
    fn kill(&self, machine: &Machine) -> Result<(), MachineError>;

    /// Whether it runs, from what is alive now (never from a recorded state alone); clears the
    /// leftovers of a boot that died.
    fn state(&self, machine: &Machine) -> State;

    /// The host and port where the machine's engine API is reached from this host.
    fn endpoint(&self, machine: &Machine) -> (String, u16);

    /// How the guest runs: "kvm", or "tcg" (software emulation) and why.
    fn accelerator(&self, machine: &Machine) -> String;

    /// Runs one command in the running machine; its exit code.
    fn exec(&self, machine: &Machine, request: ExecRequest) -> Result<i32, MachineError>;

    /// The last lines of the guest's console, for errors about a boot.
    fn boot_log(&self, machine: &Machine, lines: usize) -> String;
}
