//! Secrets and configs: each file a service asks for is copied into its container before it
//! starts (as Compose v2 does for `content` and `environment` sources), through the engine's
//! archive extraction (the same call as `berth cp`), with its mode and owner.

use std::collections::BTreeSet;

use berth_engine::Engine;
use berth_engine::container_archive::ExtractOptions;

use crate::error::Error;
use crate::model::{FileRef, FileSource, Project};

/// Copies the service's secrets and configs into the created container `id`.
pub fn copy_into(engine: &Engine, project: &Project, service: &str, id: &str) -> Result<(), Error> {
    let s = project.service(service)?;
    let wanted: Vec<(&FileRef, &FileSource, &str)> = s
        .secrets
        .iter()
        .map(|r| (r, &project.secrets[&r.source], "secret"))
        .chain(
            s.configs
                .iter()
                .map(|r| (r, &project.configs[&r.source], "config")),
        )
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut archive = tar::Builder::new(Vec::new());
    let mut dirs = BTreeSet::new();
    let mut owned = false;
    for (r, source, kind) in wanted {
        let content = content(source, kind, &r.source)?;
        let relative = r.target.trim_start_matches('/');
        let mut parent = std::path::Path::new(relative).parent();
        let mut missing = Vec::new();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            missing.push(p.to_path_buf());
            parent = p.parent();
        }
        for dir in missing.into_iter().rev() {
            if dirs.insert(dir.clone()) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                archive
                    .append_data(&mut h, &dir, std::io::empty())
                    .map_err(|e| Error::io("packing secrets", e))?;
            }
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(r.mode.unwrap_or(0o444));
        h.set_size(content.len() as u64);
        let id_of = |v: &Option<String>| v.as_deref().and_then(|t| t.parse::<u64>().ok());
        if let Some(uid) = id_of(&r.uid) {
            h.set_uid(uid);
            owned = true;
        }
        if let Some(gid) = id_of(&r.gid) {
            h.set_gid(gid);
            owned = true;
        }
        archive
            .append_data(&mut h, relative, content.as_slice())
            .map_err(|e| Error::io("packing secrets", e))?;
    }
    let bytes = archive
        .into_inner()
        .map_err(|e| Error::io("packing secrets", e))?;
    let options = ExtractOptions {
        copy_uid_gid: owned,
        ..ExtractOptions::default()
    };
    engine.extract_to_container(id, "/", bytes.as_slice(), options)?;
    Ok(())
}

pub(crate) fn content(source: &FileSource, kind: &str, name: &str) -> Result<Vec<u8>, Error> {
    if let Some(file) = &source.file {
        return std::fs::read(file)
            .map_err(|e| Error::io(format!("reading {kind} {name} from {}", file.display()), e));
    }
    if let Some(var) = &source.environment {
        return std::env::var(var).map(String::into_bytes).map_err(|_| {
            Error::Run(format!(
                "environment variable {var} for {kind} {name} is not set"
            ))
        });
    }
    if let Some(text) = &source.content {
        return Ok(text.clone().into_bytes());
    }
    Err(Error::Run(format!(
        "external {kind}s are a swarm feature: {kind} {name} cannot be used here"
    )))
}
