//! The default backend: youki's libcontainer called in-process (no runtime binary to exec).

use std::path::Path;

use libcontainer::container::Container;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::Executor;
use libcontainer::workload::default::DefaultExecutor;
use oci_spec::runtime::Spec;

use super::seccomp_bpf::{self, SeccompExecutor};
use super::{CreateOptions, ExecOptions, OciRuntime, RuntimeError};

/// The bundle libcontainer runs when the seccomp filter is loaded from the cache: the caller's
/// spec without its seccomp profile (see [`seccomp_bpf`]). The caller's `config.json` stays the
/// container's real spec (exec reads it).
const EMBEDDED_BUNDLE: &str = "embedded";

pub struct Embedded;

fn lc(err: impl Into<crate::Cause>) -> RuntimeError {
    RuntimeError::Libcontainer(err.into())
}

/// A builder with the options `create` and `exec` share: state root, console socket, stdio.
fn builder(
    executor: impl Executor + 'static,
    id: String,
    state_root: &Path,
    console_socket: Option<std::path::PathBuf>,
    stdio: [Option<std::os::fd::OwnedFd>; 3],
) -> Result<ContainerBuilder, RuntimeError> {
    let mut builder = ContainerBuilder::new(id, SyscallType::default())
        .with_executor(executor)
        .with_root_path(state_root)
        .map_err(lc)?
        .with_console_socket(console_socket);
    let [stdin, stdout, stderr] = stdio;
    if let Some(fd) = stdin {
        builder = builder.with_stdin(fd);
    }
    if let Some(fd) = stdout {
        builder = builder.with_stdout(fd);
    }
    if let Some(fd) = stderr {
        builder = builder.with_stderr(fd);
    }
    Ok(builder)
}

/// For a spec with a seccomp profile: writes the bundle libcontainer runs instead (the profile
/// taken out, CAP_SYS_ADMIN lent to load the cached program with) and the executor that loads
/// it. `None`: run the caller's bundle as it is.
fn seccomp_bundle(
    mut spec: Spec,
    bundle: &Path,
    state_root: &Path,
) -> Result<Option<(std::path::PathBuf, SeccompExecutor)>, RuntimeError> {
    let Some(profile) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) else {
        return Ok(None);
    };
    let Some(program) = seccomp_bpf::program(&profile, &seccomp_bpf::cache_dir(state_root))? else {
        return Ok(None);
    };
    let lent = seccomp_bpf::prepare_spec(&mut spec);
    if let Some(root) = spec.root_mut().as_mut().filter(|r| r.path().is_relative()) {
        let absolute = bundle.join(root.path());
        root.set_path(absolute);
    }
    let dir = bundle.join(EMBEDDED_BUNDLE);
    std::fs::create_dir_all(&dir).map_err(|source| RuntimeError::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    spec.save(dir.join("config.json")).map_err(lc)?;
    Ok(Some((dir, SeccompExecutor { program, lent })))
}

fn load(state_root: &Path, id: &str) -> Result<Container, RuntimeError> {
    Container::load(state_root.join(id)).map_err(lc)
}

impl OciRuntime for Embedded {
    fn create(&self, options: CreateOptions) -> Result<i32, RuntimeError> {
        std::fs::create_dir_all(&options.state_root).map_err(|source| RuntimeError::Io {
            context: format!("creating {}", options.state_root.display()),
            source,
        })?;
        let stdio = [options.stdin, options.stdout, options.stderr];
        let spec = Spec::load(options.bundle.join("config.json")).map_err(lc)?;
        // Held until the init is forked: it inherits the container's named cgroups.
        let _named_cgroups = crate::cgroups::NamedHierarchies::join(
            &spec
                .linux()
                .as_ref()
                .and_then(|l| l.cgroups_path().as_ref())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let (bundle, builder) = match seccomp_bundle(spec, &options.bundle, &options.state_root)? {
            Some((bundle, executor)) => (
                bundle,
                builder(
                    executor,
                    options.id,
                    &options.state_root,
                    options.console_socket,
                    stdio,
                )?,
            ),
            None => (
                options.bundle.clone(),
                builder(
                    DefaultExecutor {},
                    options.id,
                    &options.state_root,
                    options.console_socket,
                    stdio,
                )?,
            ),
        };
        let container = builder
            .as_init(&bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map_err(lc)?;
        container.pid().map(|pid| pid.as_raw()).ok_or_else(|| {
            RuntimeError::Libcontainer("container created without an init pid".into())
        })
    }

    fn start(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        load(state_root, id)?.start().map_err(lc)
    }

    fn pause(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        load(state_root, id)?.pause().map_err(lc)
    }

    fn resume(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        load(state_root, id)?.resume().map_err(lc)
    }

    fn delete(&self, state_root: &Path, id: &str, force: bool) -> Result<(), RuntimeError> {
        let dir = state_root.join(id);
        if !dir.exists() {
            return Ok(());
        }
        let mut container = load(state_root, id)?;
        // The usual case: the shim has reaped the init. Remove the cgroup and the state
        // directly (see `cgroups`); a live container goes through libcontainer's delete.
        let init_gone = container.pid().is_none_or(|pid| {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw()))
                .map_or(true, |s| s.contains(") Z "))
        });
        if init_gone {
            if let Ok(config) = libcontainer::config::YoukiConfig::load(&dir) {
                crate::cgroups::remove(&config.cgroup_path).map_err(|source| RuntimeError::Io {
                    context: "removing the container's cgroup".into(),
                    source,
                })?;
            }
            return std::fs::remove_dir_all(&dir).map_err(|source| RuntimeError::Io {
                context: format!("removing {}", dir.display()),
                source,
            });
        }
        container.delete(force).map_err(lc)
    }

    fn exec(&self, options: ExecOptions) -> Result<i32, RuntimeError> {
        let container = load(&options.state_root, &options.id)?;
        let pid = container.pid().ok_or_else(|| {
            RuntimeError::Libcontainer("the container has no init process".into())
        })?;
        let mut bundle = container.bundle().to_path_buf();
        if bundle.ends_with(EMBEDDED_BUNDLE) {
            bundle.pop();
        }
        let spec = Spec::load(bundle.join("config.json")).map_err(lc)?;
        super::join::exec(pid.as_raw(), &spec, options)
    }
}
