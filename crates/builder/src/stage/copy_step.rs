//! COPY and ADD as a step of a stage: where the sources come from (the context, an earlier
//! stage, an image, a URL), the step's cache key from what they hold, and the layer the copy
//! makes on a scratch overlay. The file rules themselves (directories, ownership, archives)
//! are `copy.rs`'s.

use berth_build::dockerfile::{Copy, Instruction, Source};

use super::{Result, StageRun};
use crate::copy::{CopyOptions, SourceFile};
use crate::fs_step::{Scratch, resolve_in_root};
use crate::{BuildError, BuildHost, cache};

impl<H: BuildHost> StageRun<'_, '_, '_, H> {
    /// `ADD <url>`: the file as the server sends it (named after the URL's last path segment,
    /// mode 0600, mtime from Last-Modified), in this build's scratch dir. Returns it and its digest.
    fn download(&self, instr: &Instruction, url: &str) -> Result<(std::path::PathBuf, String), H> {
        use sha2::Digest;
        let path_part = url.split(['?', '#']).next().unwrap_or(url);
        let name = path_part
            .splitn(4, '/')
            .nth(3)
            .and_then(|p| p.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or("download");
        let dir = self.shared.scratch.join(crate::unique_name("download-"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| BuildError::io(format!("creating {}", dir.display()), e))?;
        let file = dir.join(name);
        let mut out = std::fs::File::create(&file)
            .map_err(|e| BuildError::io(format!("creating {}", file.display()), e))?;
        let last_modified = self
            .host
            .download(url, &mut out)
            .map_err(|e| self.at(instr, format!("ADD failed: {e}")))?;
        drop(out);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| BuildError::io(format!("chmod {}", file.display()), e))?;
        if let Some(t) = last_modified {
            let ts = nix::sys::time::TimeSpec::new(t, 0);
            let _ = nix::sys::stat::utimensat(
                None,
                &file,
                &ts,
                &ts,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            );
        }
        let data = std::fs::read(&file)
            .map_err(|e| BuildError::io(format!("reading {}", file.display()), e))?;
        Ok((file, hex::encode(sha2::Sha256::digest(&data))))
    }

    pub(super) fn copy_step(&mut self, instr: &Instruction, copy: &Copy) -> Result<(), H> {
        let name = if copy.add { "ADD" } else { "COPY" };
        let n = self.step_title(instr);
        let started = std::time::Instant::now();
        let mut dest = self.expand(instr, &copy.dest)?;
        if !dest.starts_with('/') {
            let workdir = self
                .state
                .config
                .config
                .working_dir
                .clone()
                .unwrap_or_else(|| "/".into());
            dest = format!("{}/{dest}", workdir.trim_end_matches('/'));
        }
        let chown = copy
            .chown
            .as_deref()
            .map(|c| self.expand(instr, c))
            .transpose()?;
        let chmod = match copy
            .chmod
            .as_deref()
            .map(|c| self.expand(instr, c))
            .transpose()?
        {
            Some(m) => Some(u32::from_str_radix(&m, 8).map_err(|_| {
                self.at(instr, format!("invalid --chmod value {m:?}: must be octal"))
            })?),
            None => None,
        };
        // Where the sources come from: the context, an earlier stage, or an image.
        let from_image = match copy.from.as_deref() {
            None => None,
            Some(from) => Some(self.source_of(instr, &format!("{name} --from={from}"), from)?),
        };
        let excludes = copy
            .excludes
            .iter()
            .map(|e| self.expand(instr, e))
            .collect::<Result<Vec<_>, H>>()?;
        let checksum = copy
            .checksum
            .as_deref()
            .map(|c| self.expand(instr, c))
            .transpose()?;
        let mut key_parts: Vec<String> = vec![
            name.into(),
            dest.clone(),
            chown.clone().unwrap_or_default(),
            format!("{chmod:?}"),
            from_image
                .as_ref()
                .map(|f| f.key())
                .transpose()
                .map_err(|e| self.at(instr, e))?
                .unwrap_or_default(),
            format!("exclude:{}", excludes.join("\0")),
            format!("parents:{}", copy.parents),
        ];
        let excluded = Excludes::new(&excludes);
        let mut context_files: Vec<String> = Vec::new();
        let mut image_sources: Vec<String> = Vec::new();
        let mut heredocs: Vec<(String, String)> = Vec::new();
        let mut downloads: Vec<std::path::PathBuf> = Vec::new();
        let mut pending_urls: Vec<String> = Vec::new();
        for source in &copy.sources {
            match source {
                Source::Heredoc(doc) => {
                    let body = if doc.expand {
                        berth_build::expand::expand_heredoc(
                            &doc.body,
                            &self.scope(),
                            self.shared.dockerfile.escape,
                        )
                        .map_err(|e| self.at(instr, e))?
                    } else {
                        doc.body.clone()
                    };
                    key_parts.push(format!("heredoc:{}:{body}", doc.name));
                    heredocs.push((doc.name.clone(), body));
                }
                Source::Path(raw) => {
                    let path = self.expand(instr, raw)?;
                    if copy.add && (path.starts_with("http://") || path.starts_with("https://")) {
                        match &checksum {
                            // The checksum names the content: downloaded only on a cache miss.
                            Some(sum) => {
                                key_parts.push(format!("url:{path}:{sum}"));
                                pending_urls.push(path);
                            }
                            // Downloaded before the cache lookup: its content decides, as in Docker.
                            None => {
                                let (file, digest) = self.download(instr, &path)?;
                                key_parts.push(format!("url:{path}:{digest}"));
                                downloads.push(file);
                            }
                        }
                        continue;
                    }
                    if let Some(sum) = &checksum {
                        return Err(self.at(
                            instr,
                            format!("{name} --checksum={sum}: only a source of http(s) can have a checksum ({path} is not one)"),
                        ));
                    }
                    if from_image.is_some() {
                        key_parts.push(format!("image:{path}"));
                        image_sources.push(path);
                        continue;
                    }
                    let matched = self.shared.context.matching(&path);
                    if matched.is_empty() {
                        return Err(self.at(
                            instr,
                            format!("{name} failed: file not found in build context or excluded by .dockerignore: stat {path}: file does not exist"),
                        ));
                    }
                    for m in matched.into_iter().filter(|m| !excluded.matches(m)) {
                        key_parts.push(format!(
                            "ctx:{m}:{}",
                            self.shared.context.digest_of(&m).unwrap_or_default()
                        ));
                        context_files.push(m);
                    }
                }
            }
        }
        let refs: Vec<&str> = key_parts.iter().map(String::as_str).collect();
        let key = cache::chain(&self.state.key, &refs);
        if let Some(id) = self.cached(&key)? {
            self.use_cached(key, id)?;
            self.shared.cached_step(n);
            return Ok(());
        }
        // `--link`: the layer depends on the sources only, so one made on another base is
        // reused as it is (rebased), never copied again.
        let link_key = cache::chain("COPY --link", &refs);
        if copy.link
            && let Some(linked) = self.cached(&link_key)?
        {
            let layer = self.host.images().layer_descriptors(&linked)?.pop();
            let diff_id = self
                .host
                .images()
                .image(&linked)?
                .config
                .rootfs
                .diff_ids
                .pop();
            if let (Some(layer), Some(diff_id)) = (layer, diff_id) {
                let first_line = instr.text.lines().next().unwrap_or("").to_string();
                self.commit_step(key, Some((layer, diff_id)), first_line)?;
                self.shared.cached_step(n);
                return Ok(());
            }
        }
        for url in &pending_urls {
            let (file, digest) = self.download(instr, url)?;
            let sum = checksum.as_deref().unwrap_or_default();
            if sum.strip_prefix("sha256:") != Some(digest.as_str()) {
                let _ = std::fs::remove_file(&file);
                return Err(self.at(
                    instr,
                    format!(
                        "{name} --checksum={sum}: {url} has sha256:{digest}: checksum mismatch"
                    ),
                ));
            }
            downloads.push(file);
        }
        let parent = self.materialize()?;
        // A linked layer is made on an empty root; the parent is mounted only to look names up.
        let scratch = Scratch::mount(
            self.host,
            &self.shared.scratch,
            (!copy.link).then_some(parent.as_str()),
        )?;
        let names_root = if copy.link && chown.as_deref().is_some_and(has_names) {
            Some(Scratch::mount(
                self.host,
                &self.shared.scratch,
                Some(&parent),
            )?)
        } else {
            None
        };
        let from_scratch = from_image
            .as_ref()
            .map(|f| f.view(self.host, &self.shared.scratch))
            .transpose()?;
        let owner = match &chown {
            None => None,
            Some(spec) => {
                let root = names_root.as_ref().unwrap_or(&scratch);
                let (uid, gid) = self
                    .host
                    .resolve_user(&root.merged, spec)
                    .map_err(|e| self.at(instr, format!("{name} --chown={spec}: {e}")))?;
                Some((uid, if spec.contains(':') { gid } else { uid }))
            }
        };
        drop(names_root);
        let context = &self.shared.context;
        let source_root = from_scratch
            .as_ref()
            .map_or_else(|| context.root().to_path_buf(), |s| s.merged.clone());
        let in_context = |p: &std::path::Path| {
            let Ok(rel) = p.strip_prefix(&source_root) else {
                return false;
            };
            let rel = rel.to_string_lossy();
            (from_scratch.is_some() || context.entries.contains_key(rel.as_ref()))
                && !excluded.matches_under(&rel, &context_files, &image_sources)
        };
        let options = CopyOptions {
            in_context: if from_image.is_none() || !excluded.is_empty() {
                Some(&in_context)
            } else {
                None
            },
            owner,
            mode: chmod,
            extract_archives: copy.add,
        };
        // With --parents each source goes under its own parent directories (after a `/./`).
        let mut placed: Vec<(String, SourceFile)> = Vec::new();
        let mut sources: Vec<SourceFile> = Vec::new();
        for rel in &context_files {
            let file = SourceFile {
                path: self.shared.context.root().join(rel),
                keep_owner: false,
                extract: true,
            };
            if copy.parents {
                placed.push((parent_dest(&dest, rel, &copy.sources), file));
            } else {
                sources.push(file);
            }
        }
        // Remote files are never unpacked.
        sources.extend(downloads.iter().map(|p| SourceFile {
            path: p.clone(),
            keep_owner: false,
            extract: false,
        }));
        if let Some(from) = &from_scratch {
            for path in &image_sources {
                let found = glob_in_root(&from.merged, path);
                if found.is_empty() {
                    return Err(self.at(
                        instr,
                        format!(
                            "{name} failed: stat {path}: file does not exist in the --from image"
                        ),
                    ));
                }
                for p in found {
                    let rel = p
                        .strip_prefix(&from.merged)
                        .map(|r| r.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if excluded.matches(&rel) {
                        continue;
                    }
                    let file = SourceFile {
                        path: p,
                        keep_owner: true,
                        extract: true,
                    };
                    if copy.parents {
                        placed.push((parent_dest(&dest, &rel, &copy.sources), file));
                    } else {
                        sources.push(file);
                    }
                }
            }
        }
        if !sources.is_empty() {
            crate::copy::copy(&scratch.merged, &sources, &dest, &options)
                .map_err(|e| self.at(instr, format!("{name} failed: {e}")))?;
        }
        for (dir, file) in placed {
            crate::copy::copy(&scratch.merged, std::slice::from_ref(&file), &dir, &options)
                .map_err(|e| self.at(instr, format!("{name} failed: {e}")))?;
        }
        for (doc_name, body) in &heredocs {
            crate::copy::write_heredoc(&scratch.merged, &dest, doc_name, body, &options)
                .map_err(|e| self.at(instr, format!("{name} failed: {e}")))?;
        }
        drop(from_scratch);
        scratch.unmount();
        let layer = self.host.images().add_layer_from_upper(&scratch.upper)?;
        drop(scratch);
        if copy.link {
            // The layer on its own, for the next build on another base.
            let config = berth_image::ImageConfig {
                architecture: self.state.config.architecture.clone(),
                os: self.state.config.os.clone(),
                rootfs: berth_image::RootFs {
                    diff_ids: vec![layer.1.clone()],
                    ..Default::default()
                },
                created: Some(crate::now()),
                ..Default::default()
            };
            let id = self
                .host
                .images()
                .commit_image(&config, vec![layer.0.clone()])?;
            self.host.cache_put(&link_key, &id, &crate::now())?;
        }
        let first_line = instr.text.lines().next().unwrap_or("").to_string();
        self.commit_step(key, Some(layer), first_line)?;
        self.shared.plain(&format!(
            "#{n} DONE {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    }
}

/// Paths in a mounted image matching `pattern` (a glob allowed in the last component).
fn glob_in_root(root: &std::path::Path, pattern: &str) -> Vec<std::path::PathBuf> {
    let (dir, last) = match pattern.trim_end_matches('/').rsplit_once('/') {
        Some((d, l)) => (if d.is_empty() { "/" } else { d }, l),
        None => ("/", pattern.trim_end_matches('/')),
    };
    if !last.contains(['*', '?', '[']) {
        let p = resolve_in_root(root, pattern);
        return if std::fs::symlink_metadata(&p).is_ok() {
            vec![p]
        } else {
            Vec::new()
        };
    }
    let base = resolve_in_root(root, dir);
    let ignore = berth_build::ignore::Ignore::parse(last);
    let mut out: Vec<_> = std::fs::read_dir(&base)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| ignore.excludes(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Whether a `--chown` spec names a user or group (not only numbers).
fn has_names(spec: &str) -> bool {
    spec.split(':').any(|part| part.parse::<u32>().is_err())
}

/// `--parents`: where a source (relative to its root) goes: under `dest`, in its parent
/// directories, from after a `/./` pivot in the source pattern that matched it, if any.
fn parent_dest(dest: &str, rel: &str, sources: &[Source]) -> String {
    let pivot = sources.iter().find_map(|s| match s {
        Source::Path(p) => {
            let p = p.trim_start_matches("./").trim_start_matches('/');
            let (before, _) = p.split_once("/./")?;
            rel.starts_with(&format!("{before}/"))
                .then(|| before.to_string())
        }
        Source::Heredoc(_) => None,
    });
    let kept = match &pivot {
        Some(before) => rel[before.len() + 1..].to_string(),
        None => rel.to_string(),
    };
    let parent = std::path::Path::new(&kept)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dest = dest.trim_end_matches('/');
    if parent.is_empty() {
        format!("{dest}/")
    } else {
        format!("{dest}/{parent}/")
    }
}

/// `--exclude` patterns, with .dockerignore's matching: against a path relative to the
/// source root (the context, or the --from image), and relative to the copied directory.
struct Excludes {
    patterns: Option<berth_build::ignore::Ignore>,
}

impl Excludes {
    fn new(patterns: &[String]) -> Excludes {
        Excludes {
            patterns: (!patterns.is_empty())
                .then(|| berth_build::ignore::Ignore::parse(&patterns.join("\n"))),
        }
    }

    fn is_empty(&self) -> bool {
        self.patterns.is_none()
    }

    fn matches(&self, rel: &str) -> bool {
        self.patterns.as_ref().is_some_and(|p| p.excludes(rel))
    }

    /// `rel` (under the source root) against the patterns, also as a path inside whichever
    /// copied directory holds it.
    fn matches_under(&self, rel: &str, context_dirs: &[String], image_dirs: &[String]) -> bool {
        if self.matches(rel) {
            return true;
        }
        context_dirs
            .iter()
            .map(|d| d.trim_matches('/').to_string())
            .chain(image_dirs.iter().map(|d| d.trim_matches('/').to_string()))
            .filter(|d| !d.is_empty())
            .any(|d| {
                rel.strip_prefix(&format!("{d}/"))
                    .is_some_and(|inner| self.matches(inner))
            })
    }
}
