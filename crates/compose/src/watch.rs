//! `develop.watch`: which files changed under a rule's path (by polling their modification
//! time and size: no inotify dependency, and a few hundred files cost little), and the `sync`
//! of changed files into a service's running containers through the engine's archive
//! extraction (the call `berth cp` makes), and of deletions by `rm -rf` in them (as Compose).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_engine::Engine;
use berth_engine::container_archive::ExtractOptions;

use crate::containers::{project_containers, service_of};
use crate::error::Error;
use crate::model::{Project, WatchRule};

/// Every watched file under a rule's path: (modified, size).
pub type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

fn ignored(rule: &WatchRule, relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    rule.ignore.iter().any(|i| {
        let i = i.trim_end_matches('/');
        text == i
            || text.starts_with(&format!("{i}/"))
            || relative
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == i)
    })
}

pub fn snapshot(rule: &WatchRule) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![rule.path.clone()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let relative = p.strip_prefix(&rule.path).unwrap_or(Path::new(""));
        if !relative.as_os_str().is_empty() && ignored(rule, relative) {
            continue;
        }
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            out.insert(p, (modified, meta.len()));
        }
    }
    out
}

/// Files added or modified between two snapshots.
pub fn changed(before: &Snapshot, after: &Snapshot) -> Vec<PathBuf> {
    after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect()
}

/// Files there before and gone after.
pub fn removed(before: &Snapshot, after: &Snapshot) -> Vec<PathBuf> {
    before
        .keys()
        .filter(|p| !after.contains_key(*p))
        .cloned()
        .collect()
}

/// Where `file` (under the rule's path) lives in a container.
fn inside(rule: &WatchRule, file: &Path, single_file: bool) -> PathBuf {
    let target = rule.target.as_deref().unwrap_or("/");
    // A rule on one file syncs it to the target itself; a directory's files keep their
    // place under the target.
    if single_file {
        PathBuf::from(target)
    } else {
        let relative = file.strip_prefix(&rule.path).unwrap_or(file);
        Path::new(target).join(relative)
    }
}

/// Deletes `files` (gone from under the rule's path) from each running container of
/// `service`, as Compose does: `rm -rf` run in the container.
pub fn delete(
    engine: &Engine,
    project: &Project,
    service: &str,
    rule: &WatchRule,
    files: &[PathBuf],
) -> Result<(), Error> {
    let single_file = files.first().is_some_and(|f| f == &rule.path);
    let mut cmd = vec!["rm".to_string(), "-rf".to_string()];
    cmd.extend(
        files
            .iter()
            .map(|f| inside(rule, f, single_file).display().to_string()),
    );
    let request = berth_engine::exec::ExecRequest {
        cmd,
        ..Default::default()
    };
    for c in project_containers(engine, &project.name, false)? {
        if service_of(&c) == service {
            engine.exec(&c.id, &request, [None, None, None])?.wait();
        }
    }
    Ok(())
}

/// Copies `files` (under the rule's path) to the rule's target in each running container of
/// `service`; returns the containers' ids.
pub fn sync(
    engine: &Engine,
    project: &Project,
    service: &str,
    rule: &WatchRule,
    files: &[PathBuf],
) -> Result<Vec<String>, Error> {
    let single_file = rule.path.is_file();
    let mut archive = tar::Builder::new(Vec::new());
    for file in files {
        let inside = inside(rule, file, single_file);
        let inside = inside.strip_prefix("/").unwrap_or(&inside);
        archive
            .append_path_with_name(file, inside)
            .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    }
    let bytes = archive
        .into_inner()
        .map_err(|e| Error::io("packing changed files", e))?;
    let mut ids = Vec::new();
    for c in project_containers(engine, &project.name, false)? {
        if service_of(&c) != service {
            continue;
        }
        engine.extract_to_container(&c.id, "/", bytes.as_slice(), ExtractOptions::default())?;
        ids.push(c.id);
    }
    Ok(ids)
}
