//! `docker commit` (`POST /commit`): a container's changes become a new image. The new layer is
//! the container's overlay upper dir without what the engine put there (see
//! [`Engine::not_the_containers_changes`]); the config is the parent image's with the
//! container's settings, then the caller's overrides and `--change` instructions.

use std::collections::BTreeMap;

use crate::store::ContainerRecord;
use crate::types::{ContainerConfig, State};
use crate::{Engine, Error, reference};

/// What `commit` was asked for, besides the container.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// `REPO[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    /// `-m`: the image's and its history entry's comment.
    pub comment: Option<String>,
    /// `-a`
    pub author: Option<String>,
    /// `-c`: Dockerfile instructions applied to the config last.
    pub changes: Vec<String>,
    /// Freeze a running container while its changes are read (Docker's default).
    pub pause: bool,
    /// The API's request body: config fields that override the container's.
    pub config: Option<ContainerConfig>,
}

impl Default for CommitOptions {
    fn default() -> Self {
        CommitOptions {
            reference: None,
            comment: None,
            author: None,
            changes: Vec::new(),
            pause: true,
            config: None,
        }
    }
}

/// Keeps a container frozen while it lives; thaws it when dropped, on error paths too.
struct Frozen<'a> {
    engine: &'a Engine,
    rec: &'a ContainerRecord,
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = self.engine.sandbox_for(self.rec).resume();
    }
}

impl Engine {
    /// `berth commit CONTAINER [REPO[:TAG]]`: returns the new image's id.
    pub(crate) fn commit_container_unlogged(
        &self,
        name_or_id: &str,
        options: &CommitOptions,
    ) -> Result<String, Error> {
        let rec = self.container(name_or_id)?;
        let tag = match options.reference.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => {
                let tag = reference::normalize(r)?;
                if tag.contains('@') {
                    return Err(Error::InvalidArgument(format!(
                        "invalid reference format: {r}: a commit is tagged, not named by digest"
                    )));
                }
                Some(tag)
            }
            None => None,
        };
        let parent = self.images.image(&rec.image_id)?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut config = parent.config.clone();
        config.config = committed_config(config.config, &rec.config.config);
        if let Some(overrides) = &options.config {
            override_config(&mut config.config, overrides);
        }
        apply_changes(&mut config.config, &options.changes)?;
        config.created = Some(created.clone());
        config.author = options.author.clone().filter(|a| !a.is_empty());
        match options.comment.as_deref().filter(|c| !c.is_empty()) {
            Some(comment) => config.extra.insert("comment".into(), comment.into()),
            None => config.extra.remove("comment"),
        };
        config
            .extra
            .insert("container".into(), rec.id.clone().into());
        // As dockerd's commit: the container's own Config beside the image's.
        if let Ok(container_config) = serde_json::to_value(&rec.config.config) {
            config
                .extra
                .insert("container_config".into(), container_config);
        }
        config.history.push(berth_image::History {
            created: Some(created.clone()),
            created_by: Some(rec.config.config.cmd.clone().unwrap_or_default().join(" ")),
            author: config.author.clone(),
            comment: options.comment.clone().filter(|c| !c.is_empty()),
            ..Default::default()
        });

        let frozen = self.freeze_for_commit(&rec, options.pause)?;
        // A container that never started has no upper dir yet: nothing changed.
        let upper = self.container_dir(&rec.id).join("upper");
        std::fs::create_dir_all(&upper)
            .map_err(|e| Error::io(format!("creating {}", upper.display()), e))?;
        let left_out = self.not_the_containers_changes(&rec.id)?;
        let id = self
            .images
            .commit_upper(&rec.image_id, &upper, &left_out, config)?;
        drop(frozen);
        self.db.add_image(&id, &created, tag.as_slice())?;
        Ok(id)
    }

    /// Freezes a running container (unless asked not to, or the user paused it already).
    fn freeze_for_commit<'a>(
        &'a self,
        rec: &'a ContainerRecord,
        pause: bool,
    ) -> Result<Option<Frozen<'a>>, Error> {
        if !pause || rec.state != State::Running {
            return Ok(None);
        }
        // As dockerd's commit, a pause that cannot happen (the container is exiting, it has no
        // freezer) is no reason to fail: the changes are read unfrozen.
        match self.sandbox_for(rec).pause() {
            Ok(()) => Ok(Some(Frozen { engine: self, rec })),
            Err(_) => Ok(None),
        }
    }
}

/// The parent image's config with the container's settings, as Docker's commit keeps them.
fn committed_config(
    mut image: berth_image::ContainerConfig,
    container: &ContainerConfig,
) -> berth_image::ContainerConfig {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    image.cmd = container.cmd.clone();
    image.entrypoint = container.entrypoint.clone();
    image.env = container.env.clone();
    image.exposed_ports = container.exposed_ports.clone();
    image.working_dir = non_empty(&container.working_dir);
    image.user = non_empty(&container.user);
    image.labels = container.labels.clone().filter(|l| !l.is_empty());
    image.volumes = container.volumes.clone().filter(|v| !v.is_empty());
    image.stop_signal = container.stop_signal.clone();
    image.healthcheck = container
        .healthcheck
        .as_ref()
        .and_then(|h| serde_json::to_value(h).ok());
    image
}

/// Docker's merge of the request's config over the container's: what the request sets wins;
/// Env, Labels, ExposedPorts and Volumes merge key by key.
fn override_config(config: &mut berth_image::ContainerConfig, overrides: &ContainerConfig) {
    if let Some(env) = &overrides.env {
        let mut merged = config.env.take().unwrap_or_default();
        for kv in env {
            let key = kv.split('=').next().unwrap_or("");
            merged.retain(|e| e.split('=').next() != Some(key));
            merged.push(kv.clone());
        }
        config.env = Some(merged);
    }
    if overrides.cmd.as_ref().is_some_and(|c| !c.is_empty()) {
        config.cmd = overrides.cmd.clone();
    }
    if overrides.entrypoint.as_ref().is_some_and(|e| !e.is_empty()) {
        config.entrypoint = overrides.entrypoint.clone();
    }
    if !overrides.working_dir.is_empty() {
        config.working_dir = Some(overrides.working_dir.clone());
    }
    if !overrides.user.is_empty() {
        config.user = Some(overrides.user.clone());
    }
    if overrides.stop_signal.is_some() {
        config.stop_signal = overrides.stop_signal.clone();
    }
    if let Some(health) = &overrides.healthcheck {
        config.healthcheck = serde_json::to_value(health).ok();
    }
    if let Some(labels) = &overrides.labels {
        config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend(labels.clone());
    }
    if let Some(ports) = &overrides.exposed_ports {
        config
            .exposed_ports
            .get_or_insert_with(BTreeMap::new)
            .extend(ports.clone());
    }
    if let Some(volumes) = &overrides.volumes {
        config
            .volumes
            .get_or_insert_with(BTreeMap::new)
            .extend(volumes.clone());
    }
}

/// Applies `--change` instructions; a bad one is an error naming it, before anything is written.
fn apply_changes(
    config: &mut berth_image::ContainerConfig,
    changes: &[String],
) -> Result<(), Error> {
    for change in changes {
        berth_image::apply_change(&mut config.clone(), change)
            .map_err(|e| Error::InvalidArgument(format!("invalid --change {change:?}: {e}")))?;
    }
    // One call for all: Docker's "ENTRYPOINT resets CMD" applies within one change set.
    if !changes.is_empty() {
        berth_image::apply_change(config, &changes.join("\n"))
            .map_err(|e| Error::InvalidArgument(format!("invalid --change: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_settings_replace_the_images_and_overrides_merge() {
        let image = berth_image::ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            env: Some(vec!["PATH=/bin".into()]),
            working_dir: Some("/old".into()),
            ..Default::default()
        };
        let container = ContainerConfig {
            cmd: Some(vec!["sleep".into(), "9".into()]),
            env: Some(vec!["PATH=/bin".into(), "B=2".into()]),
            ..Default::default()
        };
        let mut c = committed_config(image, &container);
        assert_eq!(
            c.cmd.as_deref(),
            Some(&["sleep".to_string(), "9".into()][..])
        );
        assert_eq!(c.working_dir, None);
        override_config(
            &mut c,
            &ContainerConfig {
                env: Some(vec!["B=3".into()]),
                working_dir: "/w".into(),
                ..Default::default()
            },
        );
        assert_eq!(
            c.env.as_deref(),
            Some(&["PATH=/bin".to_string(), "B=3".into()][..])
        );
        assert_eq!(c.working_dir.as_deref(), Some("/w"));
        apply_changes(&mut c, &["ENV A=1".into(), "CMD [\"true\"]".into()]).unwrap();
        assert_eq!(c.cmd.as_deref(), Some(&["true".to_string()][..]));
        let err = apply_changes(&mut c, &["ENV A=1".into(), "BOGUS x".into()]).unwrap_err();
        assert!(err.to_string().contains("\"BOGUS x\""), "{err}");
    }
}
