//! Resolves `-u name|uid[:group|gid]` against the container's /etc/passwd and /etc/group,
//! as Docker does.

use std::path::Path;

use crate::Error;

pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

fn read_table(rootfs: &Path, file: &str) -> Vec<Vec<String>> {
    // The image's own file; a symlink inside it resolves against the host, so refuse those.
    let path = rootfs.join(file);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => {}
        _ => return Vec::new(),
    }
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(':').map(str::to_string).collect())
        .collect()
}

/// [`resolve`], with `--group-add`'s groups among the supplementary ones (the container's
/// init and its execs alike, as Docker).
pub fn resolve_with_groups(
    rootfs: &Path,
    spec: &str,
    group_add: Option<&[String]>,
) -> Result<ResolvedUser, Error> {
    let mut user = resolve(rootfs, spec)?;
    for gid in added_groups(rootfs, group_add)? {
        if gid != user.gid && !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(user)
}

/// `--group-add`: each group by number, or by name from the container's /etc/group.
fn added_groups(rootfs: &Path, groups: Option<&[String]>) -> Result<Vec<u32>, Error> {
    let Some(groups) = groups.filter(|g| !g.is_empty()) else {
        return Ok(Vec::new());
    };
    let table = read_table(rootfs, "etc/group");
    groups
        .iter()
        .map(|group| match group.parse::<u32>() {
            Ok(gid) => Ok(gid),
            Err(_) => table
                .iter()
                .find(|e| e.first().map(String::as_str) == Some(group.as_str()))
                .and_then(|e| e.get(2))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::CannotRun {
                    message: format!(
                        "unable to find group {group}: no matching entries in group file"
                    ),
                    exit_code: 125,
                }),
        })
        .collect()
}

pub fn resolve(rootfs: &Path, spec: &str) -> Result<ResolvedUser, Error> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_table(rootfs, "etc/passwd");
    let (uid, mut gid, home) = if user.is_empty() {
        (0, 0, "/root".to_string())
    } else if let Ok(uid) = user.parse::<u32>() {
        let entry = passwd
            .iter()
            .find(|e| e.get(2).and_then(|v| v.parse::<u32>().ok()) == Some(uid));
        let gid = entry
            .and_then(|e| e.get(3))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let home = entry
            .and_then(|e| e.get(5))
            .cloned()
            .unwrap_or_else(|| "/".into());
        (uid, gid, home)
    } else {
        let entry = passwd
            .iter()
            .find(|e| e.first().map(String::as_str) == Some(user))
            .ok_or_else(|| Error::CannotRun {
                message: format!("unable to find user {user}: no matching entries in passwd file"),
                exit_code: 125,
            })?;
        let uid = entry.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
        let gid = entry.get(3).and_then(|v| v.parse().ok()).unwrap_or(0);
        (
            uid,
            gid,
            entry.get(5).cloned().unwrap_or_else(|| "/".into()),
        )
    };
    let groups = read_table(rootfs, "etc/group");
    if let Some(group) = group {
        gid = match group.parse::<u32>() {
            Ok(g) => g,
            Err(_) => groups
                .iter()
                .find(|e| e.first().map(String::as_str) == Some(group))
                .and_then(|e| e.get(2))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::CannotRun {
                    message: format!(
                        "unable to find group {group}: no matching entries in group file"
                    ),
                    exit_code: 125,
                })?,
        };
    }
    // Supplementary groups: every group that lists the user by name.
    let name = passwd
        .iter()
        .find(|e| e.get(2).and_then(|v| v.parse::<u32>().ok()) == Some(uid))
        .and_then(|e| e.first().cloned());
    let additional_gids = match name {
        Some(name) => groups
            .iter()
            .filter(|e| e.get(3).is_some_and(|m| m.split(',').any(|m| m == name)))
            .filter_map(|e| e.get(2).and_then(|v| v.parse().ok()))
            .filter(|g| *g != gid)
            .collect(),
        None => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}
