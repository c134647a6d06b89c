//! `berth build`: the Dockerfile executor, Docker's classic builder semantics with BuildKit-like
//! plain progress. The CLI and the API server's `POST /build` both call [`Engine::build`].
//!
//! Owns: running a parsed Dockerfile (from the `berth-build` crate) stage by stage, RUN steps in
//! containers through the engine's normal container path, COPY/ADD/WORKDIR on a scratch overlay,
//! layers from overlay upper dirs, the build cache (SQLite `build_cache`: state key -> image id),
//! and the cleanup of what a killed build left behind.
//!
//! An image is only registered (store record, then cache row, then tags) once complete; a step's
//! scratch mounts and containers are removed whatever happens, and [`reap`] removes those of a
//! build killed with -9 at the next build.

mod cache;
mod copy;
mod fs_step;
mod reap;

pub(crate) use reap::build_running;
pub(crate) use reap::reap_if_abandoned;
mod run;
mod stage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use crate::{Engine, Error, reference};

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
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub image_id: String,
    /// The tags as stored (normalized names).
    pub tags: Vec<String>,
}

/// Why a build failed. Dockerfile mistakes and failing steps exit 1 (as `docker build` does);
/// engine failures exit 125.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Dockerfile(String),
    #[error("{message}")]
    StepFailed { message: String, code: i32 },
    #[error(transparent)]
    Engine(#[from] Error),
}

impl BuildError {
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::Dockerfile(_) | BuildError::StepFailed { .. } => 1,
            BuildError::Engine(e) => e.exit_code(),
        }
    }
}

impl From<berth_image::Error> for BuildError {
    fn from(e: berth_image::Error) -> Self {
        BuildError::Engine(e.into())
    }
}

/// Progress lines (BuildKit's plain format); called from several threads.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// State shared by the stages of one build.
pub(crate) struct Shared<'a> {
    pub request: &'a BuildRequest,
    pub dockerfile: berth_build::Dockerfile,
    pub context: berth_build::context::Context,
    pub globals: Vec<(String, String)>,
    pub progress: Progress<'a>,
    pub step: AtomicUsize,
    pub failed: AtomicBool,
    /// The stage that failed first.
    pub first_failure: Mutex<Option<usize>>,
    /// Stage index -> built image id.
    pub done: Mutex<BTreeMap<usize, String>>,
    pub done_changed: Condvar,
    pub root: PathBuf,
    pub run: PathBuf,
    pub stage_count: usize,
    /// The stage whose image is the result.
    pub target: usize,
}

impl Shared<'_> {
    pub fn next_step(&self) -> usize {
        self.step.fetch_add(1, Ordering::Relaxed)
    }

    pub fn say(&self, line: &str) {
        (self.progress)(line);
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

impl Engine {
    /// Builds an image from a Dockerfile and a context, tags it, and returns its id.
    pub fn build(
        &self,
        request: &BuildRequest,
        progress: Progress<'_>,
    ) -> Result<BuildResult, BuildError> {
        self.repair();
        reap::reap_if_abandoned(self);
        // This process's scratch directory goes when the build ends, however it ends.
        struct RemoveScratch(PathBuf);
        impl Drop for RemoveScratch {
            fn drop(&mut self) {
                reap::remove_scratch(&self.0);
            }
        }
        let _scratch = RemoveScratch(reap::scratch_dir(self));
        // Marks this build as running (see reap_if_abandoned).
        std::fs::create_dir_all(&_scratch.0)
            .map_err(|e| Error::io(format!("creating {}", _scratch.0.display()), e))?;
        let tags = request
            .tags
            .iter()
            .map(|t| reference::normalize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let file = &request.dockerfile_name;
        let dockerfile = berth_build::parse(&request.dockerfile, file)
            .map_err(|e| BuildError::Dockerfile(e.to_string()))?;
        let ignore_text =
            std::fs::read_to_string(request.context_dir.join(".dockerignore")).unwrap_or_default();
        let ignore = berth_build::ignore::Ignore::parse(&ignore_text);
        let digests_file = context_digests_file(self, &request.context_dir);
        let mut digests = berth_build::context::DigestCache::parse(
            &std::fs::read_to_string(&digests_file).unwrap_or_default(),
        );
        let context =
            berth_build::context::Context::scan_with(&request.context_dir, &ignore, &mut digests)
                .map_err(|e| {
                Error::io(
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
        let globals =
            berth_build::args::global_values(&global_decls, &request.build_args, dockerfile.escape)
                .map_err(|e| BuildError::Dockerfile(format!("{file}: {e}")))?;

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
            failed: AtomicBool::new(false),
            first_failure: Mutex::new(None),
            done: Mutex::new(BTreeMap::new()),
            done_changed: Condvar::new(),
            root: self.root.clone(),
            run: self.run.clone(),
            stage_count,
            target,
        };
        let needed = stage::needed_stages(&shared, target)?;
        let unused = unused_build_args(&shared, &needed);
        if !unused.is_empty() {
            shared.say(&format!(
                "[Warning] One or more build-args [{}] were not consumed",
                unused.join(" ")
            ));
        }
        let started = std::time::Instant::now();
        let image_id = if needed.len() == 1 {
            // One stage: no thread, no second engine.
            let id = stage::build_stage(self, &shared, target)?;
            shared
                .done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(target, id.clone());
            id
        } else {
            // Independent stages run in parallel; each waits for the stages it reads.
            let results: Vec<(usize, Result<String, BuildError>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = needed
                    .iter()
                    .map(|&index| {
                        let shared = &shared;
                        (
                            index,
                            scope.spawn(move || {
                                let result = Engine::open_at(&shared.root, &shared.run)
                                    .map_err(BuildError::from)
                                    .and_then(|engine| stage::build_stage(&engine, shared, index));
                                let mut done =
                                    shared.done.lock().unwrap_or_else(|p| p.into_inner());
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
                                Err(BuildError::Engine(Error::Internal(
                                    "a build stage panicked".into(),
                                )))
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
            target_id.ok_or_else(|| Error::Internal("the target stage produced no image".into()))?
        };

        // Register the result: a named image from here on.
        let created = crate::containers::now();
        self.db.add_image(&image_id, &created)?;
        let n = shared.next_step();
        shared.say(&format!("#{n} exporting to image"));
        shared.say(&format!("#{n} writing image {image_id} done"));
        for tag in &tags {
            self.db.set_tag(tag, &image_id)?;
            shared.say(&format!("#{n} naming to {} done", docker_name(tag)));
        }
        shared.say(&format!(
            "#{n} DONE {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(BuildResult { image_id, tags })
    }

    /// [`Engine::build`] with the context as a tar stream (`docker build -`, `POST /build`):
    /// unpacked into this build's scratch directory, removed afterwards. An empty
    /// `request.dockerfile` is read from `request.dockerfile_name` inside the context.
    pub fn build_tar(
        &self,
        tar: impl std::io::Read,
        request: &BuildRequest,
        progress: Progress<'_>,
    ) -> Result<BuildResult, BuildError> {
        reap::reap_if_abandoned(self);
        let dir = reap::scratch_dir(self).join(format!("context-{}", crate::names::new_id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        struct Remove(PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let _remove = Remove(dir.clone());
        let mut archive = tar::Archive::new(tar);
        archive.set_preserve_permissions(true);
        archive.unpack(&dir).map_err(|e| {
            Error::InvalidArgument(format!(
                "reading the build context from the tar stream: {e}"
            ))
        })?;
        let mut request = request.clone();
        request.context_dir = dir.clone();
        if request.dockerfile.is_empty() {
            let name = if request.dockerfile_name.is_empty() {
                "Dockerfile".to_string()
            } else {
                request.dockerfile_name.clone()
            };
            let path = fs_step::resolve_in_root(&dir, &name);
            request.dockerfile = std::fs::read_to_string(&path).map_err(|e| {
                BuildError::Dockerfile(format!("failed to read dockerfile: open {name}: {e}"))
            })?;
            request.dockerfile_name = name;
        }
        self.build(&request, progress)
    }

    /// `berth builder prune`: drops the build cache and the intermediate images only it kept.
    /// Returns how many cache entries were dropped.
    pub fn prune_build_cache(&self) -> Result<usize, Error> {
        reap::reap_abandoned(self);
        let n = self.db.build_cache_clear()?;
        self.gc_images()?;
        Ok(n)
    }
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
fn context_digests_file(engine: &Engine, context: &std::path::Path) -> PathBuf {
    use sha2::Digest;
    let canonical = std::fs::canonicalize(context).unwrap_or_else(|_| context.to_path_buf());
    let key = hex::encode(sha2::Sha256::digest(canonical.to_string_lossy().as_bytes()));
    engine.root.join("build-cache").join("contexts").join(key)
}

/// Best effort (a lost file only costs re-hashing): temp file, then rename.
fn save_context_digests(path: &std::path::Path, digests: &berth_build::context::DigestCache) {
    let Some(dir) = path.parent() else { return };
    let tmp = dir.join(format!(".tmp-{}", crate::names::new_id()));
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
