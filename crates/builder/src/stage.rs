//! One stage: its base (an image, `scratch`, or an earlier stage), the base's ONBUILD
//! triggers, then every instruction. Metadata instructions change the config in memory; RUN,
//! COPY, ADD and WORKDIR make a layer unless the cache has the resulting state. An image is
//! committed only when a step needs one (a RUN's container) or at the end of the stage.
//!
//! COPY and ADD, the longest steps, are `copy_step.rs` below this one: a child module, so it
//! sees the stage's state without that state being opened to the rest of the crate.

mod copy_step;
mod run_mounts;

use std::collections::BTreeMap;

use berth_build::dockerfile::{Command, Copy, Instruction, Kind};
use berth_build::expand::expand_word;
use berth_build::platform::Platform;
use berth_image::{Descriptor, History, ImageConfig};

use crate::fs_step::Scratch;
use crate::{ABORTED, BuildError, BuildHost, ProgressStyle, Shared, cache, now};

/// A step's result; the host's errors kept as they are.
type Result<T, H> = std::result::Result<T, BuildError<<H as BuildHost>::Error>>;

/// The stages `target` needs (itself, its base stages, the stages it copies from), sorted.
pub fn needed_stages<E>(
    shared: &Shared<'_>,
    target: usize,
) -> std::result::Result<Vec<usize>, BuildError<E>> {
    let mut needed = std::collections::BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if !needed.insert(i) {
            continue;
        }
        let stage = &shared.dockerfile.stages[i];
        let mut refs = vec![
            expand_word(
                &stage.base,
                shared.globals.as_slice(),
                shared.dockerfile.escape,
            )
            .unwrap_or_default(),
        ];
        for instr in &stage.instructions {
            let froms: Vec<String> = match &instr.kind {
                Kind::Copy(Copy {
                    from: Some(from), ..
                }) => vec![from.clone()],
                // `RUN --mount=from=STAGE` reads that stage too.
                Kind::Run { mounts, .. } => mounts
                    .iter()
                    .filter_map(|m| berth_build::mount::parse_mount(m).ok()?.from)
                    .collect(),
                _ => Vec::new(),
            };
            for from in froms {
                refs.push(
                    expand_word(&from, shared.globals.as_slice(), shared.dockerfile.escape)
                        .unwrap_or_default(),
                );
            }
        }
        for r in refs {
            let dep = match r.parse::<usize>() {
                Ok(n) if n < shared.stage_count => Some(n),
                _ => shared.stage_index(&r),
            };
            match dep {
                Some(d) if d >= i => {
                    return Err(BuildError::Dockerfile(format!(
                        "{}:{}: stage {r} is not defined before the stage that uses it",
                        shared.request.dockerfile_name, stage.line
                    )));
                }
                Some(d) => todo.push(d),
                None => {}
            }
        }
    }
    Ok(needed.into_iter().collect())
}

/// Where a stage stands: its cache key, its image when one is committed, its config and layers.
struct State {
    key: String,
    image: Option<String>,
    config: ImageConfig,
    layers: Vec<Descriptor>,
    /// ARGs declared in this stage, in order.
    args: Vec<(String, String)>,
    cmd_set: bool,
}

struct StageRun<'e, 's, 'r, H: BuildHost> {
    host: &'e H,
    shared: &'s Shared<'r>,
    index: usize,
    label: String,
    total: usize,
    position: usize,
    state: State,
}

/// Builds stage `index`; returns its image id (committed, not named).
pub fn build_stage<H: BuildHost>(host: &H, shared: &Shared<'_>, index: usize) -> Result<String, H> {
    let stage = &shared.dockerfile.stages[index];
    let file = &shared.request.dockerfile_name;
    let label = if shared.stage_count == 1 {
        String::new()
    } else {
        format!(
            "{} ",
            stage
                .name
                .clone()
                .unwrap_or_else(|| format!("stage-{index}"))
        )
    };
    let total = 1 + stage.instructions.iter().filter(|i| shown(&i.kind)).count();
    let base = expand_word(
        &stage.base,
        shared.globals.as_slice(),
        shared.dockerfile.escape,
    )
    .map_err(|e| BuildError::Dockerfile(format!("{file}:{}: {e}", stage.line)))?;
    let explicit = explicit_platform(shared, index)?;
    let stage_platform = explicit
        .clone()
        .unwrap_or_else(|| shared.target_platform.clone());
    // A base image is pulled (and checked) for a platform when one was asked for.
    let platform = (explicit.is_some() || shared.target_platform != shared.build_platform)
        .then(|| stage_platform.to_string());
    let n = shared.next_step();
    shared.plain(&format!("#{n} [{label}1/{total}] FROM {base}"));
    shared.classic_step(&match &stage.name {
        Some(name) => format!("FROM {} AS {name}", stage.base),
        None => format!("FROM {}", stage.base),
    });
    let started = std::time::Instant::now();
    // `--build-context NAME=docker-image://IMAGE` replaces FROM NAME.
    let base = match shared.request.build_contexts.get(&base) {
        Some(crate::NamedContext::Image(image)) => image.clone(),
        Some(crate::NamedContext::Dir(dir)) => {
            return Err(BuildError::Dockerfile(format!(
                "{file}:{}: FROM {base}: the build context {base} is a directory ({}), not an \
                 image",
                stage.line,
                dir.display()
            )));
        }
        None => base,
    };
    let base_id = if base == "scratch" {
        None
    } else if let Some(j) = shared.stage_index(&base).filter(|j| *j < index) {
        Some(
            shared
                .wait_for_stage(j)
                .ok_or_else(|| BuildError::Internal(ABORTED.into()))?,
        )
    } else {
        let id = image_for(host, shared, &base, platform.as_deref()).map_err(|e| {
            BuildError::Dockerfile(format!("{file}:{}: FROM {base}: {e}", stage.line))
        })?;
        if let Some(wanted) = &platform {
            let config = host.images().image(&id)?.config;
            let actual = Platform {
                os: config.os.clone(),
                arch: config.architecture.clone(),
                variant: String::new(),
            };
            if !stage_platform.same_machine(&actual) {
                return Err(BuildError::Dockerfile(format!(
                    "{file}:{}: FROM --platform={wanted} {base}: image with reference {base} was \
                     found but does not match the specified platform: wanted {wanted}, actual: \
                     {}/{}",
                    stage.line, config.os, config.architecture
                )));
            }
        }
        Some(id)
    };
    let (mut config, layers) = match &base_id {
        Some(id) => (
            host.images().image(id)?.config,
            host.images().layer_descriptors(id)?,
        ),
        None => (
            ImageConfig {
                architecture: stage_platform.arch.clone(),
                os: stage_platform.os.clone(),
                variant: (!stage_platform.variant.is_empty())
                    .then(|| stage_platform.variant.clone()),
                ..Default::default()
            },
            Vec::new(),
        ),
    };
    check_emulator(shared, index, &stage_platform)?;
    shared.plain(&format!(
        "#{n} DONE {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    // The base's triggers run here, and are not inherited further.
    let triggers = config.config.on_build.take().unwrap_or_default();
    let key = cache::chain("", &["FROM", base_id.as_deref().unwrap_or("scratch")]);
    let mut run = StageRun {
        host,
        shared,
        index,
        label,
        total: total + triggers.len(),
        position: 1,
        state: State {
            key,
            // Until something changes, the state is the base image itself.
            image: base_id.clone().filter(|_| triggers.is_empty()),
            config,
            layers,
            args: Vec::new(),
            cmd_set: false,
        },
    };
    if !triggers.is_empty() {
        run.state.key = cache::chain(&run.state.key, &["ONBUILD-CLEARED"]);
    }
    if !triggers.is_empty() {
        shared.classic(&format!(
            "# Executing {} build trigger{}\n",
            triggers.len(),
            if triggers.len() == 1 { "" } else { "s" }
        ));
    }
    for trigger in &triggers {
        let instr =
            berth_build::dockerfile::parse_trigger(trigger, &format!("{file} (ONBUILD of {base})"))
                .map_err(|e| BuildError::Dockerfile(e.to_string()))?;
        run.instruction(&instr)?;
    }
    if shared.request.style == ProgressStyle::Classic {
        let image = run.materialize_reporting_cache()?;
        shared.classic_image(image.as_deref());
    }
    for instr in &stage.instructions {
        if shared.failed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(BuildError::Internal(ABORTED.into()));
        }
        shared.classic_step(&instr.text);
        run.instruction(instr)?;
        if shared.request.style == ProgressStyle::Classic {
            let image = run.materialize_reporting_cache()?;
            shared.classic_image(image.as_deref());
        }
    }
    if index == shared.target && !shared.request.labels.is_empty() {
        let labels = run
            .state
            .config
            .config
            .labels
            .get_or_insert_with(BTreeMap::new);
        labels.extend(shared.request.labels.clone());
        let encoded = serde_json::to_string(&shared.request.labels).unwrap_or_default();
        run.state.key = cache::chain(&run.state.key, &["--label", &encoded]);
        run.state.image = None;
        // dockerd's classic builder shows the build's labels as a LABEL step of their own.
        if shared.request.style == ProgressStyle::Classic {
            let pairs: Vec<String> = shared
                .request
                .labels
                .iter()
                .map(|(k, v)| format!("{k:?}={v:?}"))
                .collect();
            shared.classic_step(&format!("LABEL {}", pairs.join(" ")));
            let image = run.materialize_reporting_cache()?;
            shared.classic_image(image.as_deref());
        }
    }
    run.materialize()
}

/// What a `--from=` names: an image (a stage's, a named context's, or by name), or a
/// directory given as `--build-context NAME=DIR`.
pub(crate) enum FromSource {
    Image(String),
    Dir(std::path::PathBuf),
}

impl FromSource {
    /// Its part of a step's cache key: the image's id, or the digest of the directory's files.
    fn key(&self) -> std::result::Result<String, String> {
        match self {
            FromSource::Image(id) => Ok(id.clone()),
            FromSource::Dir(dir) => {
                let ignore = berth_build::ignore::Ignore::parse("");
                let scanned = berth_build::context::Context::scan(dir, &ignore)
                    .map_err(|e| format!("reading the build context {}: {e}", dir.display()))?;
                Ok(format!("dir:{}", scanned.digest_of("").unwrap_or_default()))
            }
        }
    }

    /// A throwaway view of its files (writes land in the view's upper dir).
    fn view<'h, H: BuildHost>(
        &self,
        host: &'h H,
        scratch: &std::path::Path,
    ) -> Result<crate::fs_step::Scratch<'h, H>, H> {
        match self {
            FromSource::Image(id) => crate::fs_step::Scratch::mount(host, scratch, Some(id)),
            FromSource::Dir(dir) => {
                crate::fs_step::Scratch::over(host, scratch, Some(vec![dir.clone()]))
            }
        }
    }
}

impl<H: BuildHost> StageRun<'_, '_, '_, H> {
    /// What a `--from=` names: a `--build-context` of that name first (as BuildKit), else
    /// [`Self::image_of`].
    fn source_of(&self, instr: &Instruction, what: &str, from: &str) -> Result<FromSource, H> {
        let name = self.expand(instr, from)?;
        match self.shared.request.build_contexts.get(&name) {
            Some(crate::NamedContext::Dir(dir)) => Ok(FromSource::Dir(dir.clone())),
            Some(crate::NamedContext::Image(image)) => {
                image_for(self.host, self.shared, image, None)
                    .map(FromSource::Image)
                    .map_err(|e| self.at(instr, format!("{what}: {e}")))
            }
            None => self.image_of(instr, what, from).map(FromSource::Image),
        }
    }

    /// The image a `--from=` (COPY) or `from=` (RUN --mount) names: an earlier stage's, or an
    /// image, local or pulled. `what` names the option in errors.
    fn image_of(&self, instr: &Instruction, what: &str, from: &str) -> Result<String, H> {
        let from = self.expand(instr, from)?;
        let stage = match from.parse::<usize>() {
            Ok(i) if i < self.shared.stage_count => Some(i),
            _ => self.shared.stage_index(&from),
        };
        match stage {
            Some(i) if i < self.index => self
                .shared
                .wait_for_stage(i)
                .ok_or_else(|| BuildError::Internal(ABORTED.into())),
            Some(_) => Err(self.at(
                instr,
                format!("{what}: a stage can only use an earlier stage ({from})"),
            )),
            None => image_for(self.host, self.shared, &from, None)
                .map_err(|e| self.at(instr, format!("{what}: {e}"))),
        }
    }
}

/// A stage's `FROM --platform=` (the automatic ARGs are among the globals), if it has one.
fn explicit_platform<E>(
    shared: &Shared<'_>,
    index: usize,
) -> std::result::Result<Option<Platform>, BuildError<E>> {
    let stage = &shared.dockerfile.stages[index];
    let file = &shared.request.dockerfile_name;
    let Some(raw) = &stage.platform else {
        return Ok(None);
    };
    let text = expand_word(raw, shared.globals.as_slice(), shared.dockerfile.escape)
        .map_err(|e| BuildError::Dockerfile(format!("{file}:{}: {e}", stage.line)))?;
    Platform::parse(&text).map(Some).map_err(|e| {
        BuildError::Dockerfile(format!(
            "{file}:{}: FROM --platform={text}: {e}",
            stage.line
        ))
    })
}

/// Before a stage's first step: its RUNs for another architecture need an emulator; without
/// one the build stops at the first RUN's line, before the stage stored anything.
fn check_emulator<E>(
    shared: &Shared<'_>,
    index: usize,
    platform: &Platform,
) -> std::result::Result<(), BuildError<E>> {
    if platform.same_machine(&shared.build_platform) {
        return Ok(());
    }
    let first_run = shared.dockerfile.stages[index]
        .instructions
        .iter()
        .find(|i| matches!(i.kind, Kind::Run { .. }));
    match first_run {
        Some(run) => crate::emulator::check(platform).map_err(|e| {
            BuildError::Dockerfile(format!(
                "{}:{}: {e}",
                shared.request.dockerfile_name, run.line
            ))
        }),
        None => Ok(()),
    }
}

/// Whether BuildKit's progress shows the instruction as a step.
fn shown(kind: &Kind) -> bool {
    matches!(kind, Kind::Run { .. } | Kind::Copy(_) | Kind::Workdir(_))
}

/// A local image by name, or pulled (for `platform` when given) when missing.
fn image_for<H: BuildHost>(
    host: &H,
    shared: &Shared<'_>,
    name: &str,
    platform: Option<&str>,
) -> std::result::Result<String, H::Error> {
    host.base_image(name, platform, shared.request.pull, &|line| {
        shared.plain(&format!("#0 {line}"));
        shared.classic(&format!("{line}\n"));
    })
}

impl<H: BuildHost> StageRun<'_, '_, '_, H> {
    fn file(&self) -> &str {
        &self.shared.request.dockerfile_name
    }

    fn at(&self, instr: &Instruction, message: impl std::fmt::Display) -> BuildError<H::Error> {
        BuildError::Dockerfile(format!("{}:{}: {message}", self.file(), instr.line))
    }

    /// Variables visible to expansion: the stage's ARGs, then ENV (which wins).
    fn scope(&self) -> BTreeMap<String, String> {
        let mut scope: BTreeMap<String, String> = self.state.args.iter().cloned().collect();
        for kv in self.state.config.config.env.iter().flatten() {
            if let Some((k, v)) = kv.split_once('=') {
                scope.insert(k.to_string(), v.to_string());
            }
        }
        scope
    }

    fn expand(&self, instr: &Instruction, word: &str) -> Result<String, H> {
        expand_word(word, &self.scope(), self.shared.dockerfile.escape)
            .map_err(|e| self.at(instr, e))
    }

    /// The classic builder's ` ---> <id>` after each step: the current state's image, committed
    /// when it is not yet (saying ` ---> Using cache` when the cache has it). None for a stage
    /// on `scratch` that has done nothing yet, as dockerd shows it.
    fn materialize_reporting_cache(&mut self) -> Result<Option<String>, H> {
        if self.state.image.is_none() {
            if self.state.layers.is_empty() && self.state.config.history.is_empty() {
                return Ok(None);
            }
            if let Some(id) = self.cached(&self.state.key.clone())? {
                self.shared.classic(" ---> Using cache\n");
                self.state.image = Some(id);
            }
        }
        self.materialize().map(Some)
    }

    /// The image of the current state: from the cache, or committed now.
    fn materialize(&mut self) -> Result<String, H> {
        if let Some(id) = &self.state.image {
            return Ok(id.clone());
        }
        if let Some(id) = self.cached(&self.state.key.clone())? {
            self.state.image = Some(id.clone());
            return Ok(id);
        }
        let mut config = self.state.config.clone();
        config.created = Some(now());
        let id = self
            .host
            .images()
            .commit_image(&config, self.state.layers.clone())?;
        self.host.cache_put(&self.state.key, &id, &now())?;
        self.state.image = Some(id.clone());
        Ok(id)
    }

    /// The cached image for `key`, if any and still stored (never with --no-cache).
    fn cached(&self, key: &str) -> Result<Option<String>, H> {
        if self.shared.request.no_cache || self.no_cache_stage() {
            return Ok(None);
        }
        match self.host.cache_get(key)? {
            Some(id) if self.host.images().image(&id).is_ok() => Ok(Some(id)),
            Some(_) => {
                self.host.cache_forget(key)?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Whether `--no-cache-filter` names this stage (by name or index).
    fn no_cache_stage(&self) -> bool {
        let stage = &self.shared.dockerfile.stages[self.index];
        self.shared.request.no_cache_filter.iter().any(|f| {
            stage.name.as_deref() == Some(f.to_lowercase().as_str())
                || f.parse::<usize>() == Ok(self.index)
        })
    }

    /// Moves to the cached image of `key`.
    fn use_cached(&mut self, key: String, id: String) -> Result<(), H> {
        let image = self.host.images().image(&id)?;
        self.state.layers = self.host.images().layer_descriptors(&id)?;
        self.state.config = image.config;
        self.state.key = key;
        self.state.image = Some(id);
        Ok(())
    }

    /// Records a finished filesystem step: its layer (None: nothing changed), history, image.
    fn commit_step(
        &mut self,
        key: String,
        layer: Option<(Descriptor, String)>,
        created_by: String,
    ) -> Result<(), H> {
        let created = now();
        self.state.config.history.push(History {
            created: Some(created.clone()),
            created_by: Some(created_by),
            comment: Some("buildkit.dockerfile.v0".into()),
            empty_layer: layer.is_none(),
            ..Default::default()
        });
        if let Some((layer, diff_id)) = layer {
            self.state.config.rootfs.diff_ids.push(diff_id);
            self.state.layers.push(layer);
        }
        self.state.config.created = Some(created.clone());
        let id = self
            .host
            .images()
            .commit_image(&self.state.config, self.state.layers.clone())?;
        self.host.cache_put(&key, &id, &created)?;
        self.state.key = key;
        self.state.image = Some(id);
        Ok(())
    }

    fn metadata_history(&mut self, text: &str) {
        self.state.config.history.push(History {
            created: Some(now()),
            created_by: Some(format!("/bin/sh -c #(nop) {text}")),
            empty_layer: true,
            ..Default::default()
        });
    }

    /// Key step for a metadata change: the resulting config decides.
    fn metadata_changed(&mut self, what: &str) {
        let config = serde_json::to_string(&self.state.config.config).unwrap_or_default();
        self.state.key = cache::chain(&self.state.key, &[what, &config]);
        self.state.image = None;
    }

    fn instruction(&mut self, instr: &Instruction) -> Result<(), H> {
        let first_line = instr.text.lines().next().unwrap_or("").to_string();
        match &instr.kind {
            Kind::Arg(decls) => {
                for (name, default) in decls {
                    let value = berth_build::args::stage_value(
                        name,
                        default.as_deref(),
                        &self.shared.request.build_args,
                        &self.shared.globals,
                        &self.scope(),
                        self.shared.dockerfile.escape,
                    )
                    .map_err(|e| self.at(instr, e))?;
                    self.state.args.retain(|(k, _)| k != name);
                    if let Some(v) = &value {
                        self.state.args.push((name.clone(), v.clone()));
                    }
                    self.state.key = cache::chain(
                        &self.state.key,
                        &["ARG", name, value.as_deref().unwrap_or("\0unset")],
                    );
                }
                Ok(())
            }
            Kind::Shell(args) => {
                if args.is_empty() {
                    return Err(self.at(instr, "SHELL requires the first argument to be a JSON array with at least one element"));
                }
                self.state.config.config.shell = Some(args.clone());
                self.metadata_history(&first_line);
                self.metadata_changed("SHELL");
                Ok(())
            }
            Kind::Maintainer(name) => {
                self.state.config.author = Some(self.expand(instr, name)?);
                self.metadata_history(&first_line);
                self.metadata_changed("MAINTAINER");
                Ok(())
            }
            Kind::Run {
                command,
                heredoc,
                network,
                mounts,
                security,
            } => self.run_step(
                instr,
                command,
                heredoc.as_ref(),
                network.as_deref(),
                mounts,
                security.as_deref(),
            ),
            Kind::Copy(copy) => self.copy_step(instr, copy),
            Kind::Workdir(_) => {
                self.apply_change(instr)?;
                self.workdir_step(instr)
            }
            _ => {
                self.apply_change(instr)?;
                self.metadata_history(&first_line);
                self.metadata_changed(&first_line);
                Ok(())
            }
        }
    }

    /// CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, HEALTHCHECK,
    /// ONBUILD: the same code as `import --change`, with this stage's ARGs in scope.
    fn apply_change(&mut self, instr: &Instruction) -> Result<(), H> {
        let args: BTreeMap<String, String> = self.state.args.iter().cloned().collect();
        berth_image::apply_change_with(
            &mut self.state.config.config,
            &instr.text,
            &args,
            &mut self.state.cmd_set,
        )
        .map_err(|e| {
            let message = e.to_string();
            let message = message
                .strip_prefix("change: ")
                .unwrap_or(&message)
                .to_string();
            self.at(instr, message)
        })
    }

    fn step_title(&mut self, instr: &Instruction) -> usize {
        self.position += 1;
        let n = self.shared.next_step();
        let first_line = instr.text.lines().next().unwrap_or("");
        self.shared.plain(&format!(
            "#{n} [{}{}/{}] {first_line}",
            self.label, self.position, self.total
        ));
        n
    }

    fn run_step(
        &mut self,
        instr: &Instruction,
        command: &Command,
        heredoc: Option<&berth_build::dockerfile::Heredoc>,
        network: Option<&str>,
        raw_mounts: &[String],
        security: Option<&str>,
    ) -> Result<(), H> {
        let privileged = security == Some("insecure");
        if privileged && !self.shared.request.allow_insecure {
            return Err(self.at(
                instr,
                "RUN --security=insecure is not allowed: build with --allow security.insecure",
            ));
        }
        let mounts = self.run_mounts(instr, raw_mounts)?;
        let mode = match network {
            None | Some("default") => self.shared.request.step_options.network_mode.clone(),
            Some(mode @ ("none" | "host")) => mode.to_string(),
            Some(other) => {
                return Err(self.at(
                    instr,
                    format!("RUN --network={other}: expected default, none or host"),
                ));
            }
        };
        let n = self.step_title(instr);
        let started = std::time::Instant::now();
        let shell = self
            .state
            .config
            .config
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        let argv: Vec<String> = match (command, heredoc) {
            (Command::Exec(args), _) => args.clone(),
            (Command::Shell(text), Some(doc)) => {
                // `RUN <<EOF` runs the document as a script; `RUN <<EOF cmd` feeds it to cmd
                // (the parser leaves only `cmd` in the text). A quoted delimiter stops the shell
                // from expanding variables in the document, as in Docker.
                let rest = text.trim();
                let script = if rest.is_empty() {
                    doc.body.clone()
                } else if doc.expand {
                    format!("{rest} <<{0}\n{1}{0}\n", doc.name, doc.body)
                } else {
                    format!("{rest} <<'{0}'\n{1}{0}\n", doc.name, doc.body)
                };
                [shell, vec![script]].concat()
            }
            (Command::Shell(text), None) => [shell, vec![text.clone()]].concat(),
        };
        let declared: Vec<String> = self
            .state
            .args
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let predefined = berth_build::args::predefined(&self.shared.request.build_args);
        // A mount's text and what a bind shows are part of the key; a cache's content and a
        // secret's bytes never are.
        let mounts_key = self.mounts_key(instr, &mounts)?;
        let key = cache::chain(
            &self.state.key,
            &[
                "RUN",
                &serde_json::to_string(&argv).unwrap_or_default(),
                &declared.join("\0"),
                network.unwrap_or(""),
                &mounts_key.join("\0"),
                security.unwrap_or(""),
            ],
        );
        if let Some(id) = self.cached(&key)? {
            self.use_cached(key, id)?;
            self.shared.cached_step(n);
            return Ok(());
        }
        let parent = self.materialize()?;
        let prepared = self.prepare_mounts(instr, &mounts)?;
        // Build args are in the command's environment, under the ENV of the same name; the
        // mounts' SSH_AUTH_SOCK over both (a secret's `env=` is added by the host at start).
        let mut env: Vec<String> = self.state.config.config.env.clone().unwrap_or_default();
        for kv in &prepared.env {
            let name = kv.split('=').next().unwrap_or_default();
            env.retain(|e| e.split('=').next() != Some(name));
            env.push(kv.clone());
        }
        for (k, v) in self.state.args.iter().chain(predefined.iter()) {
            if !env.iter().any(|e| e.split('=').next() == Some(k.as_str())) {
                env.push(format!("{k}={v}"));
            }
        }
        let c = &self.state.config.config;
        let spec = crate::RunStep {
            parent: &parent,
            argv: &argv,
            env,
            user: c.user.clone().unwrap_or_default(),
            workdir: c.working_dir.clone().unwrap_or_default(),
            network: mode,
            options: &self.shared.request.step_options,
            intermediate: self.shared.request.intermediate,
            mounts: prepared.mounts.clone(),
            privileged,
            secret_env: prepared.secret_env.clone(),
        };
        let result = crate::run::run(self.host, self.shared, &spec, n);
        drop(prepared);
        let layer = match result {
            Ok(layer) => layer,
            Err(BuildError::StepFailed { message, code }) => {
                self.shared.plain(&format!(
                    "#{n} ERROR: process \"{}\" did not complete successfully: exit code: {code}",
                    argv.join(" ")
                ));
                // The classic builder's error is the bare message (the CLI prints it as is).
                let message = match self.shared.request.style {
                    ProgressStyle::Plain => format!("{}:{}: {message}", self.file(), instr.line),
                    ProgressStyle::Classic => message,
                };
                return Err(BuildError::StepFailed { message, code });
            }
            Err(e) => return Err(e),
        };
        let prefix = if declared.is_empty() {
            String::new()
        } else {
            format!("|{} {} ", declared.len(), declared.join(" "))
        };
        self.commit_step(key, Some(layer), format!("RUN {prefix}{}", argv.join(" ")))?;
        self.shared.plain(&format!(
            "#{n} DONE {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    fn workdir_step(&mut self, instr: &Instruction) -> Result<(), H> {
        let n = self.step_title(instr);
        let started = std::time::Instant::now();
        let dir = self
            .state
            .config
            .config
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".into());
        let key = cache::chain(
            &self.state.key,
            &[
                "WORKDIR",
                &serde_json::to_string(&self.state.config.config).unwrap_or_default(),
            ],
        );
        if let Some(id) = self.cached(&key)? {
            self.use_cached(key, id)?;
            self.shared.cached_step(n);
            return Ok(());
        }
        let parent = self.materialize()?;
        let scratch = Scratch::mount(self.host, &self.shared.scratch, Some(&parent))?;
        crate::copy::make_dirs(&scratch.merged, &dir).map_err(|e| self.at(instr, e))?;
        scratch.unmount();
        let changed = std::fs::read_dir(&scratch.upper)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        let layer = if changed {
            Some(self.host.images().add_layer_from_upper(&scratch.upper)?)
        } else {
            None
        };
        drop(scratch);
        self.commit_step(key, layer, format!("WORKDIR {dir}"))?;
        self.shared.plain(&format!(
            "#{n} DONE {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    }
}
