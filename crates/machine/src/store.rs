//! The machines of one state root, and every verb's policy: names, the per-machine lock,
//! reconciliation, staging so that a failed `create` leaves nothing behind, the readiness probe.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::MachineError;
use crate::api_client::ApiClient;
use crate::certs;
use crate::config::MachineConfig;
use crate::driver::{MachineDriver, State};
use crate::drivers;
use crate::lock::MachineLock;
use crate::machine::Machine;
use crate::name;
use crate::paths::{MachinePaths, Roots};

/// How long `start` waits for the engine's API (boot, modules, `berth serve`): generous for
/// software emulation on a loaded host; a boot that fails fails sooner (the VM stops).
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How long `stop` gives the guest to power off cleanly before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// What `create` takes.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub name: String,
    pub driver: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_bytes: u64,
    pub kernel: Option<PathBuf>,
}

/// A machine as `ls` and `inspect` see it, after reconciliation.
pub struct Status {
    pub machine: Machine,
    pub state: State,
    pub url: String,
    pub accelerator: String,
}

pub struct Machines {
    roots: Roots,
}

impl Machines {
    pub fn from_env() -> Machines {
        Machines {
            roots: Roots::from_env(),
        }
    }

    pub fn with_roots(roots: Roots) -> Machines {
        Machines { roots }
    }

    fn lock(&self, name: &str) -> Result<(MachineLock, MachinePaths), MachineError> {
        name::validate(name)?;
        let paths = self.roots.machine(name);
        let lock = MachineLock::acquire(&paths.lock)?;
        Ok((lock, paths))
    }

    /// The machine `name`, its lock held while `f` runs.
    fn with_machine<T>(
        &self,
        name: &str,
        f: impl FnOnce(&Machine, &dyn MachineDriver, &MachineLock) -> Result<T, MachineError>,
    ) -> Result<T, MachineError> {
        let (lock, paths) = self.lock(name)?;
        if !paths.config().is_file() {
            // No machine: not even its lock file stays.
            lock.unlink();
            return Err(MachineError::NotFound(name.to_string()));
        }
        let config = MachineConfig::load(&paths)?;
        let driver = drivers::by_name(&config.driver)?;
        let machine = Machine { config, paths };
        f(&machine, driver.as_ref(), &lock)
    }

    /// Creates the machine and starts it; on any failure nothing of it is left.
    pub fn create(&self, options: CreateOptions) -> Result<Machine, MachineError> {
        let driver = drivers::by_name(&options.driver)?;
        let (lock, paths) = self.lock(&options.name)?;
        if paths.state.exists() {
            return Err(MachineError::Exists(options.name));
        }
        let created = self.create_locked(options, driver.as_ref(), paths);
        if created.is_err() {
            // Not even the lock file of a machine that does not exist stays behind.
            lock.unlink();
        }
        created
    }

    fn create_locked(
        &self,
        options: CreateOptions,
        driver: &dyn MachineDriver,
        paths: MachinePaths,
    ) -> Result<Machine, MachineError> {
        driver.check_host()?;
        if let Some(kernel) = &options.kernel
            && !kernel.is_file()
        {
            return Err(MachineError::Io {
                what: "reading the kernel",
                path: kernel.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let config = MachineConfig {
            name: options.name.clone(),
            driver: driver.name().to_string(),
            cpus: options.cpus,
            memory_mib: options.memory_mib,
            disk_bytes: options.disk_bytes,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            api_port: free_loopback_port()?,
            kernel: options.kernel,
        };
        // Everything is made in a staging directory and renamed into place at the end: a
        // create that fails (or is killed) never leaves a machine that looks real.
        let staging = self
            .roots
            .machines()
            .join(format!(".{}.creating", options.name));
        let _ = std::fs::remove_dir_all(&staging);
        let staged = Machine {
            config,
            paths: MachinePaths {
                state: staging.clone(),
                ..paths.clone()
            },
        };
        let made = (|| {
            std::fs::create_dir_all(&staging).map_err(MachineError::io("creating", &staging))?;
            staged.config.save(&staged.paths)?;
            certs::generate(&options.name)?.write(&staged.paths.certs())?;
            driver.create(&staged)?;
            std::fs::rename(&staging, &paths.state)
                .map_err(MachineError::io("creating", &paths.state))
        })();
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        let machine = Machine {
            config: staged.config,
            paths,
        };
        match self.boot(&machine, driver) {
            Ok(booted) => Ok(booted),
            Err(e) => {
                let _ = driver.kill(&machine);
                let _ = std::fs::remove_dir_all(&machine.paths.run);
                let _ = std::fs::remove_dir_all(&machine.paths.state);
                Err(e)
            }
        }
    }

    /// Boots a stopped machine and waits for its API.
    fn boot(&self, machine: &Machine, driver: &dyn MachineDriver) -> Result<Machine, MachineError> {
        let mut machine = machine.clone();
        if !port_is_free(machine.config.api_port) {
            // Another program took the port while the machine was stopped: the certificates do
            // not name a port, so a new one costs nothing but a new `env`.
            machine.config.api_port = free_loopback_port()?;
            machine.config.save(&machine.paths)?;
            eprintln!(
                "The port of machine {:?}'s API was taken: it is now 127.0.0.1:{} (run `berth machine env {}` again)",
                machine.name(),
                machine.config.api_port,
                machine.name()
            );
        }
        let failed = |reason: String, driver: &dyn MachineDriver| MachineError::BootFailed {
            name: machine.config.name.clone(),
            reason,
            log: driver.boot_log(&machine, 30),
        };
        if let Err(e) = driver.start(&machine) {
            let _ = driver.kill(&machine);
            return Err(match e {
                MachineError::BootFailed { .. } => e,
                other => failed(other.to_string(), driver),
            });
        }
        let client = ApiClient::new(&machine.certs_dir())?;
        let (_, port) = driver.endpoint(&machine);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::new();
        // QEMU's user-mode network accepts the host's connection before the guest listens (or
        // even has its network up) and then holds it: short attempts first, longer ones as the
        // wait goes on (a TLS handshake under emulation on a loaded host can take a while).
        let waiting = Instant::now();
        loop {
            let attempt_timeout =
                (waiting.elapsed() / 4).clamp(Duration::from_millis(500), Duration::from_secs(4));
            if driver.state(&machine) != State::Running {
                return Err(failed(
                    format!("the VM stopped before its API answered ({last})"),
                    driver,
                ));
            }
            match client.ping(port, attempt_timeout) {
                Ok(()) => return Ok(machine),
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                let _ = driver.kill(&machine);
                return Err(failed(
                    format!(
                        "its API did not answer within {} s ({last})",
                        READY_TIMEOUT.as_secs()
                    ),
                    driver,
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn start(&self, name: &str) -> Result<(), MachineError> {
        self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) == State::Running {
                return Err(MachineError::AlreadyInState {
                    name: name.to_string(),
                    state: "running",
                });
            }
            self.boot(machine, driver).map(|_| ())
        })
    }

    pub fn stop(&self, name: &str) -> Result<(), MachineError> {
        self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) != State::Running {
                return Err(MachineError::AlreadyInState {
                    name: name.to_string(),
                    state: "stopped",
                });
            }
            driver.stop(machine, STOP_TIMEOUT)
        })
    }

    pub fn kill(&self, name: &str) -> Result<(), MachineError> {
        self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) != State::Running {
                return Err(MachineError::AlreadyInState {
                    name: name.to_string(),
                    state: "stopped",
                });
            }
            driver.kill(machine)
        })
    }

    /// Stops the machine if it runs, then boots it.
    pub fn restart(&self, name: &str) -> Result<(), MachineError> {
        self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) == State::Running {
                driver.stop(machine, STOP_TIMEOUT)?;
            }
            self.boot(machine, driver).map(|_| ())
        })
    }

    /// Removes the machine: a running one only with `force` (then it is killed first).
    pub fn remove(&self, name: &str, force: bool) -> Result<(), MachineError> {
        self.with_machine(name, |machine, driver, lock| {
            if driver.state(machine) == State::Running {
                if !force {
                    return Err(MachineError::Running {
                        name: name.to_string(),
                    });
                }
                driver.kill(machine)?;
            }
            std::fs::remove_dir_all(&machine.paths.state)
                .map_err(MachineError::io("removing", &machine.paths.state))?;
            let _ = std::fs::remove_dir_all(&machine.paths.run);
            lock.unlink();
            Ok(())
        })
    }

    pub fn status(&self, name: &str) -> Result<Status, MachineError> {
        self.with_machine(name, |machine, driver, _| Ok(status_of(machine, driver)))
    }

    /// Every machine, by name.
    pub fn list(&self) -> Result<Vec<Status>, MachineError> {
        let dir = self.roots.machines();
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(MachineError::io("listing", &dir)(e)),
        };
        names.sort();
        let mut all = Vec::new();
        for name in names {
            match self.status(&name) {
                Ok(status) => all.push(status),
                // Removed by another command since the listing.
                Err(MachineError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }

    /// Loads a `docker save` archive into the running machine's engine (`create --image`).
    pub fn load_image(
        &self,
        name: &str,
        archive: &std::path::Path,
    ) -> Result<String, MachineError> {
        self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) != State::Running {
                return Err(MachineError::NotRunning {
                    name: name.to_string(),
                });
            }
            let (_, port) = driver.endpoint(machine);
            ApiClient::new(&machine.certs_dir())?
                .load_image(port, archive)
                .map_err(|e| MachineError::ImageLoad(e.to_string()))
        })
    }

    /// Runs a command in the running machine `name`; its exit code.
    pub fn exec(&self, name: &str, request: crate::ExecRequest) -> Result<i32, MachineError> {
        // The lock is not held while the command runs: a shell may last hours, and `stop`
        // must still work meanwhile (it ends the shell).
        let (machine, driver) = self.with_machine(name, |machine, driver, _| {
            if driver.state(machine) != State::Running {
                return Err(MachineError::NotRunning {
                    name: name.to_string(),
                });
            }
            Ok((machine.clone(), drivers::by_name(driver.name())?))
        })?;
        driver.exec(&machine, request)
    }
}

fn status_of(machine: &Machine, driver: &dyn MachineDriver) -> Status {
    let state = driver.state(machine);
    let (host, port) = driver.endpoint(machine);
    Status {
        machine: machine.clone(),
        state,
        url: format!("tcp://{host}:{port}"),
        accelerator: driver.accelerator(machine),
    }
}

/// A loopback port nobody listens on now (the kernel picks it).
fn free_loopback_port() -> Result<u16, MachineError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|source| MachineError::Io {
            what: "finding a free port on",
            path: PathBuf::from("127.0.0.1"),
            source,
        })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| MachineError::Io {
            what: "finding a free port on",
            path: PathBuf::from("127.0.0.1"),
            source,
        })
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}
