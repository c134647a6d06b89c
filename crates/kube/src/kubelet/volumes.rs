//! A pod's volumes as berth mounts: emptyDir (a volume of the pod's own, or a tmpfs for
//! `medium: Memory`), hostPath (a bind), persistentVolumeClaim (the named volume of the
//! claim), configMap and secret (a volume of the pod's own holding the entries as files).

use std::collections::BTreeMap;

use berth_engine::Engine;
use berth_engine::types::{MountSpec, TmpfsOptions};
use berth_engine::volumes::VolumeCreate;
use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};

use super::objects::{Objects, config_map_entries, secret_entries};
use super::{Error, PodIdentity, names};

/// What one pod volume is on this host.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A berth volume (the pod's own or a claim's).
    Named(String),
    /// The pod's own volume holding a configMap's or secret's files: always mounted read-only,
    /// as Kubernetes mounts them.
    Files(String),
    /// A host directory.
    Bind(String),
    Tmpfs(i64),
}

/// The pod's volumes, made: by volume name.
pub struct PodVolumes {
    sources: BTreeMap<String, Source>,
}

/// Makes (or finds) every volume of the pod; entries of configMap and secret volumes are
/// written (again) each time, as the kubelet refreshes them.
pub fn prepare(
    engine: &Engine,
    pod: &Pod,
    identity: &PodIdentity,
    objects: &dyn Objects,
) -> Result<PodVolumes, Error> {
    let mut sources = BTreeMap::new();
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.clone());
    for volume in volumes.iter().flatten() {
        let source = prepare_one(engine, volume, identity, objects)?;
        sources.insert(volume.name.clone(), source);
    }
    Ok(PodVolumes { sources })
}

fn prepare_one(
    engine: &Engine,
    volume: &Volume,
    identity: &PodIdentity,
    objects: &dyn Objects,
) -> Result<Source, Error> {
    let pod = &identity.name;
    if let Some(dir) = &volume.empty_dir {
        if dir.medium.as_deref() == Some("Memory") {
            let size = dir
                .size_limit
                .as_ref()
                .and_then(|q| super::quantity::parse(&q.0))
                .unwrap_or(0.0);
            return Ok(Source::Tmpfs(size as i64));
        }
        return Ok(Source::Named(own_volume(engine, identity, &volume.name)?));
    }
    if let Some(host) = &volume.host_path {
        if matches!(host.type_.as_deref(), Some("DirectoryOrCreate")) {
            std::fs::create_dir_all(&host.path).map_err(|source| Error::Io {
                context: format!("creating hostPath {}", host.path),
                source,
            })?;
        }
        return Ok(Source::Bind(host.path.clone()));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let Some(object) = objects.persistent_volume_claim(&identity.namespace, &claim.claim_name)
        else {
            return Ok(Source::Named(claim.claim_name.clone()));
        };
        // Under the API the pod waits (Pending) until its claim is bound to a volume.
        let bound = object.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        return match object.spec.and_then(|s| s.volume_name).filter(|_| bound) {
            Some(name) => Ok(Source::Named(name)),
            None => Err(Error::invalid(
                pod,
                format!(
                    "volume {}: persistentvolumeclaim \"{}\" is not bound",
                    volume.name, claim.claim_name
                ),
            )),
        };
    }
    let ns = &identity.namespace;
    let (entries, items, default_mode) = if let Some(cm) = &volume.config_map {
        match objects.config_map(ns, &cm.name) {
            Some(map) => (config_map_entries(&map), cm.items.clone(), cm.default_mode),
            None if cm.optional == Some(true) => (BTreeMap::new(), None, None),
            None => {
                return Err(Error::invalid(
                    pod,
                    format!(
                        "volume {}: configmap \"{}\" not found",
                        volume.name, cm.name
                    ),
                ));
            }
        }
    } else if let Some(s) = &volume.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        match objects.secret(ns, &name) {
            Some(secret) => (secret_entries(&secret), s.items.clone(), s.default_mode),
            None if s.optional == Some(true) => (BTreeMap::new(), None, None),
            None => {
                return Err(Error::invalid(
                    pod,
                    format!("volume {}: secret \"{name}\" not found", volume.name),
                ));
            }
        }
    } else {
        return Err(Error::invalid(
            pod,
            format!(
                "volume {}: only emptyDir, hostPath, persistentVolumeClaim, configMap and secret volumes are supported",
                volume.name
            ),
        ));
    };
    let name = own_volume(engine, identity, &volume.name)?;
    write_entries(engine, &name, &entries, items.as_deref(), default_mode)?;
    Ok(Source::Files(name))
}

/// The pod's own volume for `volume` (labelled with the pod's uid, removed with the pod).
fn own_volume(engine: &Engine, identity: &PodIdentity, volume: &str) -> Result<String, Error> {
    let name = identity.volume_name(volume);
    if engine.volume(&name).is_ok() {
        return Ok(name);
    }
    let labels = BTreeMap::from([
        (names::POD_UID.to_string(), identity.uid.clone()),
        (names::POD_NAME.to_string(), identity.name.clone()),
        (names::POD_NAMESPACE.to_string(), identity.namespace.clone()),
    ]);
    engine
        .create_volume(VolumeCreate {
            name: Some(name.clone()),
            driver: String::new(),
            labels,
            options: BTreeMap::new(),
        })
        .map_err(Error::engine(format!("creating volume {name}")))?;
    Ok(name)
}

/// Writes a configMap's or secret's entries (all, or the `items` chosen) into volume `name`.
fn write_entries(
    engine: &Engine,
    name: &str,
    entries: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
) -> Result<(), Error> {
    let dir = engine.volume_mountpoint(name);
    let files: Vec<(String, &Vec<u8>, Option<i32>)> = match items {
        Some(items) => items
            .iter()
            .filter_map(|i| entries.get(&i.key).map(|v| (i.path.clone(), v, i.mode)))
            .collect(),
        None => entries.iter().map(|(k, v)| (k.clone(), v, None)).collect(),
    };
    for (path, data, mode) in files {
        if path.split('/').any(|part| part == "..") {
            continue;
        }
        let file = dir.join(path.trim_start_matches('/'));
        let io = |source| Error::Io {
            context: format!("writing {}", file.display()),
            source,
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&file, data).map_err(io)?;
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.or(default_mode).unwrap_or(0o644) as u32;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    }
    Ok(())
}

impl PodVolumes {
    /// Container `c`'s mounts.
    pub fn mounts(&self, pod: &str, c: &Container) -> Result<Vec<MountSpec>, Error> {
        let mut mounts = Vec::new();
        for m in c.volume_mounts.iter().flatten() {
            let Some(source) = self.sources.get(&m.name) else {
                return Err(Error::invalid(
                    pod,
                    format!(
                        "container {}: volumeMount {}: no volume of that name",
                        c.name, m.name
                    ),
                ));
            };
            let sub_path = m.sub_path.clone().filter(|s| !s.is_empty());
            let read_only = m.read_only == Some(true);
            let mount = match source {
                Source::Named(name) | Source::Files(name) => {
                    if sub_path.is_some() {
                        return Err(Error::invalid(
                            pod,
                            format!(
                                "container {}: volumeMount {}: subPath is supported on hostPath volumes only",
                                c.name, m.name
                            ),
                        ));
                    }
                    MountSpec {
                        kind: "volume".into(),
                        source: name.clone(),
                        target: m.mount_path.clone(),
                        read_only: read_only || matches!(source, Source::Files(_)),
                        ..Default::default()
                    }
                }
                Source::Bind(path) => MountSpec {
                    kind: "bind".into(),
                    source: match &sub_path {
                        Some(sub) => format!("{}/{}", path.trim_end_matches('/'), sub),
                        None => path.clone(),
                    },
                    target: m.mount_path.clone(),
                    read_only,
                    ..Default::default()
                },
                Source::Tmpfs(size) => MountSpec {
                    kind: "tmpfs".into(),
                    target: m.mount_path.clone(),
                    read_only,
                    tmpfs_options: Some(TmpfsOptions {
                        size_bytes: *size,
                        mode: 0,
                    }),
                    ..Default::default()
                },
            };
            mounts.push(mount);
        }
        Ok(mounts)
    }
}

/// Removes the volumes the kubelet made for pod `uid` (never a claim's).
pub fn remove_own(engine: &Engine, uid: &str) -> Result<(), Error> {
    let volumes = engine
        .list_volumes()
        .map_err(Error::engine("listing volumes"))?;
    for volume in volumes {
        if volume.labels.get(names::POD_UID).map(String::as_str) == Some(uid) {
            engine
                .remove_volume(&volume.name, true)
                .map_err(Error::engine(format!("removing volume {}", volume.name)))?;
        }
    }
    Ok(())
}
