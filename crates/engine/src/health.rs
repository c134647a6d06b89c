//! Health checks (`HEALTHCHECK`, `--health-*`): the rules for a container's `Healthcheck`
//! config and the [`Monitor`] its shim runs. A probe is an exec in the container whose output
//! pipe sits in the shim's poll loop and whose exit arrives through the shim's SIGCHLD reaping:
//! no thread, and nothing at all for a container without a health check.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::exec::ExecRequest;
use crate::store::ContainerRecord;
use crate::types::{Health, HealthConfig, HealthLogEntry, State};
use crate::{Engine, Error};

/// Docker's defaults for a zero field.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;
/// Docker keeps this many probe results, and this much of each one's output.
const MAX_LOG_ENTRIES: usize = 5;
const MAX_OUTPUT: usize = 4096;
const MIN_DURATION_NS: i64 = 1_000_000;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

/// Refuses what Docker refuses in a create request's `Healthcheck`.
pub fn validate(config: &HealthConfig) -> Result<(), Error> {
    for (name, value) in [
        ("Interval", config.interval),
        ("Timeout", config.timeout),
        ("StartPeriod", config.start_period),
        ("StartInterval", config.start_interval),
    ] {
        if value != 0 && value < MIN_DURATION_NS {
            return Err(Error::InvalidArgument(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if config.retries < 0 {
        return Err(Error::InvalidArgument(
            "Retries in Healthcheck cannot be negative".into(),
        ));
    }
    Ok(())
}

/// The command a probe runs; `None` when the check is off (`NONE`) or has no test.
fn probe_command(test: &[String]) -> Option<Vec<String>> {
    let (kind, rest) = test.split_first()?;
    match kind.as_str() {
        "CMD" if !rest.is_empty() => Some(rest.to_vec()),
        "CMD-SHELL" if !rest.is_empty() => {
            Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
        }
        _ => None,
    }
}

/// Whether this container's config has a health check that runs.
pub fn has_healthcheck(config: Option<&HealthConfig>) -> bool {
    config
        .and_then(|c| c.test.as_deref())
        .and_then(probe_command)
        .is_some()
}

fn duration_or(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

/// One running probe.
struct Probe {
    pid: i32,
    /// Read end of the probe's stdout+stderr pipe (non-blocking).
    output: OwnedFd,
    captured: Vec<u8>,
    start: String,
    deadline: Instant,
    exit: Option<i32>,
}

/// A container's health check, driven by its shim's poll loop.
pub(crate) struct Monitor {
    command: Vec<String>,
    interval: Duration,
    timeout: Duration,
    retries: i64,
    start_period: Duration,
    /// Between probes during the start period (Docker's StartInterval; 0 = `interval`).
    start_interval: Duration,
    started: Instant,
    next_probe: Instant,
    probe: Option<Probe>,
    health: Health,
}

impl Monitor {
    /// The monitor of a container that just started (status `starting`), or `None` without a
    /// health check.
    pub fn new(config: Option<&HealthConfig>) -> Option<Monitor> {
        let config = config?;
        let command = probe_command(config.test.as_deref()?)?;
        let interval = duration_or(config.interval, DEFAULT_INTERVAL);
        let start_period = duration_or(config.start_period, Duration::ZERO);
        let start_interval = duration_or(config.start_interval, Duration::ZERO);
        let now = Instant::now();
        let first_wait = if start_period > Duration::ZERO && start_interval > Duration::ZERO {
            start_interval
        } else {
            interval
        };
        Some(Monitor {
            command,
            interval,
            timeout: duration_or(config.timeout, DEFAULT_TIMEOUT),
            retries: if config.retries > 0 {
                config.retries
            } else {
                DEFAULT_RETRIES
            },
            start_period,
            start_interval,
            started: now,
            // Docker's first probe comes one interval after the start.
            next_probe: now + first_wait,
            probe: None,
            health: Health {
                status: STARTING.into(),
                failing_streak: 0,
                log: Vec::new(),
            },
        })
    }

    /// Records the fresh `starting` state (a restart resets the previous run's).
    pub fn publish_start(&self, engine: &Engine, id: &str) {
        let _ = engine.db.set_health(id, &self.health);
    }

    /// Milliseconds until the monitor needs the loop again (a poll timeout).
    pub fn wait_ms(&self) -> i32 {
        let at = match &self.probe {
            Some(p) if p.exit.is_some() => return 0,
            Some(p) => p.deadline,
            None => self.next_probe,
        };
        let left = at.saturating_duration_since(Instant::now());
        // Rounded up: waking a hair early would only spin.
        left.as_millis().saturating_add(1).min(i32::MAX as u128) as i32
    }

    /// Whether a probe is running.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// The running probe's output pipe, for the poll set.
    pub fn pipe(&self) -> Option<RawFd> {
        self.probe.as_ref().map(|p| p.output.as_raw_fd())
    }

    /// Takes what the probe wrote (the first [`MAX_OUTPUT`] bytes are kept); false at EOF.
    pub fn read_output(&mut self) -> bool {
        let Some(probe) = &mut self.probe else {
            return false;
        };
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(probe.output.as_raw_fd(), &mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let room = MAX_OUTPUT.saturating_sub(probe.captured.len());
                    probe.captured.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return true,
            }
        }
    }

    /// A child was reaped: true when it was the probe.
    pub fn reaped(&mut self, pid: i32, code: i32) -> bool {
        match &mut self.probe {
            Some(p) if p.pid == pid && p.exit.is_none() => {
                p.exit = Some(code);
                true
            }
            _ => false,
        }
    }

    /// Starts a due probe, finishes an exited or overdue one. True when it did something.
    pub fn tick(&mut self, engine: &Engine, id: &str) -> bool {
        let now = Instant::now();
        match &self.probe {
            None if now >= self.next_probe => {
                self.start_probe(engine, id);
                true
            }
            Some(p) if p.exit.is_some() => {
                self.read_output();
                let probe = self.probe.take().expect("checked above");
                let output = String::from_utf8_lossy(&probe.captured).into_owned();
                self.finish(
                    engine,
                    id,
                    probe.start,
                    probe.exit.unwrap_or(-1) as i64,
                    output,
                );
                true
            }
            Some(p) if now >= p.deadline => {
                let probe = self.probe.take().expect("checked above");
                kill_tree(probe.pid);
                // Its exit is reaped by the shim's SIGCHLD path like any stray child's.
                let output = format!(
                    "Health check exceeded timeout ({})",
                    go_duration(self.timeout)
                );
                self.finish(engine, id, probe.start, -1, output);
                true
            }
            _ => false,
        }
    }

    /// The container is gone: a probe still running goes with it.
    pub fn stop(&mut self) {
        if let Some(probe) = self.probe.take() {
            kill_tree(probe.pid);
        }
    }

    /// The pause before the next probe: `start_interval` while still starting in the start
    /// period, else `interval`.
    fn next_wait(&self) -> Duration {
        if self.start_interval > Duration::ZERO
            && self.health.status == STARTING
            && self.started.elapsed() < self.start_period
        {
            self.start_interval
        } else {
            self.interval
        }
    }

    fn start_probe(&mut self, engine: &Engine, id: &str) {
        let start = crate::clock::now();
        let rec = match engine.db.container(id) {
            Ok(Some(rec)) => rec,
            _ => {
                self.next_probe = Instant::now() + self.next_wait();
                return;
            }
        };
        // A paused container is not probed (its processes cannot run).
        if rec.state == State::Paused {
            self.next_probe = Instant::now() + self.interval;
            return;
        }
        match self.spawn(engine, &rec) {
            Ok((pid, output)) => {
                self.probe = Some(Probe {
                    pid,
                    output,
                    captured: Vec::new(),
                    start,
                    deadline: Instant::now() + self.timeout,
                    exit: None,
                });
            }
            Err(e) => self.finish(engine, id, start, -1, e.to_string()),
        }
    }

    fn spawn(&self, engine: &Engine, rec: &ContainerRecord) -> Result<(i32, OwnedFd), Error> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| Error::sys("pipe for the health probe", e))?;
        let request = ExecRequest {
            cmd: self.command.clone(),
            ..Default::default()
        };
        let exec = engine.exec_in(
            rec,
            &request,
            [None, Some(write.as_fd()), Some(write.as_fd())],
        )?;
        drop(write);
        nix::fcntl::fcntl(
            read.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .map_err(|e| Error::sys("health probe pipe", e))?;
        Ok((exec.pid, read))
    }

    /// Docker's rules for one result: success = healthy; a failure counts (outside the start
    /// period) toward `retries` consecutive ones = unhealthy.
    fn finish(&mut self, engine: &Engine, id: &str, start: String, exit_code: i64, output: String) {
        let before = self.health.status.clone();
        if exit_code == 0 {
            self.health.failing_streak = 0;
            self.health.status = HEALTHY.into();
        } else {
            let in_start_period =
                self.health.status == STARTING && self.started.elapsed() < self.start_period;
            if !in_start_period {
                self.health.failing_streak += 1;
                if self.health.failing_streak >= self.retries {
                    self.health.status = UNHEALTHY.into();
                }
            }
        }
        self.health.log.push(HealthLogEntry {
            start,
            end: crate::clock::now(),
            exit_code,
            output,
        });
        if self.health.log.len() > MAX_LOG_ENTRIES {
            let extra = self.health.log.len() - MAX_LOG_ENTRIES;
            self.health.log.drain(..extra);
        }
        self.next_probe = Instant::now() + self.next_wait();
        let _ = engine.db.set_health(id, &self.health);
        if self.health.status == before {
            return;
        }
        if let Ok(Some(rec)) = engine.db.container(id) {
            engine.container_event(&rec, &format!("health_status: {}", self.health.status), &[]);
        }
    }
}

/// Go's `Duration.String()` ("300ms", "30s", "1m30s"), as Docker's messages print durations.
fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000_000_000 {
        return if ns.is_multiple_of(1_000_000) {
            format!("{}ms", ns / 1_000_000)
        } else {
            format!("{}µs", trim_fraction(ns as f64 / 1000.0))
        };
    }
    let total_secs = ns / 1_000_000_000;
    let (h, m) = (total_secs / 3600, (total_secs / 60) % 60);
    let secs = (ns % 60_000_000_000) as f64 / 1e9;
    let s = trim_fraction(secs);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

fn trim_fraction(v: f64) -> String {
    let text = format!("{v:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Kills a probe and everything it started (its relay's children first, so none is left to
/// hold the container busy).
fn kill_tree(pid: i32) {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children
        .split_whitespace()
        .filter_map(|c| c.parse::<i32>().ok())
    {
        kill_tree(child);
    }
    // SAFETY: kill(2) on a pid of our own probe tree.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_commands() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            probe_command(&v(&["CMD-SHELL", "test -e /x"])),
            Some(v(&["/bin/sh", "-c", "test -e /x"]))
        );
        assert_eq!(
            probe_command(&v(&["CMD", "true", "1"])),
            Some(v(&["true", "1"]))
        );
        assert_eq!(probe_command(&v(&["NONE"])), None);
        assert_eq!(probe_command(&v(&[])), None);
    }

    #[test]
    fn compose_nulls_read_as_defaults() {
        let c: HealthConfig = serde_json::from_str(
            r#"{"Test":["CMD","true"],"Interval":200000000,"Timeout":null,"Retries":null}"#,
        )
        .unwrap();
        assert_eq!((c.interval, c.timeout, c.retries), (200_000_000, 0, 0));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn validation() {
        let bad = HealthConfig {
            interval: 1000,
            ..Default::default()
        };
        assert!(
            validate(&bad)
                .unwrap_err()
                .to_string()
                .contains("Interval in Healthcheck cannot be less than 1ms")
        );
        let negative = HealthConfig {
            retries: -1,
            ..Default::default()
        };
        assert!(validate(&negative).is_err());
        assert!(validate(&HealthConfig::default()).is_ok());
    }
}
