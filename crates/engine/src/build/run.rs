//! RUN: the command runs in a container made through the engine's normal path (the same shim,
//! runtime and isolation as `berth run`), on an overlay over the parent image; its output is
//! streamed to the build progress, and its upper dir becomes the step's layer. The container
//! is removed whatever happens.

use std::io::BufRead;
use std::os::fd::AsFd;

use berth_image::Descriptor;

use super::{BuildError, Shared, reap};
use crate::types::{ContainerConfig, CreateRequest};
use crate::{Engine, Error};

/// What a RUN step runs, and as whom.
pub struct RunSpec<'a> {
    pub parent: &'a str,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub step: usize,
    /// `RUN --network=host`: the host's network; otherwise a private loopback-only one.
    pub host_network: bool,
}

/// Removes the step's container on every path out.
struct ContainerGuard<'a> {
    engine: &'a Engine,
    id: String,
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        let _ = self.engine.remove_container(&self.id, true);
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

/// Runs the step; returns the layer of what it changed and its diff_id.
pub fn run(
    engine: &Engine,
    shared: &Shared<'_>,
    spec: RunSpec<'_>,
) -> Result<(Descriptor, String), BuildError> {
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(reap::OWNER_LABEL.to_string(), reap::owner());
    let request = CreateRequest {
        config: ContainerConfig {
            image: spec.parent.to_string(),
            cmd: Some(spec.argv.clone()),
            entrypoint: Some(Vec::new()),
            env: Some(spec.env.clone()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            labels: Some(labels),
            volumes: Some(Default::default()),
            ..Default::default()
        },
        host_config: crate::types::HostConfig {
            // "" is the default bridge now; a step keeps the loopback-only namespace it had.
            network_mode: if spec.host_network {
                "host".into()
            } else {
                "none".into()
            },
            ..Default::default()
        },
        networking_config: Default::default(),
    };
    let id = engine.create_container_from(request, None, spec.parent.to_string())?;
    let guard = ContainerGuard {
        engine,
        id: id.clone(),
    };
    // Close-on-exec: parallel stages spawn shims from this process meanwhile, and a copy of
    // the write end in one of them would hold this step's output open (so the step, and the
    // build) until that other container ended.
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Internal(format!("pipe: {e}")))?;
    let attach = crate::lifecycle::Attach {
        stdin: None,
        stdout: Some(writer.as_fd()),
        stderr: Some(writer.as_fd()),
    };
    let started = std::time::Instant::now();
    let command = spec.argv.join(" ");
    let failed = |code: i32| BuildError::StepFailed {
        message: format!("The command '{command}' returned a non-zero code: {code}"),
        code,
    };
    // A stage that failed meanwhile: start nothing more.
    if shared.failed.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::Internal(super::stage::ABORTED.into()).into());
    }
    let running = match engine.start_container(&id, Some(attach)) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(Error::Internal("the step's container did not start".into()).into()),
        Err(Error::CannotRun { message, exit_code }) => {
            shared.say(&format!("#{} {message}", spec.step));
            return Err(failed(exit_code));
        }
        Err(e) => return Err(e.into()),
    };
    drop(writer);
    let step = spec.step;
    let finished = std::sync::atomic::AtomicBool::new(false);
    let init = InitHandle::open(running.pid);
    let init = &init;
    let code = std::thread::scope(|scope| {
        let pump = scope.spawn(|| {
            let mut lines = std::io::BufReader::new(std::fs::File::from(reader));
            let mut line = Vec::new();
            while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                shared.say(&format!(
                    "#{step} {:.3} {}",
                    started.elapsed().as_secs_f64(),
                    text.trim_end_matches(['\n', '\r'])
                ));
                line.clear();
            }
        });
        // Another stage failing stops this step too: its init is killed, again at every tick
        // until the step has ended (the kill must not depend on when the failure lands).
        let finished = &finished;
        let watcher = scope.spawn(move || {
            use std::sync::atomic::Ordering::Relaxed;
            while !finished.load(Relaxed) {
                if shared.failed.load(Relaxed) {
                    init.kill();
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let code = running.wait();
        finished.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = watcher.join();
        let _ = pump.join();
        code
    });
    match code {
        Some(0) => {}
        Some(code) => return Err(failed(code)),
        None => return Err(Error::Internal("the step's container shim died".into()).into()),
    }
    let upper = engine.container_dir(&id).join("upper");
    let layer = engine.images.add_layer_from_upper(&upper)?;
    drop(guard);
    Ok(layer)
}
