//! Image operations: import, list, tag, remove, inspect. The store holds the content; the
//! database maps names to image ids.

use std::io::Read;

use berth_model::inspect::{
    ImageGraphDriver, ImageInspect, ImageInspectConfig, ImageMetadata, ImageRootFs,
};
use serde::Serialize;

use crate::filters::{FilterError, Filters};
use crate::{Engine, Error, reference};

/// One row of `berth images` / `GET /images/json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub created: i64,
    pub size: u64,
    pub labels: std::collections::BTreeMap<String, String>,
    pub containers: i64,
}

/// What `images --filter` (`GET /images/json?filters=`) accepts, as dockerd.
pub const LIST_FILTER_KEYS: &[&str] = &[
    "before",
    "dangling",
    "label",
    "label!",
    "reference",
    "since",
    "until",
];

/// Whether an image name (`repo:tag`) matches a `reference` filter value.
pub fn reference_matches(name: &str, pattern: &str) -> bool {
    let (repo, tag) = reference::split(name);
    match pattern.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((want_repo, want_tag)) => glob(want_repo, repo) && glob(want_tag, tag),
        None => glob(pattern, repo),
    }
}

/// Shell-style matching as Go's `path.Match` does it for image references: `*` matches any run
/// of characters except `/`, `?` one character except `/`.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => t.first().is_some_and(|c| *c != b'/') && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod filter_tests {
    use super::*;
    use crate::filters::Filters;

    #[test]
    fn reference_filters_match_repositories_tags_and_globs() {
        let names = ["bb:latest", "127.0.0.1:5000/x/bb:v1"];
        let any = |pattern: &str| names.iter().any(|n| reference_matches(n, pattern));
        for yes in [
            "bb",
            "*",
            "bb:latest",
            "b*",
            "127.0.0.1:5000/x/bb",
            "127.0.0.1:5000/x/*:v*",
            "bb:*",
        ] {
            assert!(any(yes), "{yes}");
        }
        for no in ["b", "bb:v1", "127.0.0.1:5000/*", "other"] {
            assert!(!any(no), "{no}");
        }
    }

    fn engine() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_at(&dir.path().join("root"), &dir.path().join("run")).unwrap();
        (dir, engine)
    }

    /// A one-file image (its content differs by `content`), with `changes`, tagged `name`.
    fn import(engine: &Engine, name: Option<&str>, content: &str, changes: &[&str]) -> String {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "file", content.as_bytes())
            .unwrap();
        let bytes = tar.into_inner().unwrap();
        let changes: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        let id = engine
            .import_image(&bytes[..], name, &changes, None)
            .unwrap();
        // before/since/until compare creation times: keep them apart.
        std::thread::sleep(std::time::Duration::from_millis(20));
        id
    }

    fn listed(engine: &Engine, filters: &[&str]) -> Result<Vec<(String, Vec<String>)>, Error> {
        Ok(engine
            .list_images(false, &Filters::parse(filters).unwrap())?
            .into_iter()
            .map(|i| (i.id, i.repo_tags))
            .collect())
    }

    fn ids(engine: &Engine, filters: &[&str]) -> Vec<String> {
        let mut ids: Vec<String> = listed(engine, filters)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids
    }

    fn sorted(mut ids: Vec<String>) -> Vec<String> {
        ids.sort();
        ids
    }

    #[test]
    fn list_filters_dangling_reference_labels_and_times() {
        let (_dir, e) = engine();
        let old = import(&e, Some("app:v1"), "one", &["LABEL tier=web"]);
        // Re-importing over the tag leaves the first image dangling.
        let dangling = import(&e, Some("app:v1"), "two", &[]);
        let tagged = import(&e, Some("app:v1"), "three", &["LABEL tier=db"]);
        e.tag_image("app:v1", "other/name:v2").unwrap();
        let last = import(&e, Some("zz"), "four", &["LABEL tier=web", "LABEL keep=1"]);

        assert_eq!(
            ids(&e, &["dangling=true"]),
            sorted(vec![old.clone(), dangling.clone()])
        );
        assert_eq!(ids(&e, &["dangling=1"]), ids(&e, &["dangling=true"]));
        assert_eq!(
            ids(&e, &["dangling=false"]),
            sorted(vec![tagged.clone(), last.clone()])
        );
        // reference: a glob on repository[:tag]; only the matching names are listed.
        assert_eq!(
            listed(&e, &["reference=other/*"]).unwrap(),
            [(tagged.clone(), vec!["other/name:v2".to_string()])]
        );
        assert_eq!(ids(&e, &["reference=app:v*"]), vec![tagged.clone()]);
        assert_eq!(
            ids(&e, &["reference=zz", "reference=app"]),
            sorted(vec![tagged.clone(), last.clone()])
        );
        assert!(ids(&e, &["reference=nosuch"]).is_empty());
        // label: every one must hold; label!: none may.
        assert_eq!(
            ids(&e, &["label=tier=web"]),
            sorted(vec![old.clone(), last.clone()])
        );
        assert_eq!(
            ids(&e, &["label=tier=web", "label=keep"]),
            vec![last.clone()]
        );
        assert_eq!(
            ids(&e, &["label=tier", "label!=keep"]),
            sorted(vec![old.clone(), tagged.clone()])
        );
        // before/since: strictly older/newer than the named image.
        assert_eq!(
            ids(&e, &["before=zz"]),
            sorted(vec![old.clone(), dangling.clone(), tagged.clone()])
        );
        assert_eq!(ids(&e, &["since=app:v1"]), vec![last.clone()]);
        assert_eq!(
            ids(&e, &["since=app:v1", "before=zz"]),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(&e, &["before=app:v1", "dangling=true"]),
            sorted(vec![old.clone(), dangling.clone()])
        );
        // until: created before a time.
        assert!(ids(&e, &["until=2000-01-01"]).is_empty());
        assert_eq!(ids(&e, &["until=1h"]), Vec::<String>::new());
        let later = format!("until={}", chrono::Utc::now().timestamp() + 60);
        assert_eq!(ids(&e, &[later.as_str()]).len(), 4);
        // Different keys AND'ed, values of one key OR'ed.
        assert_eq!(
            ids(&e, &["dangling=false", "label=tier=web"]),
            vec![last.clone()]
        );
    }

    #[test]
    fn bad_list_filters_are_errors_as_dockerd_words_them() {
        let (_dir, e) = engine();
        import(&e, Some("app"), "one", &[]);
        let err = |f: &[&str]| listed(&e, f).unwrap_err();
        let unknown = err(&["bogus=1"]);
        assert_eq!(unknown.to_string(), "invalid filter 'bogus'");
        assert_eq!(unknown.exit_code(), 1);
        assert_eq!(
            err(&["dangling=maybe"]).to_string(),
            "Invalid filter 'dangling=maybe'"
        );
        assert_eq!(err(&["dangling=true", "dangling=false"]).exit_code(), 1);
        let missing = err(&["before=nosuchimage"]);
        assert_eq!(missing.to_string(), "No such image: nosuchimage");
        assert!(matches!(
            missing,
            Error::Filter(crate::filters::FilterError::NotFound(_))
        ));
        assert_eq!(
            err(&["since=nosuchimage"]).to_string(),
            "No such image: nosuchimage"
        );
        assert!(err(&["until=soon"]).to_string().contains("soon"));
    }
}

/// What `rmi` did, as Docker reports it.
#[derive(Debug, Clone, Serialize)]
pub enum Removed {
    Untagged(String),
    Deleted(String),
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// An image's creation time (unix seconds): its config's, else when it was stored here.
pub(crate) fn created_unix(image: &berth_image::Image, stored_at: Option<&str>) -> i64 {
    created_at(image, stored_at).map_or(0, |t| t.timestamp())
}

/// An image's creation time: its config's, else when it was stored here.
fn created_at(
    image: &berth_image::Image,
    stored_at: Option<&str>,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    image
        .config
        .created
        .as_deref()
        .or(stored_at)
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
}

/// [`created_unix`] in nanoseconds: what `before`/`since`/`until` and the listing's order
/// compare, so images made within one second still have an order.
fn created_nanos(image: &berth_image::Image, stored_at: Option<&str>) -> i128 {
    created_at(image, stored_at).map_or(0, |t| {
        i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
    })
}

impl Engine {
    /// `berth import`: a rootfs tarball becomes a one-layer image, optionally tagged.
    pub fn import_image(
        &self,
        tar: impl Read,
        reference: Option<&str>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<String, Error> {
        let tag = reference.map(reference::normalize).transpose()?;
        let mut config = berth_image::ImageConfig {
            architecture: std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64"),
            os: "linux".into(),
            ..Default::default()
        };
        // One call for all changes: Docker's "ENTRYPOINT resets CMD" applies within one change set.
        if !changes.is_empty() {
            berth_image::apply_change(&mut config.config, &changes.join("\n"))
                .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        }
        if let Some(message) = message {
            config.extra.insert("comment".into(), message.into());
        }
        let id = self.images.import(tar, config)?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.db.add_image(&id, &created, tag.as_slice())?;
        Ok(id)
    }

    /// Resolves a name, full id or unique id prefix to an image id.
    pub fn resolve_image(&self, name: &str) -> Result<String, Error> {
        let not_found = || Error::NotFound(format!("No such image: {name}"));
        if let Ok(normalized) = reference::normalize(name)
            && let Some(id) = self.db.tag(&normalized)?
        {
            return Ok(id);
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            // The build's intermediate images (only the cache keeps them) are named by id too,
            // as Docker's classic builder's are.
            let mut matches: Vec<String> = self
                .db
                .images()?
                .into_iter()
                .map(|(id, _)| id)
                .chain(self.db.build_cache_images()?)
                .filter(|id| id.strip_prefix("sha256:").unwrap_or(id).starts_with(hex))
                .collect();
            matches.sort();
            matches.dedup();
            return match matches.len() {
                1 => Ok(matches.into_iter().next().unwrap_or_default()),
                0 => Err(not_found()),
                _ => Err(Error::InvalidArgument(format!(
                    "image id prefix {name} is ambiguous"
                ))),
            };
        }
        Err(not_found())
    }

    pub fn image_config(&self, id: &str) -> Result<berth_image::Image, Error> {
        Ok(self.images.image(id)?)
    }

    /// `berth images` / `GET /images/json`: the images (with `all`, also the build cache's
    /// intermediate ones) passing `filters` (see [`LIST_FILTER_KEYS`]), newest first. With a
    /// `reference` filter only the matching names are listed, and unnamed images not at all.
    pub fn list_images(&self, all: bool, filters: &Filters) -> Result<Vec<ImageSummary>, Error> {
        filters.validate(LIST_FILTER_KEYS)?;
        let dangling = filters.bool("dangling")?;
        let until = filters
            .until(chrono::Utc::now().timestamp())?
            .map(|s| i128::from(s) * 1_000_000_000);
        // before/since: each named image's creation time; every one applies.
        let created_of = |name: &str| -> Result<i128, Error> {
            let id = self.resolve_image(name).map_err(|e| match e {
                Error::NotFound(m) => Error::Filter(FilterError::NotFound(m)),
                other => other,
            })?;
            let stored = self.db.images()?.into_iter().find(|(i, _)| *i == id);
            let image = self.images.image(&id)?;
            Ok(created_nanos(&image, stored.map(|(_, at)| at).as_deref()))
        };
        let before = filters
            .get("before")
            .map(created_of)
            .collect::<Result<Vec<_>, _>>()?;
        let since = filters
            .get("since")
            .map(created_of)
            .collect::<Result<Vec<_>, _>>()?;
        let patterns: Vec<&str> = filters.get("reference").collect();

        let containers = self.db.containers()?;
        let mut candidates: Vec<(String, Option<String>)> = self
            .db
            .images()?
            .into_iter()
            .map(|(id, at)| (id, Some(at)))
            .collect();
        if all {
            // Docker's `images -a` shows the classic builder's intermediate images: here, the
            // images only the build cache keeps.
            for id in self.db.build_cache_images()? {
                if !candidates.iter().any(|(i, _)| *i == id) {
                    candidates.push((id, None));
                }
            }
        }
        let mut out = Vec::new();
        for (id, stored_at) in candidates {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let created = created_nanos(&image, stored_at.as_deref());
            let mut repo_tags = if stored_at.is_some() {
                self.db.tags_of(&id)?
            } else {
                Vec::new()
            };
            let labels = image.config.config.labels.clone().unwrap_or_default();
            if dangling.is_some_and(|d| d != repo_tags.is_empty())
                || until.is_some_and(|u| created >= u)
                || before.iter().any(|b| created >= *b)
                || since.iter().any(|s| created <= *s)
                || !filters.labels_all("label", &labels)
                || !filters.labels_none("label!", &labels)
            {
                continue;
            }
            if !patterns.is_empty() {
                repo_tags.retain(|t| patterns.iter().any(|p| reference_matches(t, p)));
                if repo_tags.is_empty() {
                    continue;
                }
            }
            out.push((
                created,
                ImageSummary {
                    repo_tags,
                    created: created_unix(&image, stored_at.as_deref()),
                    size: image.size,
                    labels,
                    containers: containers.iter().filter(|c| c.image_id == id).count() as i64,
                    id,
                },
            ));
        }
        out.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        Ok(out.into_iter().map(|(_, image)| image).collect())
    }

    /// `berth tag SOURCE TARGET`
    pub(crate) fn tag_image_unlogged(&self, source: &str, target: &str) -> Result<(), Error> {
        let id = self.resolve_image(source)?;
        let target = reference::normalize(target)?;
        if target.contains('@') {
            return Err(Error::InvalidArgument(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        // A tagged intermediate image becomes a listed one.
        self.db.add_image(&id, &crate::clock::now(), &[target])?;
        Ok(())
    }

    /// `berth rmi [-f] NAME`: untags a name; deletes the image when no name is left.
    pub(crate) fn remove_image_unlogged(
        &self,
        name: &str,
        force: bool,
    ) -> Result<Vec<Removed>, Error> {
        let id = self.resolve_image(name)?;
        let tags = self.db.tags_of(&id)?;
        let by_tag = reference::normalize(name).ok().filter(|n| tags.contains(n));
        let mut removed = Vec::new();
        // Untagging one of several names never deletes the image.
        if let Some(tag) = &by_tag {
            if tags.len() > 1 {
                self.db.remove_tag(tag)?;
                return Ok(vec![Removed::Untagged(tag.clone())]);
            }
        } else if tags.len() > 1 && !force {
            return Err(Error::Conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short(&id)
            )));
        }
        if let Some(container) = self.db.image_in_use(&id)? {
            if !force {
                return Err(Error::Conflict(format!(
                    "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                    short(&container),
                    short(&id)
                )));
            }
            // Docker keeps the image for its containers and only drops the names.
            for tag in tags {
                self.db.remove_tag(&tag)?;
                removed.push(Removed::Untagged(tag));
            }
            return Ok(removed);
        }
        for tag in tags {
            removed.push(Removed::Untagged(tag));
        }
        let registered = self.db.images()?.iter().any(|(i, _)| *i == id);
        self.db.delete_image(&id)?;
        if !registered {
            // An intermediate image named by id: only its cache entries keep it.
            self.db.build_cache_forget_image(&id)?;
        }
        removed.push(Removed::Deleted(id));
        self.gc_images()?;
        Ok(removed)
    }

    /// Deletes content no image in the database refers to.
    /// Skipped while a build runs: its new layers and step images are not referenced yet; the
    /// next gc removes what this one left.
    pub(crate) fn gc_images(&self) -> Result<(), Error> {
        if crate::build::build_running(self) {
            return Ok(());
        }
        let mut keep: Vec<String> = self.db.images()?.into_iter().map(|(id, _)| id).collect();
        // Images the build cache points at stay until `builder prune`.
        keep.extend(self.db.build_cache_images()?);
        // And whatever a container was created from (an intermediate image named by id).
        keep.extend(self.db.containers()?.into_iter().map(|c| c.image_id));
        self.images.gc(&keep)?;
        Ok(())
    }

    /// `berth image inspect`: Docker's image inspect document.
    pub fn inspect_image(&self, name: &str) -> Result<ImageInspect, Error> {
        let id = self.resolve_image(name)?;
        let image = self.images.image(&id)?;
        let c = &image.config;
        let cfg = &c.config;
        let config = ImageInspectConfig {
            user: cfg.user.clone().unwrap_or_default(),
            exposed_ports: cfg.exposed_ports.clone(),
            env: cfg.env.clone(),
            cmd: cfg.cmd.clone(),
            volumes: cfg.volumes.clone(),
            working_dir: cfg.working_dir.clone().unwrap_or_default(),
            entrypoint: cfg.entrypoint.clone(),
            on_build: cfg.on_build.clone(),
            labels: cfg.labels.clone(),
            stop_signal: cfg.stop_signal.clone(),
            // Docker shows these only when the image sets them (a Dockerfile's HEALTHCHECK,
            // SHELL).
            healthcheck: cfg.healthcheck.clone(),
            shell: cfg.shell.clone(),
            ..Default::default()
        };
        Ok(ImageInspect {
            repo_tags: self.db.tags_of(&id)?,
            id,
            repo_digests: Vec::new(),
            parent: String::new(),
            comment: c.extra.get("comment").cloned().unwrap_or_else(|| "".into()),
            created: c.created.clone().unwrap_or_default(),
            docker_version: String::new(),
            author: c.author.clone().unwrap_or_default(),
            // A commit's image: the container's Config, as dockerd kept it; else the image's.
            container_config: c
                .extra
                .get("container_config")
                .and_then(|v| {
                    serde_json::from_value::<crate::types::ContainerConfig>(v.clone()).ok()
                })
                .map(|cc| inspect_config_of(&cc))
                .unwrap_or_else(|| config.clone()),
            config,
            architecture: c.architecture.clone(),
            os: c.os.clone(),
            size: image.size,
            graph_driver: ImageGraphDriver {
                name: "overlay2".into(),
                data: None,
            },
            root_fs: ImageRootFs {
                kind: "layers".into(),
                layers: c.rootfs.diff_ids.clone(),
            },
            metadata: ImageMetadata {
                last_tag_time: "0001-01-01T00:00:00Z".into(),
            },
            container: c
                .extra
                .get("container")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// A container's `Config` in image inspect's shape (a commit's `ContainerConfig`).
fn inspect_config_of(c: &crate::types::ContainerConfig) -> ImageInspectConfig {
    ImageInspectConfig {
        attach_stderr: c.attach_stderr,
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        cmd: c.cmd.clone(),
        domainname: c.domainname.clone(),
        entrypoint: c.entrypoint.clone(),
        env: c.env.clone(),
        exposed_ports: c.exposed_ports.clone(),
        healthcheck: c
            .healthcheck
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok()),
        hostname: c.hostname.clone(),
        image: c.image.clone(),
        labels: c.labels.clone(),
        on_build: c.on_build.clone(),
        open_stdin: c.open_stdin,
        stdin_once: c.stdin_once,
        stop_signal: c.stop_signal.clone(),
        tty: c.tty,
        user: c.user.clone(),
        volumes: c.volumes.clone(),
        working_dir: c.working_dir.clone(),
        ..Default::default()
    }
}
