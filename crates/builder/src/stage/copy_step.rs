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
            Some(from) => Some(self.image_of(instr, &format!("{name} --from={from}"), from)?),
        };
        let mut key_parts: Vec<String> = vec![
            name.into(),
            dest.clone(),
            chown.clone().unwrap_or_default(),
            format!("{chmod:?}"),
            from_image.clone().unwrap_or_default(),
        ];
        let mut context_files: Vec<String> = Vec::new();
        let mut image_sources: Vec<String> = Vec::new();
        let mut heredocs: Vec<(String, String)> = Vec::new();
        let mut downloads: Vec<std::path::PathBuf> = Vec::new();
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
                        // Downloaded before the cache lookup: its content decides, as in Docker.
                        let (file, digest) = self.download(instr, &path)?;
                        key_parts.push(format!("url:{path}:{digest}"));
                        downloads.push(file);
                        continue;
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
                    for m in matched {
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
        let parent = self.materialize()?;
        let scratch = Scratch::mount(self.host, &self.shared.scratch, Some(&parent))?;
        let from_scratch = from_image
            .as_deref()
            .map(|id| Scratch::mount(self.host, &self.shared.scratch, Some(id)))
            .transpose()?;
        let owner = match &chown {
            None => None,
            Some(spec) => {
                let (uid, gid) = self
                    .host
                    .resolve_user(&scratch.merged, spec)
                    .map_err(|e| self.at(instr, format!("{name} --chown={spec}: {e}")))?;
                Some((uid, if spec.contains(':') { gid } else { uid }))
            }
        };
        let context = &self.shared.context;
        let in_context = |p: &std::path::Path| {
            p.strip_prefix(context.root())
                .is_ok_and(|rel| context.entries.contains_key(rel.to_string_lossy().as_ref()))
        };
        let options = CopyOptions {
            in_context: if from_image.is_none() {
                Some(&in_context)
            } else {
                None
            },
            owner,
            mode: chmod,
            extract_archives: copy.add,
        };
        let mut sources: Vec<SourceFile> = context_files
            .iter()
            .map(|rel| SourceFile {
                path: self.shared.context.root().join(rel),
                keep_owner: false,
                extract: true,
            })
            .collect();
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
                sources.extend(found.into_iter().map(|p| SourceFile {
                    path: p,
                    keep_owner: true,
                    extract: true,
                }));
            }
        }
        if !sources.is_empty() {
            crate::copy::copy(&scratch.merged, &sources, &dest, &options)
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
