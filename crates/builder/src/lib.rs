//! berth-builder: the Dockerfile executor, Docker's classic builder semantics with BuildKit-like
//! plain progress or the classic builder's text (`report.rs`), over a small [`BuildHost`] trait
//! the engine implements.
//!
//! Owns: running a parsed Dockerfile (from the `berth-build` crate, the language) stage by stage,
//! independent stages in parallel; the config an instruction makes; the build cache *keys*
//! (a chain of hashes, see `cache.rs`) and when a step is cached; COPY/ADD/WORKDIR on a
//! scratch overlay (Docker's copy rules, ADD's archive unpacking); the layers and images of the
//! steps (through the image store the host lends); the build's progress in either style; which
//! RUN containers a build keeps (`rm`/`forcerm`, [`Intermediate`]); the stat-based
//! digests of a context directory kept between builds.
//!
//! Must not: depend on the engine, open the state database, create containers or mount
//! anything itself (RUN containers, overlay mounts, the cache table, pulls, downloads, user
//! lookups and naming the result are the host's), or leave anything behind but the step
//! containers the request keeps: a step's scratch mounts are removed whatever happens. What a build killed with -9 leaves (its step
//! containers, its scratch dir) is the engine's repair, which knows its containers.
//!
//! An image is only registered ([`BuildHost::register`]) once complete; the cache row of a
//! step is written after its image is committed.

mod cache;
pub mod cache_mounts;
mod copy;
mod emulator;
mod fs_step;
mod host;
mod output;
mod report;
mod run;
mod ssh_agent;
mod stage;
#[cfg(test)]
mod tests;

pub use fs_step::{remove_mount_stubs, remove_scratch, resolve_in_root};
pub use host::{BuildHost, HostError, RunStep, StepExit, StepMount, StepOutput};
pub use report::{ProgressStyle, short_id};
pub use ssh_agent::ssh_sockets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// What to build (the flags of `docker build` / the query of `POST /build`).
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The context directory (a tar context is unpacked into one by the caller).
    pub context_dir: PathBuf,
    /// The Dockerfile's text and its name for error messages.
    pub dockerfile: String,
    pub dockerfile_name: String,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub labels: BTreeMap<String, String>,
    /// How progress is reported: BuildKit's plain lines (`berth build`) or the classic
    /// builder's text (`POST /build`, which the docker CLI and compose print as they come).
    pub style: ProgressStyle,
    /// What becomes of RUN steps' containers (the classic builder's `rm` and `forcerm`).
    pub intermediate: Intermediate,
    /// What RUN steps' containers get besides their command: limits, network, extra hosts.
    pub step_options: StepOptions,
    /// Pull every base image named in FROM, even one present locally (`--pull`).
    pub pull: bool,
    /// `--secret id=ID,src=FILE|env=VAR`: the secrets' bytes by id, for `RUN --mount=type=secret`.
    pub secrets: BTreeMap<String, Secret>,
    /// `--ssh default|ID=SOCKET`: agent sockets by id, for `RUN --mount=type=ssh`.
    pub ssh: BTreeMap<String, PathBuf>,
    /// `--allow security.insecure`: lets `RUN --security=insecure` run privileged.
    pub allow_insecure: bool,
    /// `--platform os/arch[/variant]`: the target platform (the host's when None).
    pub platform: Option<String>,
    /// `--no-cache-filter STAGE`: stages whose steps never come from the cache.
    pub no_cache_filter: Vec<String>,
    /// `--build-context NAME=DIR|docker-image://IMAGE`: what FROM NAME, COPY --from=NAME and
    /// RUN --mount=from=NAME mean, over a stage or an image of that name.
    pub build_contexts: BTreeMap<String, NamedContext>,
    /// `--output`: where the result's files go besides the image store.
    pub outputs: Vec<Output>,
}

/// A `--build-context` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// A local directory, read like the build context.
    Dir(PathBuf),
    /// `docker-image://NAME`: an image, local or pulled.
    Image(String),
}

/// A `--output` destination for the result's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `type=local,dest=DIR`: the files, in a directory.
    Local(PathBuf),
    /// `type=tar,dest=FILE`: the files, as one tar archive.
    Tar(PathBuf),
}

/// A build secret's bytes; never shown by `Debug` (requests are logged).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The build's options for every RUN step's container (`docker build --memory`, `--network`,
/// `--add-host` ...; the query parameters of `POST /build`). Zero and empty mean unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOptions {
    /// Bytes.
    pub memory: i64,
    /// Memory plus swap, bytes; -1 unlimited.
    pub memory_swap: i64,
    /// The size of /dev/shm, bytes.
    pub shm_size: i64,
    pub cpu_shares: i64,
    /// CFS quota and period, microseconds.
    pub cpu_quota: i64,
    pub cpu_period: i64,
    /// CPUs the steps may run on (`0-2`, `0,1`).
    pub cpuset_cpus: String,
    /// The network RUN steps join: "" or "default" (the default bridge, as dockerd's builds),
    /// "host", "none", or a network's name. `RUN --network=` overrides it per step.
    pub network_mode: String,
    /// `NAME:IP` lines added to the steps' /etc/hosts.
    pub extra_hosts: Vec<String>,
}

/// What becomes of a RUN step's container when the step ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Intermediate {
    /// Removed however the step ends (`forcerm=1`; BuildKit leaves none either).
    #[default]
    RemoveAlways,
    /// Removed when the step succeeded; a failed step's container is kept for inspection
    /// (`rm=1`, the classic builder's default).
    RemoveOnSuccess,
    /// Always kept (`rm=0`).
    Keep,
}

impl Intermediate {
    /// The classic builder's `rm` and `forcerm` parameters (`forcerm` wins).
    pub fn from_classic(rm: bool, forcerm: bool) -> Self {
        match (rm, forcerm) {
            (_, true) => Intermediate::RemoveAlways,
            (true, false) => Intermediate::RemoveOnSuccess,
            (false, false) => Intermediate::Keep,
        }
    }

    /// Whether a step's container goes once the step ended (`succeeded`: it exited 0).
    pub fn removes(self, succeeded: bool) -> bool {
        match self {
            Intermediate::RemoveAlways => true,
            Intermediate::RemoveOnSuccess => succeeded,
            Intermediate::Keep => false,
        }
    }
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub image_id: String,
    /// The tags as stored (normalized names).
    pub tags: Vec<String>,
    /// Warnings the classic text shows after the image's id (the plain lines showed them
    /// first): dockerd sends them after its `aux` message.
    pub warnings: Vec<String>,
}

/// Why a build failed. Dockerfile mistakes and failing steps exit 1 (as `docker build` does);
/// the builder's own failures exit 125, the host's by its own rule.
#[derive(Debug, thiserror::Error)]
pub enum BuildError<E> {
    #[error("{0}")]
    Dockerfile(String),
    #[error("{message}")]
    StepFailed { message: String, code: i32 },
    /// The builder's own failure (files of the scratch dir, a stage stopped by another).
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Host(E),
}

impl<E: HostError> BuildError<E> {
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::Dockerfile(_) | BuildError::StepFailed { .. } => 1,
            BuildError::Internal(_) => 125,
            BuildError::Host(e) => e.exit_code(),
        }
    }
}

impl<E> BuildError<E> {
    pub(crate) fn io(context: impl std::fmt::Display, err: std::io::Error) -> Self {
        BuildError::Internal(format!("{context}: {err}"))
    }
}

impl<E: HostError> From<E> for BuildError<E> {
    fn from(e: E) -> Self {
        BuildError::Host(e)
    }
}

impl<E> From<berth_image::Error> for BuildError<E> {
    fn from(e: berth_image::Error) -> Self {
        BuildError::Internal(e.to_string())
    }
}

/// Progress lines (BuildKit's plain format); called from several threads.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// The error of a stage or step that stopped because another stage failed
/// ([`Shared::failed`]). It lives beside that flag, where both `stage` and `run` look, so that
/// neither imports the other for it.
pub(crate) const ABORTED: &str = "build aborted: another stage failed";

/// State shared by the stages of one build.
pub(crate) struct Shared<'a> {
    pub request: &'a BuildRequest,
    pub dockerfile: berth_build::Dockerfile,
    pub context: berth_build::context::Context,
    pub globals: Vec<(String, String)>,
    pub progress: Progress<'a>,
    pub step: AtomicUsize,
    /// The classic builder's `Step N/M` counter and its M.
    pub classic_step: AtomicUsize,
    pub classic_total: AtomicUsize,
    pub failed: AtomicBool,
    /// The stage that failed first.
    pub first_failure: Mutex<Option<usize>>,
    /// Stage index -> built image id.
    pub done: Mutex<BTreeMap<usize, String>>,
    pub done_changed: Condvar,
    /// This build process's scratch directory (mount points, downloads).
    pub scratch: PathBuf,
    /// The builder's state between builds (context digests, cache mounts).
    pub state_dir: PathBuf,
    /// The machine the steps run on, and the platform the image is for (`--platform`).
    pub build_platform: berth_build::platform::Platform,
    pub target_platform: berth_build::platform::Platform,
    pub stage_count: usize,
    /// The stage whose image is the result.
    pub target: usize,
}

impl Shared<'_> {
    pub fn next_step(&self) -> usize {
        self.step.fetch_add(1, Ordering::Relaxed)
    }

    /// A line shown in either style (a warning).
    pub fn say(&self, line: &str) {
        match self.request.style {
            ProgressStyle::Plain => (self.progress)(line),
            ProgressStyle::Classic => (self.progress)(&format!("{line}\n")),
        }
    }

    /// Waits for an earlier stage's image; None when the build failed meanwhile.
    pub fn wait_for_stage(&self, index: usize) -> Option<String> {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(id) = done.get(&index) {
                return Some(id.clone());
            }
            if self.failed.load(Ordering::Relaxed) {
                return None;
            }
            done = self
                .done_changed
                .wait(done)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        let lower = name.to_lowercase();
        self.dockerfile
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
    }
}

/// Where a build keeps its files.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// This build process's scratch directory: existing, and removed by the caller afterwards.
    pub scratch: PathBuf,
    /// The builder's state between builds (the context digests under `contexts/`).
    pub state: PathBuf,
}

/// Builds an image from a Dockerfile and a context, names it `tags` (already normalized), and
/// returns its id.
pub fn build<H: BuildHost>(
    host: &H,
    request: &BuildRequest,
    tags: Vec<String>,
    dirs: &Dirs,
    progress: Progress<'_>,
) -> Result<BuildResult, BuildError<H::Error>> {
    let file = &request.dockerfile_name;
    let dockerfile = berth_build::parse(&request.dockerfile, file)
        .map_err(|e| BuildError::Dockerfile(e.to_string()))?;
    cache_mounts::check_sharing(&dockerfile, file).map_err(BuildError::Dockerfile)?;
    let ignore_text =
        std::fs::read_to_string(request.context_dir.join(".dockerignore")).unwrap_or_default();
    let ignore = berth_build::ignore::Ignore::parse(&ignore_text);
    let digests_file = context_digests_file(&dirs.state, &request.context_dir);
    let mut digests = berth_build::context::DigestCache::parse(
        &std::fs::read_to_string(&digests_file).unwrap_or_default(),
    );
    let context =
        berth_build::context::Context::scan_with(&request.context_dir, &ignore, &mut digests)
            .map_err(|e| {
                BuildError::io(
                    format!(
                        "reading the build context {}",
                        request.context_dir.display()
                    ),
                    e,
                )
            })?;
    save_context_digests(&digests_file, &digests);
    let global_decls: Vec<(String, Option<String>)> = dockerfile
        .global_args
        .iter()
        .flat_map(|i| match &i.kind {
            berth_build::Kind::Arg(a) => a.clone(),
            _ => Vec::new(),
        })
        .collect();
    let mut globals =
        berth_build::args::global_values(&global_decls, &request.build_args, dockerfile.escape)
            .map_err(|e| BuildError::Dockerfile(format!("{file}: {e}")))?;
    let (build_platform, target_platform) = platforms(request)?;
    // The automatic platform ARGs: in FROM lines, and in a stage after `ARG NAME`.
    for (name, value) in berth_build::platform::automatic_args(&build_platform, &target_platform) {
        if !globals.iter().any(|(k, _)| *k == name) {
            globals.push((name, value));
        }
    }

    let target = match &request.target {
        Some(t) => dockerfile
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(t.to_lowercase().as_str()))
            .ok_or_else(|| {
                BuildError::Dockerfile(format!("target stage \"{t}\" could not be found"))
            })?,
        None => dockerfile.stages.len() - 1,
    };
    let stage_count = dockerfile.stages.len();
    let shared = Shared {
        request,
        dockerfile,
        context,
        globals,
        progress,
        step: AtomicUsize::new(1),
        classic_step: AtomicUsize::new(1),
        classic_total: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        first_failure: Mutex::new(None),
        done: Mutex::new(BTreeMap::new()),
        done_changed: Condvar::new(),
        scratch: dirs.scratch.clone(),
        state_dir: dirs.state.clone(),
        build_platform,
        target_platform,
        stage_count,
        target,
    };
    let needed = stage::needed_stages(&shared, target)?;
    shared.classic_total.store(
        report::classic_total(&shared.dockerfile, &needed, !request.labels.is_empty()),
        Ordering::Relaxed,
    );
    let unused = unused_build_args(&shared, &needed);
    let mut warnings = Vec::new();
    if !unused.is_empty() {
        let warning = format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        );
        // BuildKit warns first; the classic builder once its steps are done.
        match request.style {
            ProgressStyle::Plain => shared.say(&warning),
            ProgressStyle::Classic => warnings.push(warning),
        }
    }
    let started = std::time::Instant::now();
    shared.classic_global_args();
    let image_id = if needed.len() == 1 || request.style == ProgressStyle::Classic {
        // The classic builder's text is one step after the other: its stages run in order.
        for &index in needed.iter().filter(|&&i| i != target) {
            let id = stage::build_stage(host, &shared, index)?;
            shared
                .done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(index, id);
        }
        // No thread, no second host handle.
        let id = stage::build_stage(host, &shared, target)?;
        shared
            .done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target, id.clone());
        id
    } else {
        build_in_parallel(host, &shared, &needed)?
    };

    // Register the result: a named image from here on.
    host.register(&image_id, &tags)?;
    for output in &request.outputs {
        let n = shared.next_step();
        shared.plain(&format!("#{n} exporting to {}", output.describe()));
        output::export(host, &dirs.scratch, &image_id, output)?;
        shared.plain(&format!("#{n} DONE"));
    }
    let n = shared.next_step();
    shared.plain(&format!("#{n} exporting to image"));
    shared.plain(&format!("#{n} writing image {image_id} done"));
    for tag in &tags {
        shared.plain(&format!("#{n} naming to {} done", docker_name(tag)));
    }
    shared.plain(&format!(
        "#{n} DONE {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(BuildResult {
        image_id,
        tags,
        warnings,
    })
}

/// The platform the build runs on (the host's) and the one it builds for (`--platform`).
fn platforms<E>(
    request: &BuildRequest,
) -> Result<
    (
        berth_build::platform::Platform,
        berth_build::platform::Platform,
    ),
    BuildError<E>,
> {
    use berth_build::platform::Platform;
    let host = Platform::of_host(berth_image::host_arch());
    let Some(wanted) = request.platform.as_deref().filter(|p| !p.trim().is_empty()) else {
        return Ok((host.clone(), host));
    };
    let listed: Vec<&str> = wanted.split(',').map(str::trim).collect();
    if listed.len() > 1 {
        return Err(BuildError::Dockerfile(format!(
            "--platform={wanted}: a multi-platform build (an OCI image index) is not supported by \
             berth's builder: build each platform on its own (--platform {})",
            listed[0]
        )));
    }
    let target = Platform::parse(wanted).map_err(BuildError::Dockerfile)?;
    Ok((host, target))
}

/// Independent stages run in parallel, each on its own thread with its own host handle; each
/// waits for the stages it reads. Returns the target stage's image.
fn build_in_parallel<H: BuildHost>(
    host: &H,
    shared: &Shared<'_>,
    needed: &[usize],
) -> Result<String, BuildError<H::Error>> {
    let target = shared.target;
    let hosts = needed
        .iter()
        .map(|_| host.another())
        .collect::<Result<Vec<H>, _>>()?;
    type StageResult<E> = (usize, Result<String, BuildError<E>>);
    let results: Vec<StageResult<H::Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = needed
            .iter()
            .zip(hosts)
            .map(|(&index, host)| {
                (
                    index,
                    scope.spawn(move || {
                        let result = stage::build_stage(&host, shared, index);
                        let mut done = shared.done.lock().unwrap_or_else(|p| p.into_inner());
                        match &result {
                            Ok(id) => {
                                done.insert(index, id.clone());
                            }
                            Err(_) => {
                                // The first stage to fail decides the build's error;
                                // the others are stopped (their running step killed).
                                let mut first = shared
                                    .first_failure
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner());
                                first.get_or_insert(index);
                                shared.failed.store(true, Ordering::Relaxed);
                            }
                        }
                        shared.done_changed.notify_all();
                        result
                    }),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(i, h)| {
                (
                    i,
                    h.join().unwrap_or_else(|_| {
                        Err(BuildError::Internal("a build stage panicked".into()))
                    }),
                )
            })
            .collect()
    });
    // Report the failure that came first, not a stage stopped because of it.
    let first_failure = *shared
        .first_failure
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let mut target_id = None;
    let mut first_error = None;
    for (index, result) in results {
        match result {
            Ok(id) if index == target => target_id = Some(id),
            Ok(_) => {}
            Err(e)
                if first_failure == Some(index)
                    || (first_failure.is_none() && first_error.is_none()) =>
            {
                first_error = Some(e)
            }
            Err(_) => {}
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    target_id.ok_or_else(|| BuildError::Internal("the target stage produced no image".into()))
}

/// The current time as the image config records it (RFC 3339, nanoseconds, UTC).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// A name unique within this process (scratch subdirectories, temp files).
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `--build-arg`s no ARG of the built stages (or the global ones) declares, nor predefined.
fn unused_build_args(shared: &Shared<'_>, needed: &[usize]) -> Vec<String> {
    let declared = |name: &str| {
        let in_instructions = |instrs: &[berth_build::Instruction]| {
            instrs.iter().any(|i| matches!(&i.kind, berth_build::Kind::Arg(a) if a.iter().any(|(n, _)| n == name)))
        };
        in_instructions(&shared.dockerfile.global_args)
            || needed
                .iter()
                .any(|&i| in_instructions(&shared.dockerfile.stages[i].instructions))
    };
    shared
        .request
        .build_args
        .keys()
        .filter(|k| !berth_build::args::PREDEFINED.contains(&k.as_str()) && !declared(k))
        .cloned()
        .collect()
}

/// Where the file digests of a context directory are kept between builds (the stat-based
/// shortcut that keeps a fully cached rebuild from reading every file again).
fn context_digests_file(state: &std::path::Path, context: &std::path::Path) -> PathBuf {
    use sha2::Digest;
    let canonical = std::fs::canonicalize(context).unwrap_or_else(|_| context.to_path_buf());
    let key = hex::encode(sha2::Sha256::digest(canonical.to_string_lossy().as_bytes()));
    state.join("contexts").join(key)
}

/// Best effort (a lost file only costs re-hashing): temp file, then rename.
fn save_context_digests(path: &std::path::Path, digests: &berth_build::context::DigestCache) {
    let Some(dir) = path.parent() else { return };
    let tmp = dir.join(unique_name(".tmp-"));
    let ok = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, digests.to_text()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if ok.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// `busybox:latest` -> `docker.io/library/busybox:latest`, as BuildKit prints names.
fn docker_name(tag: &str) -> String {
    let first = tag.split('/').next().unwrap_or("");
    if tag.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        tag.to_string()
    } else if tag.contains('/') {
        format!("docker.io/{tag}")
    } else {
        format!("docker.io/library/{tag}")
    }
}
