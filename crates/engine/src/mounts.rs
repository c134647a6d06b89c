//! A container's mounts: `-v` specs (HostConfig.Binds), `--mount` (HostConfig.Mounts),
//! `--volumes-from` and the image's VOLUMEs, resolved at create time into [`MountPoint`]s
//! stored in the `container_mounts` table; turned into runtime mounts at each start.
//!
//! Owns: Docker's parsing and validation rules for those inputs (with Docker's wording), the
//! `container_mounts` table (which is also "who uses this volume"), and the per-start work:
//! creating a missing `-v` bind source, resolving each destination inside the rootfs without
//! leaving it, and the first-use copy of the image's content into an empty volume.
//!
//! Must not: build OCI mounts itself (berth-runtime does, from plain paths).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use berth_image::clean_abs as clean;

use berth_model::inspect::MountPoint as InspectMount;
use serde::{Deserialize, Serialize};

use crate::store::{ContainerRecord, MountRow};
use crate::types::{CreateRequest, MountSpec};
use crate::volumes::{Volume, VolumeCreate};
use crate::{Engine, Error};

/// One mount of a container, as `inspect` shows it (plus what berth needs to set it up).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MountPoint {
    /// "volume", "bind" or "tmpfs".
    pub kind: String,
    /// The volume's name (volumes only).
    pub name: String,
    /// The host path (binds only; a volume's is its mountpoint).
    pub source: String,
    pub destination: String,
    /// Docker's "Mode": the mode string of a `-v` ("z" for a volume by default).
    pub mode: String,
    pub rw: bool,
    /// Binds: "rprivate" unless asked otherwise.
    pub propagation: String,
    /// `nocopy` / `volume-nocopy`: do not fill an empty volume from the image.
    pub no_copy: bool,
    /// A volume made for this container (`-v /path`, an image VOLUME, `--mount` without source).
    pub anonymous: bool,
    /// `-v` creates a missing bind source; `--mount` refuses it.
    pub create_source: bool,
    /// `bind-nonrecursive`
    pub non_recursive: bool,
    /// tmpfs mount options ("size=65536k,mode=1770").
    pub tmpfs_options: String,
    /// For a named volume created by this mount: its labels and driver options.
    pub volume_labels: BTreeMap<String, String>,
    pub volume_options: BTreeMap<String, String>,
}

const MODES: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "consistent",
    "cached",
    "delegated",
];
const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

fn valid_mode(mode: &str) -> bool {
    let parts: Vec<&str> = mode.split(',').collect();
    parts.iter().all(|p| MODES.contains(p))
        && parts.iter().filter(|p| matches!(**p, "ro" | "rw")).count() <= 1
        && parts.iter().filter(|p| PROPAGATIONS.contains(p)).count() <= 1
}

/// Parses one `-v`/`HostConfig.Binds` entry with Docker's rules: `[SOURCE:]DEST[:MODE]`.
pub fn parse_bind(spec: &str) -> Result<MountPoint, Error> {
    let invalid = || Error::InvalidArgument(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    if spec.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid());
    }
    let (source, destination, mode) = match parts.as_slice() {
        [dest] => ("", *dest, ""),
        [a, b] if !b.starts_with('/') && valid_mode(b) => ("", *a, *b),
        [a, b] => (*a, *b, ""),
        [a, b, c] => (*a, *b, *c),
        _ => return Err(invalid()),
    };
    let kind = if source.starts_with('/') {
        "bind"
    } else {
        "volume"
    };
    let in_spec = |reason: String| {
        Error::InvalidArgument(format!("invalid volume specification: '{spec}': {reason}"))
    };
    if !mode.is_empty() && !valid_mode(mode) {
        return Err(in_spec(format!("invalid mode: {mode}")));
    }
    if !destination.starts_with('/') {
        return Err(in_spec(format!(
            "invalid mount config for type \"{kind}\": invalid mount path: '{destination}' mount path must be absolute"
        )));
    }
    if clean(destination) == "/" {
        return Err(in_spec(format!(
            "invalid mount config for type \"{kind}\": invalid specification: destination can't be '/'"
        )));
    }
    let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
    let propagation = modes
        .iter()
        .find(|m| PROPAGATIONS.contains(m))
        .map(|m| m.to_string());
    let mut mp = MountPoint {
        kind: kind.into(),
        destination: clean(destination),
        mode: mode.to_string(),
        rw: !modes.contains(&"ro"),
        no_copy: modes.contains(&"nocopy"),
        ..Default::default()
    };
    if kind == "bind" {
        if mp.no_copy {
            return Err(in_spec(format!("invalid mode: {mode}")));
        }
        mp.source = clean(source);
        mp.propagation = propagation.unwrap_or_else(|| "rprivate".into());
        mp.create_source = true;
    } else {
        if propagation.is_some() {
            return Err(in_spec(format!(
                "invalid mode: {mode}: propagation applies to bind mounts only"
            )));
        }
        if source.is_empty() {
            mp.anonymous = true;
        } else {
            crate::volumes::validate_name(source)?;
            mp.name = source.to_string();
        }
        if mp.mode.is_empty() {
            mp.mode = "z".into();
        }
    }
    Ok(mp)
}

/// Validates one `HostConfig.Mounts` entry (Docker's daemon-side rules and wording).
pub fn parse_mount_spec(m: &MountSpec) -> Result<MountPoint, Error> {
    let kind = if m.kind.is_empty() {
        "volume"
    } else {
        m.kind.as_str()
    };
    let err = |reason: String| {
        Error::InvalidArgument(format!(
            "invalid mount config for type \"{kind}\": {reason}"
        ))
    };
    if !matches!(kind, "volume" | "bind" | "tmpfs") {
        return Err(Error::InvalidArgument(format!(
            "invalid mount config: mount type unknown: \"{kind}\""
        )));
    }
    if m.target.is_empty() {
        return Err(err("field Target must not be empty".into()));
    }
    if !m.target.starts_with('/') {
        return Err(err(format!(
            "invalid mount path: '{}' mount path must be absolute",
            m.target
        )));
    }
    if clean(&m.target) == "/" {
        return Err(err("invalid specification: destination can't be '/'".into()));
    }
    let mut mp = MountPoint {
        kind: kind.into(),
        destination: clean(&m.target),
        rw: !m.read_only,
        ..Default::default()
    };
    match kind {
        "bind" => {
            if m.volume_options.is_some() {
                return Err(err("VolumeOptions must not be specified".into()));
            }
            if m.tmpfs_options.is_some() {
                return Err(err("TmpfsOptions must not be specified".into()));
            }
            if m.source.is_empty() {
                return Err(err("field Source must not be empty".into()));
            }
            if !m.source.starts_with('/') {
                return Err(err(format!(
                    "invalid mount path: '{}' mount path must be absolute",
                    m.source
                )));
            }
            if std::fs::metadata(&m.source).is_err() {
                return Err(err(format!(
                    "bind source path does not exist: {}",
                    m.source
                )));
            }
            let propagation = m
                .bind_options
                .as_ref()
                .map(|b| b.propagation.clone())
                .unwrap_or_default();
            if !propagation.is_empty() && !PROPAGATIONS.contains(&propagation.as_str()) {
                return Err(err(format!("invalid propagation mode: {propagation}")));
            }
            mp.source = clean(&m.source);
            mp.propagation = if propagation.is_empty() {
                "rprivate".into()
            } else {
                propagation
            };
            mp.non_recursive = m.bind_options.as_ref().is_some_and(|b| b.non_recursive);
        }
        "volume" => {
            if m.bind_options.is_some() {
                return Err(err("BindOptions must not be specified".into()));
            }
            if m.tmpfs_options.is_some() {
                return Err(err("TmpfsOptions must not be specified".into()));
            }
            if m.source.is_empty() {
                mp.anonymous = true;
            } else {
                crate::volumes::validate_name(&m.source)?;
                mp.name = m.source.clone();
            }
            mp.mode = "z".into();
            if let Some(vo) = &m.volume_options {
                mp.no_copy = vo.no_copy;
                mp.volume_labels = vo.labels.clone().unwrap_or_default();
                if let Some(dc) = &vo.driver_config {
                    if !matches!(dc.name.as_str(), "" | "local") {
                        return Err(Error::NotFound(format!(
                            "error looking up volume plugin {0}: plugin \"{0}\" not found",
                            dc.name
                        )));
                    }
                    mp.volume_options = dc.options.clone().unwrap_or_default();
                }
            }
        }
        _ => {
            if !m.source.is_empty() {
                return Err(err("field Source must be empty".into()));
            }
            if m.bind_options.is_some() || m.volume_options.is_some() {
                return Err(err("only TmpfsOptions may be specified".into()));
            }
            let mut options = Vec::new();
            if let Some(t) = &m.tmpfs_options {
                if t.size_bytes < 0 {
                    return Err(err(format!("invalid tmpfs size: {}", t.size_bytes)));
                }
                if t.size_bytes > 0 {
                    options.push(format!("size={}k", (t.size_bytes + 1023) / 1024));
                }
                if t.mode != 0 {
                    options.push(format!("mode={:o}", t.mode));
                }
            }
            mp.tmpfs_options = options.join(",");
        }
    }
    Ok(mp)
}

/// `--volumes-from CONTAINER[:ro|rw]`: (container, mode).
fn parse_volumes_from(spec: &str) -> Result<(&str, Option<bool>), Error> {
    match spec.split_once(':') {
        None => Ok((spec, None)),
        Some((c, "ro")) => Ok((c, Some(false))),
        Some((c, "rw")) => Ok((c, Some(true))),
        Some((_, mode)) => Err(Error::InvalidArgument(format!(
            "invalid mode for volumes-from: {mode}"
        ))),
    }
}

impl Engine {
    /// Every mount a new container gets, checked and decided (anonymous volumes named), with
    /// nothing created yet. Precedence as Docker's: `-v`/`--mount`, then `--volumes-from`,
    /// then the image's VOLUMEs.
    pub(crate) fn plan_mounts(&self, request: &CreateRequest) -> Result<Vec<MountPoint>, Error> {
        let hc = &request.host_config;
        let mut planned: Vec<MountPoint> = Vec::new();
        let mut taken = HashSet::new();
        let mut user = Vec::new();
        for bind in hc.binds.iter().flatten() {
            user.push(parse_bind(bind)?);
        }
        for spec in hc.mounts.iter().flatten() {
            user.push(parse_mount_spec(spec)?);
        }
        // Config.Volumes: `-v /path` and the image's VOLUMEs, all anonymous.
        let mut image = Vec::new();
        for dest in request
            .config
            .volumes
            .iter()
            .flatten()
            .map(|(dest, _)| dest)
        {
            let mp = parse_bind(dest)?;
            if mp.kind != "volume" || !mp.anonymous {
                return Err(Error::InvalidArgument(format!(
                    "invalid volume specification: '{dest}'"
                )));
            }
            image.push(mp);
        }
        for mp in user {
            if !taken.insert(mp.destination.clone()) {
                return Err(Error::InvalidArgument(format!(
                    "Duplicate mount point: {}",
                    mp.destination
                )));
            }
            planned.push(mp);
        }
        for tmpfs in hc.tmpfs.iter().flatten().map(|(dest, _)| clean(dest)) {
            if !taken.insert(tmpfs.clone()) {
                return Err(Error::InvalidArgument(format!(
                    "Duplicate mount point: {tmpfs}"
                )));
            }
        }
        for spec in hc.volumes_from.iter().flatten() {
            let (name, rw) = parse_volumes_from(spec)?;
            let other = self.container(name)?;
            for mut mp in self.container_mounts(&other.id)? {
                if mp.kind == "tmpfs" || !taken.insert(mp.destination.clone()) {
                    continue;
                }
                if let Some(rw) = rw {
                    mp.rw = rw;
                    mp.mode = if rw { "rw".into() } else { "ro".into() };
                }
                // The volume now belongs to both; the new container does not own it.
                mp.anonymous = false;
                mp.no_copy = true;
                planned.push(mp);
            }
        }
        for mp in image {
            if taken.insert(mp.destination.clone()) {
                planned.push(mp);
            }
        }
        for mp in &mut planned {
            if mp.kind == "volume" && mp.name.is_empty() {
                mp.name = crate::names::new_id();
            }
        }
        Ok(planned)
    }

    /// Makes the directories of the volumes a planned container needs that do not exist yet
    /// (before any record, so a crash leaves at most an orphan dir that repair adopts).
    /// Returns the names whose directories this call made.
    pub(crate) fn prepare_volume_dirs(&self, planned: &[MountPoint]) -> Result<Vec<String>, Error> {
        let mut made = Vec::new();
        for mp in planned.iter().filter(|m| m.kind == "volume") {
            match self.ensure_volume_dir(&mp.name) {
                Ok(true) => made.push(mp.name.clone()),
                Ok(false) => {}
                Err(e) => {
                    self.discard_volume_dirs(&made);
                    return Err(e);
                }
            }
        }
        Ok(made)
    }

    pub(crate) fn discard_volume_dirs(&self, names: &[String]) {
        for name in names {
            if self.db.volume(name).ok().flatten().is_none() {
                let _ = std::fs::remove_dir_all(
                    self.volume_mountpoint(name)
                        .parent()
                        .unwrap_or(Path::new("/nonexistent")),
                );
            }
        }
    }

    /// The rows the store keeps of a container's mounts (with the volume each volume mount
    /// needs, created with the container when missing).
    pub(crate) fn mount_rows(&self, planned: &[MountPoint]) -> Result<Vec<MountRow>, Error> {
        planned
            .iter()
            .map(|mp| {
                let volume = (mp.kind == "volume").then(|| {
                    let request = VolumeCreate {
                        name: Some(mp.name.clone()),
                        labels: mp.volume_labels.clone(),
                        options: mp.volume_options.clone(),
                        ..Default::default()
                    };
                    Volume::new(mp.name.clone(), &request, mp.anonymous)
                });
                let spec = serde_json::to_string(mp).map_err(|e| Error::json("", e))?;
                Ok(MountRow {
                    destination: mp.destination.clone(),
                    volume,
                    spec,
                })
            })
            .collect()
    }

    /// A container's mounts, in the order to mount them (parents before children).
    pub fn container_mounts(&self, container_id: &str) -> Result<Vec<MountPoint>, Error> {
        let mut mounts: Vec<MountPoint> = self
            .db
            .mount_specs(container_id)?
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect();
        mounts.sort_by_key(|m| {
            (
                m.destination.split('/').filter(|p| !p.is_empty()).count(),
                m.destination.clone(),
            )
        });
        Ok(mounts)
    }

    /// Deletes a container's record and its mount rows in one transaction; with
    /// `remove_anonymous`, its anonymous volumes that no other container uses are marked for
    /// removal in the same transaction (so a crash cannot leak them) and then removed.
    pub(crate) fn delete_container_and_mounts(
        &self,
        id: &str,
        remove_anonymous: bool,
    ) -> Result<(), Error> {
        let anonymous: Vec<String> = if remove_anonymous {
            self.container_mounts(id)?
                .into_iter()
                .filter(|mp| mp.kind == "volume" && mp.anonymous)
                .map(|mp| mp.name)
                .collect()
        } else {
            Vec::new()
        };
        let doomed = self.db.delete_container(id, &anonymous)?;
        for name in doomed {
            let _ = self.finish_volume_removal(&name);
        }
        Ok(())
    }

    /// Docker's `Mounts` array of a container's inspect document.
    pub fn inspect_mounts(&self, rec: &ContainerRecord) -> Vec<InspectMount> {
        let mut out: Vec<InspectMount> = self
            .container_mounts(&rec.id)
            .unwrap_or_default()
            .iter()
            .map(|m| match m.kind.as_str() {
                "volume" => InspectMount {
                    kind: "volume".into(),
                    name: Some(m.name.clone()),
                    source: self.volume_mountpoint(&m.name).display().to_string(),
                    destination: m.destination.clone(),
                    driver: Some("local".into()),
                    mode: m.mode.clone(),
                    rw: m.rw,
                    propagation: String::new(),
                },
                "bind" => InspectMount {
                    kind: "bind".into(),
                    source: m.source.clone(),
                    destination: m.destination.clone(),
                    mode: m.mode.clone(),
                    rw: m.rw,
                    propagation: m.propagation.clone(),
                    ..Default::default()
                },
                _ => tmpfs_mount(&m.destination, m.rw),
            })
            .collect();
        out.extend(
            rec.config
                .host_config
                .tmpfs
                .iter()
                .flatten()
                .map(|(dest, _)| tmpfs_mount(dest, true)),
        );
        out
    }

    /// The runtime mounts for a start: makes missing `-v` bind sources, resolves destinations
    /// inside `rootfs` (creating them), and fills empty volumes from the image once.
    pub(crate) fn runtime_mounts(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
    ) -> Result<Vec<crate::sandbox::Mount>, Error> {
        use crate::sandbox::Mount;
        let mut out = Vec::new();
        for m in self.container_mounts(&rec.id)? {
            let destination = crate::rootpath::resolve_in_root(rootfs, &m.destination)?;
            let in_rootfs = rootfs.join(destination.trim_start_matches('/'));
            match m.kind.as_str() {
                "volume" => {
                    self.ensure_volume_dir(&m.name)?;
                    let volume = self.volume(&m.name)?;
                    self.mount_volume_options(&volume)?;
                    let data = self.volume_mountpoint(&m.name);
                    if !m.no_copy {
                        // Normally done at create; here for a create that could not.
                        self.populate_volume(&rec.id, &m, &in_rootfs)?;
                    }
                    crate::rootpath::make_mount_point(rootfs, &destination, true)?;
                    out.push(Mount::Bind {
                        source: data,
                        destination,
                        readonly: !m.rw,
                        propagation: "rprivate".into(),
                        recursive: true,
                    });
                }
                "bind" => {
                    let source = Path::new(&m.source);
                    if std::fs::metadata(source).is_err() {
                        if !m.create_source {
                            return Err(Error::InvalidArgument(format!(
                                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                                m.source
                            )));
                        }
                        std::fs::create_dir_all(source).map_err(|e| {
                            Error::io(format!("creating bind source {}", m.source), e)
                        })?;
                    }
                    let is_dir = source.is_dir();
                    crate::rootpath::make_mount_point(rootfs, &destination, is_dir)?;
                    out.push(Mount::Bind {
                        source: source.to_path_buf(),
                        destination,
                        readonly: !m.rw,
                        propagation: m.propagation.clone(),
                        recursive: !m.non_recursive,
                    });
                }
                _ => {
                    crate::rootpath::make_mount_point(rootfs, &destination, true)?;
                    out.push(Mount::Tmpfs {
                        destination,
                        options: m.tmpfs_options.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Docker's copy-up, done when the container is created: each empty volume the container
    /// mounts (without `nocopy`) gets the image's content at its destination. The rootfs is
    /// mounted for it only when some volume needs it.
    pub(crate) fn populate_volumes(&self, rec: &ContainerRecord) -> Result<(), Error> {
        let wanted: Vec<MountPoint> = self
            .container_mounts(&rec.id)?
            .into_iter()
            .filter(|m| m.kind == "volume" && !m.no_copy)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let dir = self.container_dir(&rec.id);
        let lowers = self.images.layer_dirs(&rec.image_id)?;
        // Held by a descriptor only: a client killed while filling the volumes (`run` or
        // `create`, kill -9) leaves no mount behind. Mounted at the container's rootfs, it
        // stayed there with nobody to take it down.
        let held = crate::rootfs::overlay_detached(
            &lowers,
            &dir.join("upper"),
            &dir.join("work"),
            &self.container_run_dir(&rec.id).join("rootfs"),
        )?;
        let rootfs = held.path();
        let result = wanted.iter().try_for_each(|m| {
            self.ensure_volume_dir(&m.name)?;
            // The copy goes where the container will see it: into a `-o` volume's own mount.
            self.mount_volume_options(&self.volume(&m.name)?)?;
            let destination = crate::rootpath::resolve_in_root(&rootfs, &m.destination)?;
            let in_rootfs = rootfs.join(destination.trim_start_matches('/'));
            if in_rootfs.is_file() {
                return Err(Error::InvalidArgument(format!(
                    "cannot mount volume over existing file, file exists {}",
                    m.destination
                )));
            }
            self.populate_volume(&rec.id, m, &in_rootfs)
        });
        drop(held);
        self.release_volume_mounts(&rec.id);
        result
    }

    /// Copies `image_dir` (a path in the mounted rootfs) into the volume when the volume is
    /// empty, and records that this mount had its one chance: a restart after the volume was
    /// emptied keeps it empty, as Docker's.
    fn populate_volume(
        &self,
        container_id: &str,
        m: &MountPoint,
        image_dir: &Path,
    ) -> Result<(), Error> {
        let data = self.volume_mountpoint(&m.name);
        if image_dir.is_dir() && dir_is_empty(&data) {
            crate::copyup::copy_tree(image_dir, &data).map_err(|e| {
                Error::io(
                    format!(
                        "copying the image's {} into volume {}",
                        m.destination, m.name
                    ),
                    e,
                )
            })?;
        }
        self.mark_copied(container_id, m)
    }

    /// Records that a container's volume mount had its one chance at the image's content.
    fn mark_copied(&self, container_id: &str, m: &MountPoint) -> Result<(), Error> {
        let done = MountPoint {
            no_copy: true,
            ..m.clone()
        };
        let spec = serde_json::to_string(&done).map_err(|e| Error::json("", e))?;
        self.db
            .set_mount_spec(container_id, &m.destination, &spec)?;
        Ok(())
    }

    /// (volume name or bind source, destination) of each of a container's mounts, for `ps`.
    pub fn mount_names(&self, container_id: &str) -> Vec<(String, String)> {
        self.container_mounts(container_id)
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                (
                    if m.kind == "volume" { m.name } else { m.source },
                    m.destination,
                )
            })
            .collect()
    }
}

fn dir_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// A tmpfs as inspect shows it: no source, no mode.
fn tmpfs_mount(destination: &str, rw: bool) -> InspectMount {
    InspectMount {
        kind: "tmpfs".into(),
        destination: destination.to_string(),
        rw,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs_follow_docker() {
        let m = parse_bind("data:/srv:ro").unwrap();
        assert_eq!(
            (
                m.kind.as_str(),
                m.name.as_str(),
                m.destination.as_str(),
                m.rw
            ),
            ("volume", "data", "/srv", false)
        );
        let m = parse_bind("/host/dir:/c").unwrap();
        assert_eq!(
            (
                m.kind.as_str(),
                m.source.as_str(),
                m.propagation.as_str(),
                m.rw
            ),
            ("bind", "/host/dir", "rprivate", true)
        );
        let m = parse_bind("/anon").unwrap();
        assert!(m.anonymous && m.kind == "volume");
        let m = parse_bind("/anon:ro").unwrap();
        assert!(m.anonymous && !m.rw);
        let m = parse_bind("v1:/x:nocopy").unwrap();
        assert!(m.no_copy);
        for bad in ["", ":/x", "/a:", "a::/b", "/a:/b:ro:x", "a:b:c:d"] {
            let e = parse_bind(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid volume specification"), "{bad}: {e}");
        }
        assert!(
            parse_bind("v1:rel")
                .unwrap_err()
                .to_string()
                .contains("mount path must be absolute")
        );
        assert!(
            parse_bind("v1:/x:bogus")
                .unwrap_err()
                .to_string()
                .contains("invalid mode: bogus")
        );
        assert!(
            parse_bind("bad/name:/x")
                .unwrap_err()
                .to_string()
                .contains("includes invalid characters")
        );
        assert!(
            parse_bind("/a:/")
                .unwrap_err()
                .to_string()
                .contains("destination can't be '/'")
        );
    }

    #[test]
    fn mount_specs_follow_docker() {
        let bind = |src: &str| MountSpec {
            kind: "bind".into(),
            source: src.into(),
            target: "/x".into(),
            ..Default::default()
        };
        assert_eq!(
            parse_mount_spec(&bind("/nonexistent-berth"))
                .unwrap_err()
                .to_string(),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth"
        );
        assert!(
            parse_mount_spec(&bind("rel"))
                .unwrap_err()
                .to_string()
                .contains("'rel' mount path must be absolute")
        );
        assert!(
            parse_mount_spec(&bind(""))
                .unwrap_err()
                .to_string()
                .contains("field Source must not be empty")
        );
        let tmpfs = MountSpec {
            kind: "tmpfs".into(),
            target: "/t".into(),
            tmpfs_options: Some(crate::types::TmpfsOptions {
                size_bytes: 1 << 20,
                mode: 0o700,
            }),
            ..Default::default()
        };
        assert_eq!(
            parse_mount_spec(&tmpfs).unwrap().tmpfs_options,
            "size=1024k,mode=700"
        );
        let no_target = MountSpec {
            kind: "volume".into(),
            ..Default::default()
        };
        assert!(
            parse_mount_spec(&no_target)
                .unwrap_err()
                .to_string()
                .contains("field Target must not be empty")
        );
    }
}
