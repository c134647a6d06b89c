//! Volumes with Docker's "local" driver semantics: a record in the state database and a
//! directory `<root>/volumes/NAME/_data` per volume.
//!
//! Owns: the `volumes` table, the volume directories, the mounts of volumes created with
//! `-o type=..,device=..,o=..`, and the repair that keeps records and directories in step after
//! a kill -9. Which containers use a volume is the `container_mounts` table ([`crate::mounts`]).
//!
//! Crash safety: a directory is made (under a temp name, then renamed) before its record is
//! written; a removal first marks the record `removing`, then moves the directory aside, then
//! deletes the record. [`Engine::repair_volumes`] finishes whatever a killed process left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_model::inspect::VolumeInspect;

use crate::filters::Filters;
use crate::store::VolumeRemoval;
use crate::{Engine, Error, names};

/// Docker 23+ marks anonymous volumes with this label.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// What `volume ls --filter` (`GET /volumes?filters=`) accepts, as dockerd.
pub const LIST_FILTER_KEYS: &[&str] = &["dangling", "driver", "label", "name"];
/// What `volume prune --filter` (`POST /volumes/prune?filters=`) accepts, as dockerd.
pub const PRUNE_FILTER_KEYS: &[&str] = &["all", "label", "label!"];

/// An orphan directory younger than this may belong to a create still in progress.
const ORPHAN_GRACE: Duration = Duration::from_secs(60);

/// One volume, as the state store keeps it.
pub use crate::store::Volume;

/// `volume create` / `POST /volumes/create`.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    /// None: a random 64-hex name.
    pub name: Option<String>,
    /// "" or "local".
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// Docker's rule for volume names.
pub fn validate_name(name: &str) -> Result<(), Error> {
    if names::valid_name(name) {
        return Ok(());
    }
    if name.len() < 2 && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidArgument(format!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )));
    }
    Err(Error::InvalidArgument(format!(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )))
}

fn validate_driver(driver: &str) -> Result<(), Error> {
    match driver {
        "" | "local" => Ok(()),
        other => Err(Error::NotFound(format!(
            "error looking up volume plugin {other}: plugin \"{other}\" not found"
        ))),
    }
}

fn validate_options(options: &BTreeMap<String, String>) -> Result<(), Error> {
    for key in options.keys() {
        if !matches!(key.as_str(), "type" | "device" | "o" | "size") {
            return Err(Error::InvalidArgument(format!(
                "invalid option key: {key:?}"
            )));
        }
    }
    if options.contains_key("device") != options.contains_key("type") {
        return Err(Error::InvalidArgument(
            "missing required option: \"type\" and \"device\" go together".into(),
        ));
    }
    Ok(())
}

/// Docker's volume timestamps: seconds, with the zone.
fn now_seconds() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn random_suffix() -> String {
    hex::encode(&names::random_bytes()[..6])
}

/// Bytes under `dir` (not following symlinks).
pub(crate) fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.path().symlink_metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

impl Volume {
    /// A new volume record for `request` (name already decided).
    pub(crate) fn new(name: String, request: &VolumeCreate, anonymous: bool) -> Volume {
        let mut labels = request.labels.clone();
        if anonymous {
            labels.entry(ANONYMOUS_LABEL.into()).or_default();
        }
        Volume {
            name,
            driver: "local".into(),
            created: now_seconds(),
            labels,
            options: request.options.clone(),
            anonymous,
        }
    }
}

impl Engine {
    fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }

    /// Where a volume's data lives on the host (Docker's `Mountpoint`).
    pub fn volume_mountpoint(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// `volume create`: returns the volume (an existing one by that name, as Docker does).
    pub(crate) fn create_volume_unlogged(&self, request: VolumeCreate) -> Result<Volume, Error> {
        self.repair_volumes();
        validate_driver(&request.driver)?;
        validate_options(&request.options)?;
        // Without a name: a random hex one. Still not an anonymous volume: Docker marks only
        // those made for a container's mount.
        let name = match &request.name {
            Some(name) if !name.is_empty() => {
                validate_name(name)?;
                name.clone()
            }
            _ => names::new_id(),
        };
        if let Some(existing) = self.db.volume(&name)? {
            return Ok(existing);
        }
        let volume = Volume::new(name, &request, false);
        let created_dir = self.ensure_volume_dir(&volume.name)?;
        match self.db.insert_volume(&volume) {
            Ok(true) => Ok(volume),
            Ok(false) => Ok(self.db.volume(&volume.name)?.unwrap_or(volume)),
            Err(e) => {
                if created_dir {
                    let _ = std::fs::remove_dir_all(self.volumes_dir().join(&volume.name));
                }
                Err(e)
            }
        }
    }

    /// Makes `<root>/volumes/NAME/_data` if missing (atomically: built under a temp name, then
    /// renamed). Returns whether it made it.
    pub(crate) fn ensure_volume_dir(&self, name: &str) -> Result<bool, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let data = self.volume_mountpoint(name);
        if data.is_dir() {
            return Ok(false);
        }
        let base = self.volumes_dir();
        let io = |what: &str, e| Error::io(format!("{what} for volume {name}"), e);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o701)
            .create(&base)
            .map_err(|e| io("creating the volumes dir", e))?;
        let final_dir = base.join(name);
        if final_dir.is_dir() {
            // The volume dir exists without `_data` (made by hand, or half-removed): fill it in.
            // A concurrent creation may have just renamed a complete one into place.
            return match std::fs::DirBuilder::new().mode(0o755).create(&data) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && data.is_dir() => {
                    Ok(false)
                }
                Err(e) => Err(io("creating _data", e)),
            };
        }
        let temp = base.join(format!(".tmp-{}", random_suffix()));
        std::fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(temp.join("_data"))
            .map_err(|e| io("creating the dir", e))?;
        if let Err(e) = std::fs::rename(&temp, &final_dir) {
            let _ = std::fs::remove_dir_all(&temp);
            if !data.is_dir() {
                return Err(io("renaming the new dir", e));
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// A volume by name: Docker's "get NAME: no such volume" when missing.
    pub fn volume(&self, name: &str) -> Result<Volume, Error> {
        self.db
            .volume(name)?
            .ok_or_else(|| Error::NotFound(format!("get {name}: no such volume")))
    }

    /// Every volume, by name.
    pub fn list_volumes(&self) -> Result<Vec<Volume>, Error> {
        self.repair_volumes();
        self.db.volumes()
    }

    /// Ids of the containers (running or not) that mount the volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>, Error> {
        self.db.volume_users(name)
    }

    /// Docker's `volume inspect` document.
    pub fn inspect_volume(&self, name: &str) -> Result<VolumeInspect, Error> {
        self.repair_volumes();
        let v = self.volume(name)?;
        Ok(self.volume_inspect(&v))
    }

    /// `berth volume ls` / `GET /volumes`: the volumes passing `filters` (see
    /// [`LIST_FILTER_KEYS`]): `name` (dockerd's match: equal, or an expression found in it),
    /// `driver`, `label` (every one must hold), `dangling` (no container uses it).
    pub fn list_volumes_filtered(&self, filters: &Filters) -> Result<Vec<Volume>, Error> {
        filters.validate(LIST_FILTER_KEYS)?;
        let dangling = filters.bool("dangling")?;
        let mut out = Vec::new();
        for v in self.list_volumes()? {
            if !(filters.matches("name", &v.name)
                && filters.exact("driver", &v.driver)
                && filters.labels_all("label", &v.labels))
            {
                continue;
            }
            if let Some(dangling) = dangling
                && self.volume_users(&v.name)?.is_empty() != dangling
            {
                continue;
            }
            out.push(v);
        }
        Ok(out)
    }

    /// A volume as Docker's API shows it.
    pub fn volume_inspect(&self, v: &Volume) -> VolumeInspect {
        let non_empty = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| m.clone());
        VolumeInspect {
            created_at: v.created.clone(),
            driver: v.driver.clone(),
            labels: non_empty(&v.labels),
            mountpoint: self.volume_mountpoint(&v.name),
            name: v.name.clone(),
            options: non_empty(&v.options),
            scope: "local".into(),
        }
    }

    /// [`Engine::volume_inspect`] as JSON, for the lists that extend it (`system df`).
    pub fn volume_json(&self, v: &Volume) -> serde_json::Value {
        berth_model::inspect::to_document(&self.volume_inspect(v))
    }

    /// `volume rm [-f]`. A volume in use is never removed (not even with force); with force a
    /// missing volume is not an error.
    pub(crate) fn remove_volume_unlogged(&self, name: &str, force: bool) -> Result<(), Error> {
        self.repair_volumes();
        match self.db.mark_volume_removing_if_unused(name)? {
            VolumeRemoval::Marked => {}
            VolumeRemoval::Missing if force => return Ok(()),
            VolumeRemoval::Missing => {
                return Err(Error::NotFound(format!("get {name}: no such volume")));
            }
            VolumeRemoval::InUse(users) => {
                return Err(Error::Conflict(format!(
                    "remove {name}: volume is in use - [{}]",
                    users.join(", ")
                )));
            }
        }
        self.finish_volume_removal(name)
    }

    /// The removal's last steps, for a record already marked `removing`: unmount, move the
    /// directory aside, delete the record, delete the directory.
    pub(crate) fn finish_volume_removal(&self, name: &str) -> Result<(), Error> {
        let dir = self.volumes_dir().join(name);
        // A bind-type volume has the host's directory mounted here: deleting through it would
        // delete the user's files. Never remove while anything is still mounted.
        unmount_all(&dir.join("_data"));
        if is_mounted(&dir.join("_data")) {
            return Err(Error::Internal(format!(
                "removing volume {name}: {} is still mounted",
                dir.join("_data").display()
            )));
        }
        if dir.exists() {
            let trash = self
                .volumes_dir()
                .join(format!(".trash-{}", random_suffix()));
            std::fs::rename(&dir, &trash)
                .map_err(|e| Error::io(format!("removing volume {name}"), e))?;
            self.db.delete_volume(name)?;
            let _ = std::fs::remove_dir_all(&trash);
        } else {
            self.db.delete_volume(name)?;
        }
        Ok(())
    }

    /// `volume prune`: removes unused anonymous volumes (every unused one with `all` or an
    /// `all=true` filter) whose labels pass the `label` / `label!` filters (see
    /// [`PRUNE_FILTER_KEYS`]). Returns the removed names and the bytes reclaimed.
    pub fn prune_volumes(&self, all: bool, filters: &Filters) -> Result<(Vec<String>, u64), Error> {
        filters.validate(PRUNE_FILTER_KEYS)?;
        let all = all || filters.bool("all")? == Some(true);
        let mut removed = Vec::new();
        let mut reclaimed = 0;
        for v in self.list_volumes()? {
            if !(all || v.anonymous || v.labels.contains_key(ANONYMOUS_LABEL)) {
                continue;
            }
            if !filters.labels_match(&v.labels) {
                continue;
            }
            if !self.volume_users(&v.name)?.is_empty() {
                continue;
            }
            let size = disk_usage(&self.volume_mountpoint(&v.name));
            match self.remove_volume(&v.name, false) {
                Ok(()) => {
                    reclaimed += size;
                    removed.push(v.name);
                }
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((removed, reclaimed))
    }

    /// Mounts a volume made with `-o type=..,device=..,o=..` at its `_data` (once; it stays
    /// mounted until the volume is removed).
    pub(crate) fn mount_volume_options(&self, v: &Volume) -> Result<(), Error> {
        let (Some(kind), Some(device)) = (v.options.get("type"), v.options.get("device")) else {
            return Ok(());
        };
        let data = self.volume_mountpoint(&v.name);
        if is_mounted(&data) {
            return Ok(());
        }
        use nix::mount::MsFlags;
        let mut flags = MsFlags::empty();
        let mut data_opts = Vec::new();
        for opt in v
            .options
            .get("o")
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .filter(|o| !o.is_empty())
        {
            match opt {
                "bind" => flags |= MsFlags::MS_BIND,
                "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
                "ro" => flags |= MsFlags::MS_RDONLY,
                "nosuid" => flags |= MsFlags::MS_NOSUID,
                "nodev" => flags |= MsFlags::MS_NODEV,
                "noexec" => flags |= MsFlags::MS_NOEXEC,
                other => data_opts.push(other),
            }
        }
        let data_opts = data_opts.join(",");
        nix::mount::mount(
            Some(device.as_str()),
            &data,
            Some(kind.as_str()),
            flags,
            (!data_opts.is_empty()).then_some(data_opts.as_str()),
        )
        .map_err(|source| Error::Mount {
            context: format!("mounting volume {} ({kind} {device})", v.name),
            source,
        })
    }

    /// Unmounts the `-o` mounts of a container's volumes that no other live container uses,
    /// as Docker's local driver does when a volume's last user stops (a tmpfs volume then
    /// starts empty again).
    pub(crate) fn release_volume_mounts(&self, container_id: &str) {
        let Ok(volumes) = self.db.container_volumes(container_id) else {
            return;
        };
        for name in volumes {
            let Ok(Some(volume)) = self.db.volume(&name) else {
                continue;
            };
            if !volume.options.contains_key("type") {
                continue;
            }
            let used = self
                .db
                .volume_used_while_running(&name, container_id)
                .unwrap_or(true);
            if !used {
                unmount_all(&self.volume_mountpoint(&name));
            }
        }
    }

    /// Puts records and directories back in step after a killed process: finishes removals,
    /// deletes leftover temp/trash dirs, recreates a missing directory for a record, and adopts
    /// a directory without a record (older than [`ORPHAN_GRACE`]) as a volume.
    pub fn repair_volumes(&self) {
        // A container whose shim was killed may be an `--rm` one: removing it (and its
        // anonymous volumes) first gives the truth about which volumes are in use.
        self.repair();
        let removing = self.db.removing_volumes().unwrap_or_default();
        for name in removing {
            if self.volume_users(&name).is_ok_and(|u| u.is_empty()) {
                let _ = self.finish_volume_removal(&name);
            } else {
                let _ = self.db.unmark_volume_removing(&name);
            }
        }
        let Ok(entries) = std::fs::read_dir(self.volumes_dir()) else {
            return;
        };
        let names = self.db.volume_names().unwrap_or_default();
        let mut on_disk = std::collections::HashSet::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            if file_name.starts_with(".trash-") {
                unmount_all(&entry.path().join("_data"));
                if !is_mounted(&entry.path().join("_data")) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            } else if file_name.starts_with(".tmp-") {
                if age > ORPHAN_GRACE {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            } else if names.contains(&file_name) {
                on_disk.insert(file_name);
            } else if age > ORPHAN_GRACE
                && names::valid_name(&file_name)
                && entry.path().join("_data").is_dir()
            {
                let anonymous =
                    file_name.len() == 64 && file_name.chars().all(|c| c.is_ascii_hexdigit());
                let v = Volume::new(file_name, &VolumeCreate::default(), anonymous);
                let _ = self.db.insert_volume(&v);
            }
        }
        for name in names.iter().filter(|n| !on_disk.contains(*n)) {
            let _ = self.ensure_volume_dir(name);
        }
    }
}

/// Whether something is mounted exactly at `path` (per /proc/self/mountinfo: a bind mount
/// from the same filesystem has the same device, so comparing devices is not enough).
fn is_mounted(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| Path::new(&unescape_mountinfo(m)) == path)
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape_mountinfo(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 4 <= bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(value as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Detaches every mount stacked at `path`.
fn unmount_all(path: &Path) {
    for _ in 0..16 {
        if !is_mounted(path) || nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH).is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_at(&dir.path().join("root"), &dir.path().join("run")).unwrap();
        (dir, engine)
    }

    fn named(name: &str) -> VolumeCreate {
        VolumeCreate {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_removal_killed_midway_is_finished_by_the_next_command() {
        let (_dir, engine) = engine();
        engine.create_volume(named("half")).unwrap();
        std::fs::write(engine.volume_mountpoint("half").join("f"), "x").unwrap();
        // Killed right after the record was marked (rm -v's transaction, or volume rm's first step).
        assert_eq!(
            engine.db.mark_volume_removing_if_unused("half").unwrap(),
            VolumeRemoval::Marked
        );
        assert!(engine.list_volumes().unwrap().is_empty());
        assert!(!engine.root.join("volumes/half").exists());
        assert!(engine.db.volume_names().unwrap().is_empty());
        // Killed after the dir was moved aside, before the record went.
        engine.create_volume(named("moved")).unwrap();
        assert_eq!(
            engine.db.mark_volume_removing_if_unused("moved").unwrap(),
            VolumeRemoval::Marked
        );
        std::fs::rename(
            engine.root.join("volumes/moved"),
            engine.root.join("volumes/.trash-x"),
        )
        .unwrap();
        engine.repair_volumes();
        assert!(engine.volume("moved").is_err());
        assert!(!engine.root.join("volumes/.trash-x").exists());
    }

    #[test]
    fn in_use_volumes_survive_rm_force_and_prune() {
        let (_dir, engine) = engine();
        engine.create_volume(named("used")).unwrap();
        let user = crate::store::test_container("c1", "user");
        let mount = crate::store::MountRow {
            destination: "/d".into(),
            volume: engine.db.volume("used").unwrap(),
            spec: "{}".into(),
        };
        engine.db.create_container(&user, &[mount]).unwrap();
        let err = engine.remove_volume("used", true).unwrap_err().to_string();
        assert_eq!(err, "remove used: volume is in use - [c1]");
        assert_eq!(
            engine.prune_volumes(true, &Filters::new()).unwrap().0,
            Vec::<String>::new()
        );
        assert!(engine.volume_mountpoint("used").is_dir());
        engine.db.delete_container("c1", &[]).unwrap();
        assert_eq!(
            engine.prune_volumes(true, &Filters::new()).unwrap().0,
            ["used"]
        );
        assert!(
            engine.remove_volume("used", true).is_ok(),
            "rm -f of a missing volume is fine"
        );
        assert!(engine.remove_volume("used", false).is_err());
    }
}
