//! `RUN --mount` as a step of a stage: the mounts' options expanded and checked, what of them
//! enters the step's cache key (the files a bind shows, never a cache's content or a secret's
//! bytes), and the host paths the step's container mounts: cache directories, bind sources
//! (a read-only view, or a throwaway overlay for `rw`), secrets as files in the build's
//! scratch dir (removed when the step ends), agent sockets.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use berth_build::dockerfile::Instruction;
use berth_build::mount::{MountType, RunMount, parse_mount};

use super::{FromSource, Result, StageRun};
use crate::cache_mounts::{self, CacheDir};
use crate::fs_step::{Scratch, resolve_in_root};
use crate::host::StepMount;
use crate::{BuildError, BuildHost};

/// The host side of a step's mounts, held until the step ended: cache locks, mounted views,
/// the secrets' files.
pub(super) struct Prepared<'h, H: BuildHost> {
    pub mounts: Vec<StepMount>,
    /// `SSH_AUTH_SOCK`.
    pub env: Vec<String>,
    /// `secret,env=NAME`: the name and the secret's file (read by the host at start).
    pub secret_env: Vec<(String, PathBuf)>,
    _caches: Vec<CacheDir>,
    _views: Vec<Scratch<'h, H>>,
    secrets_dir: Option<PathBuf>,
}

impl<H: BuildHost> Drop for Prepared<'_, H> {
    fn drop(&mut self) {
        if let Some(dir) = &self.secrets_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// What a mount's option text shows in an error: `RUN --mount=type=...`.
fn named(raw: &str) -> String {
    format!("RUN --mount={raw}")
}

impl<'h, H: BuildHost> StageRun<'h, '_, '_, H> {
    /// The step's `--mount`s with variables expanded, targets made absolute (relative to the
    /// working directory, as BuildKit does), each with its expanded text.
    pub(super) fn run_mounts(
        &self,
        instr: &Instruction,
        raw: &[String],
    ) -> Result<Vec<(String, RunMount)>, H> {
        let workdir = self
            .state
            .config
            .config
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".into());
        raw.iter()
            .map(|r| {
                let text = self.expand(instr, r)?;
                let mut mount = parse_mount(&text)
                    .map_err(|e| self.at(instr, format!("{}: {e}", named(&text))))?;
                let default_target = match mount.kind {
                    MountType::Secret if mount.env.is_none() => {
                        mount.secret_id().map(|id| format!("/run/secrets/{id}"))
                    }
                    _ => None,
                };
                if mount.target.is_none() {
                    mount.target = default_target;
                }
                if let Some(t) = &mount.target
                    && !t.starts_with('/')
                {
                    mount.target = Some(format!("{}/{t}", workdir.trim_end_matches('/')));
                }
                Ok((text, mount))
            })
            .collect()
    }

    /// The image a `from=` names: an earlier stage's, or an image (pulled if missing).
    fn mount_source(&self, instr: &Instruction, text: &str, from: &str) -> Result<FromSource, H> {
        self.source_of(instr, &named(text), from)
    }

    /// The parts of the step's cache key its mounts add: each mount's text, and for a bind
    /// what it shows (the context files' digest, or the image's id).
    pub(super) fn mounts_key(
        &self,
        instr: &Instruction,
        mounts: &[(String, RunMount)],
    ) -> Result<Vec<String>, H> {
        let mut parts = Vec::new();
        for (text, mount) in mounts {
            parts.push(format!("mount:{text}"));
            if mount.kind != MountType::Bind {
                continue;
            }
            match &mount.from {
                Some(from) => parts.push(
                    self.mount_source(instr, text, from)?
                        .key()
                        .map_err(|e| self.at(instr, e))?,
                ),
                None => {
                    let rel = context_rel(mount.source.as_deref());
                    let digest = self.shared.context.digest_of(&rel).ok_or_else(|| {
                        self.at(
                            instr,
                            format!(
                                "{}: source {:?} not found in the build context",
                                named(text),
                                mount.source.as_deref().unwrap_or("/")
                            ),
                        )
                    })?;
                    parts.push(digest);
                }
            }
        }
        Ok(parts)
    }

    /// The host paths the step mounts, ready; errors name the Dockerfile line and the option
    /// (a required secret or agent that was not given, a source that does not exist).
    pub(super) fn prepare_mounts(
        &self,
        instr: &Instruction,
        mounts: &[(String, RunMount)],
    ) -> Result<Prepared<'h, H>, H> {
        let host: &'h H = self.host;
        let scratch = &self.shared.scratch;
        let mut prepared = Prepared {
            mounts: Vec::new(),
            env: Vec::new(),
            secret_env: Vec::new(),
            _caches: Vec::new(),
            _views: Vec::new(),
            secrets_dir: None,
        };
        let io = |what: &str, e: std::io::Error| BuildError::io(what, e);
        let mut ssh_count = 0;
        for (text, mount) in mounts {
            let target = mount.target.clone().unwrap_or_default();
            match mount.kind {
                MountType::Tmpfs => prepared.mounts.push(StepMount::Tmpfs {
                    target,
                    size: mount.size,
                }),
                MountType::Cache => {
                    let dir = cache_mounts::open(
                        &self.shared.state_dir,
                        scratch,
                        &mount.cache_id(),
                        mount.sharing,
                    )
                    .map_err(|e| io(&format!("opening the cache mount of {}", named(text)), e))?;
                    if dir.created {
                        if let Some(from) = &mount.from {
                            let view = self.mount_source(instr, text, from)?.view(host, scratch)?;
                            let source = resolve_in_root(
                                &view.merged,
                                mount.source.as_deref().unwrap_or("/"),
                            );
                            let files = [crate::copy::SourceFile {
                                path: source,
                                keep_owner: true,
                                extract: false,
                            }];
                            let options = crate::copy::CopyOptions {
                                in_context: None,
                                owner: None,
                                mode: None,
                                extract_archives: false,
                            };
                            crate::copy::copy(&dir.path, &files, "/", &options)
                                .map_err(|e| self.at(instr, format!("{}: {e}", named(text))))?;
                        }
                        std::fs::set_permissions(
                            &dir.path,
                            std::fs::Permissions::from_mode(mount.mode.unwrap_or(0o755)),
                        )
                        .map_err(|e| io("setting a cache mount's mode", e))?;
                        std::os::unix::fs::chown(&dir.path, mount.uid, mount.gid)
                            .map_err(|e| io("setting a cache mount's owner", e))?;
                    }
                    prepared.mounts.push(StepMount::Bind {
                        source: dir.path.clone(),
                        target,
                        readonly: mount.is_readonly(),
                    });
                    prepared._caches.push(dir);
                }
                MountType::Bind => {
                    let source_in = mount.source.as_deref().unwrap_or("/");
                    let (root, view) = match &mount.from {
                        Some(from) => {
                            let view = self.mount_source(instr, text, from)?.view(host, scratch)?;
                            (view.merged.clone(), Some(view))
                        }
                        None => (self.shared.context.root().to_path_buf(), None),
                    };
                    let mut source = resolve_in_root(&root, source_in);
                    if source.symlink_metadata().is_err() {
                        return Err(self.at(
                            instr,
                            format!("{}: source {source_in:?} not found", named(text)),
                        ));
                    }
                    if let Some(view) = view {
                        // An image's files are seen through a throwaway overlay already.
                        prepared._views.push(view);
                    } else if !mount.is_readonly() {
                        // `rw` on the context: writes land in a throwaway copy.
                        if source.is_dir() {
                            let view = Scratch::over(host, scratch, Some(vec![source.clone()]))?;
                            source = view.merged.clone();
                            prepared._views.push(view);
                        } else {
                            let dir = scratch.join(crate::unique_name("bind-"));
                            std::fs::create_dir_all(&dir).map_err(|e| io("bind copy", e))?;
                            let copy = dir.join("file");
                            std::fs::copy(&source, &copy).map_err(|e| io("bind copy", e))?;
                            source = copy;
                        }
                    }
                    prepared.mounts.push(StepMount::Bind {
                        source,
                        target,
                        readonly: mount.is_readonly(),
                    });
                }
                MountType::Secret => {
                    let id = mount.secret_id().unwrap_or_default();
                    let Some(secret) = self.shared.request.secrets.get(&id) else {
                        if mount.is_required() {
                            return Err(self.at(
                                instr,
                                format!(
                                    "{}: secret {id} is required but was not given (berth build --secret id={id},src=FILE)",
                                    named(text)
                                ),
                            ));
                        }
                        continue;
                    };
                    let dir = match &prepared.secrets_dir {
                        Some(d) => d.clone(),
                        None => {
                            let d = scratch.join(crate::unique_name("secrets-"));
                            std::fs::create_dir_all(&d).map_err(|e| io("secrets dir", e))?;
                            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
                                .map_err(|e| io("secrets dir", e))?;
                            prepared.secrets_dir = Some(d.clone());
                            d
                        }
                    };
                    let file = dir.join(crate::unique_name("s-"));
                    std::fs::write(&file, &secret.0).map_err(|e| io("writing a secret", e))?;
                    std::fs::set_permissions(
                        &file,
                        std::fs::Permissions::from_mode(mount.mode.unwrap_or(0o400)),
                    )
                    .map_err(|e| io("a secret's mode", e))?;
                    std::os::unix::fs::chown(
                        &file,
                        Some(mount.uid.unwrap_or(0)),
                        Some(mount.gid.unwrap_or(0)),
                    )
                    .map_err(|e| io("a secret's owner", e))?;
                    if let Some(name) = &mount.env {
                        prepared.secret_env.push((name.clone(), file.clone()));
                    }
                    if mount.target.is_none() {
                        continue;
                    }
                    prepared.mounts.push(StepMount::Bind {
                        source: file,
                        target,
                        readonly: true,
                    });
                }
                MountType::Ssh => {
                    let id = mount.ssh_id();
                    let Some(socket) = self.shared.request.ssh.get(&id) else {
                        if mount.is_required() {
                            return Err(self.at(
                                instr,
                                format!(
                                    "{}: no SSH agent {id:?} was forwarded (berth build --ssh {id}=SOCKET)",
                                    named(text)
                                ),
                            ));
                        }
                        continue;
                    };
                    let target = mount
                        .target
                        .clone()
                        .unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{ssh_count}"));
                    if ssh_count == 0 {
                        prepared.env.push(format!("SSH_AUTH_SOCK={target}"));
                    }
                    ssh_count += 1;
                    prepared.mounts.push(StepMount::Bind {
                        source: socket.clone(),
                        target,
                        readonly: false,
                    });
                }
            }
        }
        Ok(prepared)
    }
}

/// A bind source inside the context as the context's relative path ("" is the whole context).
fn context_rel(source: Option<&str>) -> String {
    berth_build::ignore::clean(source.unwrap_or("/"))
}
