//! Where a machine's files live: what persists under `<BERTH_ROOT>/machines/<name>/` (config,
//! disk, certificates) and what belongs to one boot under `<BERTH_RUN>/machines/<name>/`
//! (the supervising process's record, sockets, serial log).

use std::path::{Path, PathBuf};

/// The state roots, as the engine reads them (`BERTH_ROOT`, default /var/lib/berth;
/// `BERTH_RUN`, default /run/berth).
#[derive(Debug, Clone)]
pub struct Roots {
    pub root: PathBuf,
    pub run: PathBuf,
}

impl Roots {
    pub fn from_env() -> Roots {
        let var = |name: &str, default: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        Roots {
            root: var("BERTH_ROOT", "/var/lib/berth"),
            run: var("BERTH_RUN", "/run/berth"),
        }
    }

    /// Every machine's state directory.
    pub fn machines(&self) -> PathBuf {
        self.root.join("machines")
    }

    /// Every machine's runtime directory (and its lock files).
    pub fn machines_run(&self) -> PathBuf {
        self.run.join("machines")
    }

    /// What berth derives from the guest kernel (vmlinux, initramfs), shared with `run --vm`.
    pub fn vm_cache(&self) -> PathBuf {
        self.root.join("vm")
    }

    pub fn machine(&self, name: &str) -> MachinePaths {
        MachinePaths {
            state: self.machines().join(name),
            run: self.machines_run().join(name),
            lock: self.machines_run().join(format!("{name}.lock")),
            vm_cache: self.vm_cache(),
        }
    }
}

/// One machine's files.
#[derive(Debug, Clone)]
pub struct MachinePaths {
    /// `<BERTH_ROOT>/machines/<name>`: exists exactly when the machine does.
    pub state: PathBuf,
    /// `<BERTH_RUN>/machines/<name>`: this boot's files.
    pub run: PathBuf,
    /// The per-machine lock, beside the runtime directory (it outlives a stop).
    pub lock: PathBuf,
    pub vm_cache: PathBuf,
}

impl MachinePaths {
    pub fn config(&self) -> PathBuf {
        self.state.join("config.json")
    }
    pub fn disk(&self) -> PathBuf {
        self.state.join("disk.qcow2")
    }
    pub fn certs(&self) -> PathBuf {
        self.state.join("certs")
    }
    /// The supervising process of the running machine (pid and start time).
    pub fn process_record(&self) -> PathBuf {
        self.run.join("process.json")
    }
    /// The supervising process's own stdout and stderr.
    pub fn process_log(&self) -> PathBuf {
        self.run.join("relay.log")
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync'd, renamed over it,
/// so a crash leaves the old content or the new, never half of either.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
