//! Image operations: import, list, tag, remove, inspect. The store holds the content; the
//! database maps names to image ids.

use std::io::Read;

use serde::Serialize;
use serde_json::json;

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

impl ImageSummary {
    /// Whether it passes one `images --filter KEY=VALUE` (the API's `filters`) entry:
    /// `reference` (`bb`, `bb:v1`, `reg:5000/x/*`; without a tag, any tag), `dangling`, `label`.
    pub fn matches_filter(&self, key: &str, value: &str) -> Result<bool, Error> {
        Ok(match key {
            "reference" => self
                .repo_tags
                .iter()
                .any(|name| reference_matches(name, value)),
            "dangling" => match value {
                "true" | "1" => self.repo_tags.is_empty(),
                "false" | "0" => !self.repo_tags.is_empty(),
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "invalid filter 'dangling={other}'"
                    )));
                }
            },
            "label" => match value.split_once('=') {
                Some((k, v)) => self.labels.get(k).is_some_and(|l| l == v),
                None => self.labels.contains_key(value),
            },
            other => return Err(Error::InvalidArgument(format!("invalid filter '{other}'"))),
        })
    }
}

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

    fn image(tags: &[&str]) -> ImageSummary {
        ImageSummary {
            id: "sha256:x".into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            created: 0,
            size: 0,
            labels: Default::default(),
            containers: 0,
        }
    }

    #[test]
    fn reference_filters_match_repositories_tags_and_globs() {
        let i = image(&["bb:latest", "127.0.0.1:5000/x/bb:v1"]);
        for yes in [
            "bb",
            "*",
            "bb:latest",
            "b*",
            "127.0.0.1:5000/x/bb",
            "127.0.0.1:5000/x/*:v*",
            "bb:*",
        ] {
            assert!(i.matches_filter("reference", yes).unwrap(), "{yes}");
        }
        for no in ["b", "bb:v1", "127.0.0.1:5000/*", "other"] {
            assert!(!i.matches_filter("reference", no).unwrap(), "{no}");
        }
        assert!(image(&[]).matches_filter("dangling", "true").unwrap());
        assert!(i.matches_filter("nosuch", "x").is_err());
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
    image
        .config
        .created
        .as_deref()
        .or(stored_at)
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
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
            config.extra.insert("comment".into(), json!(message));
        }
        let id = self.images.import(tar, config)?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.db.add_image(&id, &created)?;
        if let Some(tag) = tag {
            self.db.set_tag(&tag, &id)?;
        }
        Ok(id)
    }

    /// Resolves a name, full id or unique id prefix to an image id.
    pub fn resolve_image(&self, name: &str) -> Result<String, Error> {
        let not_found = || Error::NotFound(format!("No such image: {name}"));
        if let Ok(normalized) = reference::normalize(name) {
            if let Some(id) = self.db.tag(&normalized)? {
                return Ok(id);
            }
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

    pub fn list_images(&self, all: bool) -> Result<Vec<ImageSummary>, Error> {
        let containers = self.db.containers()?;
        let mut out = Vec::new();
        for (id, created) in self.db.images()? {
            let Ok(image) = self.images.image(&id) else {
                continue;
            };
            let created = created_unix(&image, Some(&created));
            out.push(ImageSummary {
                repo_tags: self.db.tags_of(&id)?,
                created,
                size: image.size,
                labels: image.config.config.labels.clone().unwrap_or_default(),
                containers: containers.iter().filter(|c| c.image_id == id).count() as i64,
                id,
            });
        }
        if all {
            // Docker's `images -a` shows the classic builder's intermediate images: here, the
            // images only the build cache keeps.
            for id in self.db.build_cache_images()? {
                if out.iter().any(|i| i.id == id) {
                    continue;
                }
                let Ok(image) = self.images.image(&id) else {
                    continue;
                };
                let created = created_unix(&image, None);
                out.push(ImageSummary {
                    repo_tags: Vec::new(),
                    created,
                    size: image.size,
                    labels: image.config.config.labels.clone().unwrap_or_default(),
                    containers: containers.iter().filter(|c| c.image_id == id).count() as i64,
                    id,
                });
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
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
        self.db.add_image(&id, &crate::containers::now())?;
        self.db.set_tag(&target, &id)?;
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
    pub fn inspect_image(&self, name: &str) -> Result<serde_json::Value, Error> {
        let id = self.resolve_image(name)?;
        let image = self.images.image(&id)?;
        let c = &image.config;
        let cfg = &c.config;
        let mut doc = json!({
            "Id": id,
            "RepoTags": self.db.tags_of(&id)?,
            "RepoDigests": [],
            "Parent": "",
            "Comment": c.extra.get("comment").cloned().unwrap_or(json!("")),
            "Created": c.created.clone().unwrap_or_default(),
            "DockerVersion": "",
            "Author": c.author.clone().unwrap_or_default(),
            "Config": {
                "Hostname": "", "Domainname": "",
                "User": cfg.user.clone().unwrap_or_default(),
                "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
                "ExposedPorts": cfg.exposed_ports,
                "Tty": false, "OpenStdin": false, "StdinOnce": false,
                "Env": cfg.env,
                "Cmd": cfg.cmd,
                "Image": "",
                "Volumes": cfg.volumes,
                "WorkingDir": cfg.working_dir.clone().unwrap_or_default(),
                "Entrypoint": cfg.entrypoint,
                "OnBuild": cfg.on_build,
                "Labels": cfg.labels,
                "StopSignal": cfg.stop_signal,
            },
            "Architecture": c.architecture,
            "Os": c.os,
            "Size": image.size,
            "GraphDriver": { "Name": "overlay2", "Data": null },
            "RootFS": { "Type": "layers", "Layers": c.rootfs.diff_ids },
            "Metadata": { "LastTagTime": "0001-01-01T00:00:00Z" },
        });
        // Docker shows these only when the image sets them (a Dockerfile's HEALTHCHECK, SHELL).
        for (key, value) in [
            ("Healthcheck", cfg.healthcheck.clone()),
            ("Shell", cfg.shell.clone().map(|s| json!(s))),
        ] {
            if let Some(v) = value {
                doc["Config"][key] = v;
            }
        }
        // Docker's API before 1.45 also carried the (build) container's config; compose 1.29
        // reads its Volumes.
        doc["ContainerConfig"] = doc["Config"].clone();
        Ok(doc)
    }
}
