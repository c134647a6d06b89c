//! The engine as the builder's [`BuildHost`]: RUN steps run in containers made through the
//! engine's normal path (the same shim, runtime and isolation as `berth run`), labelled with the
//! building process so a killed build's containers are reaped; scratch overlays are mounted the
//! way container rootfses are; the cache is the `build_cache` table.

use std::io::BufRead;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use berth_builder::{BuildHost, RunStep, StepExit, StepMount, StepOutput};

use super::reap;
use crate::types::{ContainerConfig, CreateRequest};
use crate::{Engine, Error};

impl BuildHost for Engine {
    type Error = Error;

    fn another(&self) -> Result<Self, Error> {
        Engine::open_at(&self.root, &self.run)
    }

    fn images(&self) -> &berth_image::Store {
        &self.images
    }

    fn base_image(
        &self,
        name: &str,
        platform: Option<&str>,
        pull: bool,
        say: &dyn Fn(&str),
    ) -> Result<String, Error> {
        match self.resolve_image(name) {
            Ok(id) if !pull => Ok(id),
            Ok(_) | Err(Error::NotFound(_)) => {
                let options = crate::distribution::PullOptions {
                    platform: platform.map(str::to_string),
                    ..Default::default()
                };
                // As a log shows a pull: its state changes, not the byte counts of its bars.
                let pulled = self.pull_image(name, &options, &mut |p| match &p.id {
                    _ if p.detail.is_some() => {}
                    Some(id) => say(&format!("{id}: {}", p.status)),
                    None => say(&p.status),
                })?;
                pulled
                    .into_iter()
                    .next()
                    .map(|p| p.id)
                    .ok_or_else(|| Error::NotFound(format!("No such image: {name}")))
            }
            Err(e) => Err(e),
        }
    }

    fn cache_get(&self, key: &str) -> Result<Option<String>, Error> {
        self.db.build_cache_get(key)
    }

    fn cache_put(&self, key: &str, image_id: &str, created: &str) -> Result<(), Error> {
        self.db.build_cache_put(key, image_id, created)
    }

    fn cache_forget(&self, key: &str) -> Result<(), Error> {
        self.db.build_cache_forget(key)
    }

    fn mount_overlay(
        &self,
        lowers: &[PathBuf],
        upper: &Path,
        work: &Path,
        merged: &Path,
    ) -> Result<(), Error> {
        crate::rootfs::mount_overlay(lowers, upper, work, merged, true)
    }

    fn unmount(&self, target: &Path) {
        crate::rootfs::unmount(target);
    }

    fn run_step(
        &self,
        step: &RunStep<'_>,
        output: &dyn StepOutput,
        stop: &AtomicBool,
    ) -> Result<StepExit, Error> {
        run_step(self, step, output, stop)
    }

    fn resolve_user(&self, rootfs: &Path, spec: &str) -> Result<(u32, u32), Error> {
        crate::user::resolve(rootfs, spec).map(|u| (u.uid, u.gid))
    }

    fn download(&self, url: &str, out: &mut dyn std::io::Write) -> Result<Option<i64>, Error> {
        berth_registry::http::download(url, out)
            .map(|got| got.last_modified)
            .map_err(Error::Registry)
    }

    fn register(&self, image_id: &str, tags: &[String]) -> Result<(), Error> {
        // One transaction: a killed build leaves its image named or not registered at all.
        self.db.add_image(image_id, &crate::clock::now(), tags)
    }
}

/// Removes the step's container on every path out but [`ContainerGuard::finish`].
struct ContainerGuard<'a> {
    engine: &'a Engine,
    id: Option<String>,
}

impl ContainerGuard<'_> {
    /// The step ended: its container goes or stays, as the build's `rm`/`forcerm` say.
    fn finish(mut self, spec: &RunStep<'_>, succeeded: bool, output: &dyn StepOutput) {
        let Some(id) = self.id.take() else { return };
        if spec.intermediate.removes(succeeded) {
            let _ = self.engine.remove_container(&id, true);
            output.removed(&id);
        } else {
            // Kept for the user (`ps -a`, `logs`, `commit`): no longer the build's, so the
            // reaping of killed builds' containers leaves it alone.
            let _ = release_from_build(self.engine, &id);
        }
    }
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            let _ = self.engine.remove_container(id, true);
        }
    }
}

/// Drops the build's owner label from a kept step container.
fn release_from_build(engine: &Engine, id: &str) -> Result<(), Error> {
    let Some(mut rec) = engine.db.container(id)? else {
        return Ok(());
    };
    if let Some(labels) = rec.config.config.labels.as_mut() {
        labels.remove(reap::OWNER_LABEL);
    }
    engine.db.set_container_config(id, &rec.config)
}

/// Sends each line read from `pipe` to `output` until every writer closed it.
fn pump_lines(pipe: std::os::fd::OwnedFd, stderr: bool, output: &dyn StepOutput) {
    let mut lines = std::io::BufReader::new(std::fs::File::from(pipe));
    let mut line = Vec::new();
    while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        let text = String::from_utf8_lossy(&line);
        output.line(text.trim_end_matches(['\n', '\r']), stderr);
        line.clear();
    }
}

/// The step container's init, held by pidfd: a kill after it exited (and was reaped) cannot
/// hit a process that reused its pid.
struct InitHandle {
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl InitHandle {
    fn open(pid: i32) -> Self {
        // SAFETY: pidfd_open(2) with flags 0 returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        let pidfd = (fd >= 0).then(|| {
            // SAFETY: `fd` is a new descriptor nobody else owns.
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
        });
        InitHandle { pidfd }
    }

    /// SIGKILL; a no-op once the init is gone (or was gone already when opened).
    fn kill(&self) {
        use std::os::fd::AsRawFd;
        if let Some(fd) = &self.pidfd {
            // SAFETY: pidfd_send_signal(2) on a pidfd we own, no siginfo, flags 0.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
        }
    }
}

/// Runs a RUN step's container to its end; its upper dir becomes the layer on exit 0.
fn run_step(
    engine: &Engine,
    spec: &RunStep<'_>,
    output: &dyn StepOutput,
    stop: &AtomicBool,
) -> Result<StepExit, Error> {
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(reap::OWNER_LABEL.to_string(), reap::owner());
    if !spec.secret_env.is_empty() {
        // Where the secrets are, never what they are: the record is stored.
        labels.insert(
            crate::lifecycle::SECRET_ENV_LABEL.to_string(),
            serde_json::to_string(&spec.secret_env).unwrap_or_default(),
        );
    }
    let request = CreateRequest {
        config: ContainerConfig {
            image: spec.parent.to_string(),
            cmd: Some(spec.argv.to_vec()),
            entrypoint: Some(Vec::new()),
            env: Some(spec.env.clone()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            labels: Some(labels),
            volumes: Some(Default::default()),
            ..Default::default()
        },
        host_config: step_host_config(spec),
        networking_config: Default::default(),
    };
    let id = engine.create_container_from(request, None, spec.parent.to_string())?;
    let guard = ContainerGuard {
        engine,
        id: Some(id.clone()),
    };
    output.started(&id);
    // Close-on-exec: parallel stages spawn shims from this process meanwhile, and a copy of
    // a write end in one of them would hold this step's output open (so the step, and the
    // build) until that other container ended. Two pipes: the classic text tells stderr apart.
    let pipe =
        || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e));
    let (out_reader, out_writer) = pipe()?;
    let (err_reader, err_writer) = pipe()?;
    let attach = crate::lifecycle::Attach {
        stdin: None,
        stdout: Some(out_writer.as_fd()),
        stderr: Some(err_writer.as_fd()),
    };
    let running = match engine.start_container(&id, Some(attach)) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(Error::Internal("the step's container did not start".into())),
        Err(Error::CannotRun { message, exit_code }) => {
            guard.finish(spec, false, output);
            return Ok(StepExit::Failed {
                code: exit_code,
                message: Some(message),
            });
        }
        Err(e) => return Err(e),
    };
    drop(out_writer);
    drop(err_writer);
    let finished = AtomicBool::new(false);
    let init = InitHandle::open(running.pid);
    let init = &init;
    let code = std::thread::scope(|scope| {
        let out_pump = scope.spawn(|| pump_lines(out_reader, false, output));
        let err_pump = scope.spawn(|| pump_lines(err_reader, true, output));
        // Another stage failing stops this step too: its init is killed, again at every tick
        // until the step has ended (the kill must not depend on when the failure lands).
        let finished = &finished;
        let watcher = scope.spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    init.kill();
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let code = running.wait();
        finished.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        let _ = out_pump.join();
        let _ = err_pump.join();
        code
    });
    match code {
        Some(0) => {}
        Some(code) => {
            guard.finish(spec, false, output);
            return Ok(StepExit::Failed {
                code,
                message: None,
            });
        }
        None => return Err(Error::Internal("the step's container shim died".into())),
    }
    let upper = engine.container_dir(&id).join("upper");
    if !spec.mounts.is_empty() {
        let targets: Vec<&str> = spec.mounts.iter().map(|m| m.target()).collect();
        let lowers = engine.images.layer_dirs(spec.parent)?;
        berth_builder::remove_mount_stubs(&upper, &lowers, &targets);
    }
    let (layer, diff_id) = engine.images.add_layer_from_upper(&upper)?;
    guard.finish(spec, true, output);
    Ok(StepExit::Done(layer, diff_id))
}

/// The step container's host config: the build's network, limits and extra hosts.
fn step_host_config(spec: &RunStep<'_>) -> crate::types::HostConfig {
    let options = spec.options;
    let shm = (options.shm_size > 0).then(|| {
        // Docker's /dev/shm, at the build's size (`--tmpfs /dev/shm` replaces the default).
        std::collections::BTreeMap::from([(
            "/dev/shm".to_string(),
            format!("size={}", options.shm_size),
        )])
    });
    crate::types::HostConfig {
        network_mode: spec.network.clone(),
        memory: options.memory,
        memory_swap: options.memory_swap,
        cpu_shares: options.cpu_shares,
        cpu_quota: options.cpu_quota,
        cpu_period: options.cpu_period,
        cpuset_cpus: options.cpuset_cpus.clone(),
        extra_hosts: (!options.extra_hosts.is_empty()).then(|| options.extra_hosts.clone()),
        tmpfs: shm,
        mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.iter().map(step_mount).collect()),
        privileged: spec.privileged,
        ..Default::default()
    }
}

/// A `RUN --mount` as the `--mount` of the step's container.
fn step_mount(mount: &StepMount) -> crate::types::MountSpec {
    match mount {
        StepMount::Bind {
            source,
            target,
            readonly,
        } => crate::types::MountSpec {
            kind: "bind".into(),
            source: source.to_string_lossy().into_owned(),
            target: target.clone(),
            read_only: *readonly,
            ..Default::default()
        },
        StepMount::Tmpfs { target, size } => crate::types::MountSpec {
            kind: "tmpfs".into(),
            target: target.clone(),
            tmpfs_options: size.map(|bytes| crate::types::TmpfsOptions {
                size_bytes: bytes as i64,
                mode: 0,
            }),
            ..Default::default()
        },
    }
}
