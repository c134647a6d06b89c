//! `berth build`: the engine's side of the Dockerfile executor (the `berth-builder` crate). The
//! CLI and the API server's `POST /build` both call [`Engine::build`].
//!
//! Owns: the build's place in the engine's state (its scratch directory under the state root,
//! which marks it running so no gc runs meanwhile), the [`berth_builder::BuildHost`] the
//! executor runs over (`host.rs`: RUN steps through the engine's normal container path,
//! overlay mounts, the `build_cache` table, pulls, naming the result), and the cleanup of what
//! a killed build left behind ([`reap`]): that is engine repair, since what it removes are
//! engine containers and mounts.

mod host;
mod reap;

pub(crate) use reap::build_running;
pub(crate) use reap::reap_if_abandoned;

use std::path::PathBuf;

pub use berth_builder::{
    BuildRequest, BuildResult, Intermediate, NamedContext, Output, Progress, ProgressStyle, Secret,
    StepOptions, short_id, ssh_sockets,
};

use crate::{Engine, Error, reference};

/// Why a build failed. Dockerfile mistakes and failing steps exit 1 (as `docker build` does);
/// engine failures exit 125.
pub type BuildError = berth_builder::BuildError<Error>;

impl berth_builder::HostError for Error {
    fn exit_code(&self) -> i32 {
        Error::exit_code(self)
    }
}

/// What a build's error means to a client: the engine's error inside keeps its own kind (a
/// missing base image stays a 404); a bad Dockerfile is the user's (400); a failing step and
/// the builder's own failures are not a status of their own, so they stay 500.
pub fn build_error_kind(e: &BuildError) -> crate::error::ErrorKind {
    match e {
        BuildError::Host(e) => e.kind(),
        BuildError::Dockerfile(_) => crate::error::ErrorKind::Invalid,
        BuildError::StepFailed { .. } | BuildError::Internal(_) => {
            crate::error::ErrorKind::Internal
        }
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
        let scratch = RemoveScratch(reap::scratch_dir(self));
        // Marks this build as running (see reap_if_abandoned).
        std::fs::create_dir_all(&scratch.0)
            .map_err(|e| Error::io(format!("creating {}", scratch.0.display()), e))?;
        let tags = request
            .tags
            .iter()
            .map(|t| reference::normalize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let dirs = berth_builder::Dirs {
            scratch: scratch.0.clone(),
            state: self.build_state_dir(),
        };
        berth_builder::build(self, request, tags, &dirs, progress)
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
            let path = berth_builder::resolve_in_root(&dir, &name);
            request.dockerfile = std::fs::read_to_string(&path).map_err(|e| {
                BuildError::Dockerfile(format!("failed to read dockerfile: open {name}: {e}"))
            })?;
            request.dockerfile_name = name;
        }
        self.build(&request, progress)
    }

    /// `berth builder prune`: drops the build cache, the intermediate images only it kept and
    /// the cache mounts (`RUN --mount=type=cache`) no build is using. Returns how many cache
    /// entries and cache mounts were dropped.
    pub fn prune_build_cache(&self) -> Result<usize, Error> {
        reap::reap_abandoned(self);
        let n = self.db.build_cache_clear()?;
        let mounts = berth_builder::cache_mounts::prune(&self.build_state_dir());
        self.gc_images()?;
        Ok(n + mounts)
    }

    /// The builder's state between builds (context digests, cache mounts).
    pub(crate) fn build_state_dir(&self) -> PathBuf {
        self.root.join("build-cache")
    }

    /// How many cache mounts there are and their bytes (`system df`'s Build Cache).
    pub(crate) fn cache_mounts_usage(&self) -> (u64, u64) {
        berth_builder::cache_mounts::usage(&self.build_state_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_build_error_keeps_the_engine_errors_kind() {
        let missing = BuildError::from(Error::NotFound("No such image: nope".into()));
        assert_eq!(build_error_kind(&missing), ErrorKind::NotFound);
        assert_eq!(missing.to_string(), "No such image: nope");
        let dockerfile = BuildError::Dockerfile("unknown instruction: FOO".into());
        assert_eq!(build_error_kind(&dockerfile), ErrorKind::Invalid);
        let own = BuildError::Internal("scratch".into());
        assert_eq!(build_error_kind(&own), ErrorKind::Internal);
    }
}
