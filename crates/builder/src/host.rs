//! [`BuildHost`]: what the executor needs from the engine, and nothing more. The engine
//! implements it; tests implement it with a fake over a temporary image store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use berth_image::Descriptor;

/// The host's error: kept as it is inside [`crate::BuildError::Host`], with the exit code the
/// host's front ends give it.
pub trait HostError: std::error::Error + Send + 'static {
    /// The exit code a CLI returns for it (125 for an engine failure, as `docker build`).
    fn exit_code(&self) -> i32;
}

/// What a RUN step runs, and as whom (the ENV, the build args and the config's user/workdir
/// already applied).
#[derive(Debug, Clone)]
pub struct RunStep<'a> {
    /// The image the step runs on (committed, not named).
    pub parent: &'a str,
    pub argv: &'a [String],
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    /// The network mode of the step's container: the build's (`StepOptions::network_mode`)
    /// unless `RUN --network=host|none` chose one.
    pub network: String,
    /// The build's limits and extra hosts for every step.
    pub options: &'a crate::StepOptions,
    /// Whether the container goes when the step ends, by how it ended.
    pub intermediate: crate::Intermediate,
    /// `RUN --mount`s, as host paths ready to mount (cache dirs, secrets, sockets, trees).
    pub mounts: Vec<StepMount>,
    /// `RUN --security=insecure` (allowed by the build): a privileged container.
    pub privileged: bool,
    /// `RUN --mount=type=secret,env=NAME`: NAME and the host file holding the secret. The
    /// host reads it into the process's environment at start, never into a stored config.
    pub secret_env: Vec<(String, PathBuf)>,
}

/// One mount of a RUN step's container. What the runtime creates in the rootfs for its target
/// is not part of the step's layer ([`crate::remove_mount_stubs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepMount {
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        /// Bytes; None: the kernel's default.
        size: Option<u64>,
    },
}

impl StepMount {
    pub fn target(&self) -> &str {
        match self {
            StepMount::Bind { target, .. } | StepMount::Tmpfs { target, .. } => target,
        }
    }
}

/// Where a RUN step's events go (called from the host's threads).
pub trait StepOutput: Sync {
    /// The step's container exists (the classic text says `Running in <id>`).
    fn started(&self, container_id: &str);
    /// One line of the step's output, without its line end.
    fn line(&self, text: &str, stderr: bool);
    /// The step's container was removed (`Removing intermediate container <id>`).
    fn removed(&self, container_id: &str);
}

/// How a RUN step ended.
#[derive(Debug, Clone)]
pub enum StepExit {
    /// Exit 0: the layer of what the step changed, and its diff id.
    Done(Descriptor, String),
    /// A non-zero exit; `message` is the runtime's reason when the command could not even be
    /// started (not found: 127, not executable: 126).
    Failed { code: i32, message: Option<String> },
}

/// The engine, as the Dockerfile executor sees it.
///
/// Not `Sync`: the engine's database handle belongs to one thread. A build's parallel stages
/// each get their own handle from [`BuildHost::another`].
pub trait BuildHost: Send + Sized {
    type Error: HostError;

    /// A second handle on the same state, for a stage built on another thread.
    fn another(&self) -> Result<Self, Self::Error>;

    /// The content store: image configs, layer descriptors and dirs, new layers from an upper
    /// dir, committed images. Images committed here are unnamed until [`BuildHost::register`].
    fn images(&self) -> &berth_image::Store;

    /// `FROM name` / `COPY --from=name`: the local image's id, else pulled (for `platform` when
    /// given); pulled even when present with `pull` (`--pull`). Pull progress lines (without
    /// line ends) go to `say`.
    fn base_image(
        &self,
        name: &str,
        platform: Option<&str>,
        pull: bool,
        say: &dyn Fn(&str),
    ) -> Result<String, Self::Error>;

    /// The build cache: the image recorded for a state key.
    fn cache_get(&self, key: &str) -> Result<Option<String>, Self::Error>;
    /// Records the image of a state key (`created`: RFC 3339).
    fn cache_put(&self, key: &str, image_id: &str, created: &str) -> Result<(), Self::Error>;
    /// Drops a key whose image is gone.
    fn cache_forget(&self, key: &str) -> Result<(), Self::Error>;

    /// Mounts an overlay of `lowers` (lowest first) with `upper`/`work` at `merged`, for a
    /// COPY, ADD or WORKDIR step that changes files without running anything.
    fn mount_overlay(
        &self,
        lowers: &[PathBuf],
        upper: &Path,
        work: &Path,
        merged: &Path,
    ) -> Result<(), Self::Error>;
    /// Unmounts `target` if it is mounted (lazily); best effort.
    fn unmount(&self, target: &Path);

    /// Runs a RUN step in a container on `step.parent`, the same way `berth run` does, with
    /// its events sent to `output`; kills it when `stop` becomes true (another stage failed).
    /// When this returns the container is gone, or kept (stopped, listed by `ps -a`) when
    /// `step.intermediate` keeps it after a step that ended as this one did.
    fn run_step(
        &self,
        step: &RunStep<'_>,
        output: &dyn StepOutput,
        stop: &AtomicBool,
    ) -> Result<StepExit, Self::Error>;

    /// `COPY --chown=user[:group]`: the uid and gid of `spec` in the rootfs mounted at `rootfs`
    /// (its /etc/passwd and /etc/group), by the engine's rules for `--user`.
    fn resolve_user(&self, rootfs: &Path, spec: &str) -> Result<(u32, u32), Self::Error>;

    /// `ADD <url>`: writes the body to `out`; returns the Last-Modified time (unix seconds).
    fn download(&self, url: &str, out: &mut dyn Write) -> Result<Option<i64>, Self::Error>;

    /// Names the finished image: its image record, then each tag (normalized names).
    fn register(&self, image_id: &str, tags: &[String]) -> Result<(), Self::Error>;
}
