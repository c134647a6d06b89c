//! `berth kube play FILE` (podman's verb, no server): the file's ConfigMaps and Secrets are held
//! for its pods, its PersistentVolumeClaims become named volumes, its Pods, Deployments
//! (`replicas` pods named `NAME-pod`, `NAME-pod-1`, ...), DaemonSets and Jobs (one pod each) are synced by the [`Kubelet`] until
//! their init containers completed and their app containers started. Everything is read and
//! checked before the first thing is made. `down` removes what `play` of the file made.

pub mod documents;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::volumes::VolumeCreate;
use k8s_openapi::api::core::v1::{Pod, PodStatus};

use super::{Error, Kubelet, ObjectSet, Objects, names};
use documents::{Document, DocumentError};

/// Set on the volume of a claim that `kube play` made (its `down` removes it).
pub const CLAIM_LABEL: &str = "io.berth.kube.claim";

#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{0}")]
    Exists(String),
    #[error(transparent)]
    Kubelet(#[from] Error),
}

/// What `play` made of one pod.
#[derive(Debug, Clone)]
pub struct PlayedPod {
    pub name: String,
    /// The infra container's id: the pod's id.
    pub id: String,
    /// Its init and app containers' ids.
    pub containers: Vec<String>,
    pub status: PodStatus,
}

impl PlayedPod {
    /// What is wrong with a pod that is not Running: its phase, and each container that
    /// terminated with an error or waits for a reason other than being created.
    pub fn problem(&self) -> Option<String> {
        let status = &self.status;
        let phase = status.phase.as_deref().unwrap_or("Unknown");
        let mut problems = Vec::new();
        for c in status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
        {
            let Some(state) = &c.state else { continue };
            if let Some(t) = state.terminated.as_ref().filter(|t| t.exit_code != 0) {
                let reason = t.reason.as_deref().unwrap_or("Error");
                problems.push(format!(
                    "container {} terminated ({reason}, exit code {})",
                    c.name, t.exit_code
                ));
            }
            if let Some(w) = &state.waiting
                && let Some(reason) = w.reason.as_deref().filter(|r| *r != "ContainerCreating")
            {
                let message = w.message.as_deref().unwrap_or_default();
                problems.push(format!(
                    "container {} waiting ({reason}): {message}",
                    c.name
                ));
            }
        }
        if phase == "Running" || (phase == "Succeeded" && problems.is_empty()) {
            return None;
        }
        Some(if problems.is_empty() {
            format!("phase {phase}")
        } else {
            format!("phase {phase}: {}", problems.join("; "))
        })
    }
}

/// What `play` made.
#[derive(Debug, Clone, Default)]
pub struct Played {
    pub pods: Vec<PlayedPod>,
    /// The claims' volumes it made.
    pub volumes: Vec<String>,
    /// Documents of kinds it skipped, and their lines.
    pub skipped: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Copy)]
pub struct PlayOptions {
    /// Remove what an earlier play of the same file made first.
    pub replace: bool,
    /// How long to wait for init containers to complete and app containers to start.
    pub wait: Duration,
}

/// The file's contents, checked, and nothing made yet.
struct Plan {
    objects: ObjectSet,
    pods: Vec<(usize, Pod)>,
    claims: Vec<String>,
    skipped: Vec<(String, usize)>,
}

/// `kube play`: the objects of `text` (the contents of `file`) made and started.
pub fn play(
    engine: Arc<Engine>,
    file: &str,
    text: &str,
    options: PlayOptions,
) -> Result<Played, PlayError> {
    let plan = plan(file, text)?;
    let kubelet = Kubelet::with_objects(engine.clone(), Box::new(plan.objects.clone()));
    let mut existing = Vec::new();
    for (_, pod) in &plan.pods {
        let identity = identity_without_uid(pod);
        existing.extend(pod_uids_named(&kubelet, &identity.0, &identity.1)?);
    }
    if !existing.is_empty() {
        if !options.replace {
            let names: Vec<String> = plan
                .pods
                .iter()
                .map(|(_, p)| p.metadata.name.clone().unwrap_or_default())
                .filter(|n| {
                    pod_uids_named(&kubelet, n, "").is_ok_and(|u| !u.is_empty())
                        || pod_uids_named(&kubelet, n, "default").is_ok_and(|u| !u.is_empty())
                })
                .collect();
            return Err(PlayError::Exists(format!(
                "{file}: pod {} already exists (use --replace, or kube down first)",
                names.join(", ")
            )));
        }
        for uid in existing {
            kubelet.remove_pod(&uid, Duration::from_secs(10))?;
        }
    }
    let mut played = Played {
        skipped: plan.skipped.clone(),
        ..Default::default()
    };
    for claim in &plan.claims {
        if engine.volume(claim).is_err() {
            engine
                .create_volume(VolumeCreate {
                    name: Some(claim.clone()),
                    driver: String::new(),
                    labels: BTreeMap::from([(CLAIM_LABEL.to_string(), claim.clone())]),
                    options: BTreeMap::new(),
                })
                .map_err(Error::engine(format!("creating volume {claim}")))?;
            played.volumes.push(claim.clone());
        }
    }
    for (_, pod) in &plan.pods {
        let status = sync_until_settled(&kubelet, pod, options.wait)?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let records = kubelet.records_of(&uid)?;
        let (infra, containers): (Vec<_>, Vec<_>) = records.into_iter().partition(super::is_infra);
        played.pods.push(PlayedPod {
            name: pod.metadata.name.clone().unwrap_or_default(),
            id: infra.first().map(|r| r.id.clone()).unwrap_or_default(),
            containers: containers.into_iter().map(|r| r.id).collect(),
            status,
        });
    }
    Ok(played)
}

/// What `down` removed.
#[derive(Debug, Clone, Default)]
pub struct Downed {
    /// The pods' names and ids (infra containers).
    pub pods: Vec<(String, String)>,
    pub volumes: Vec<String>,
}

/// `kube down` / `kube play --down`: the pods of the file's Pods and workloads removed,
/// and the volumes of its claims that `play` made.
pub fn down(engine: Arc<Engine>, file: &str, text: &str) -> Result<Downed, PlayError> {
    let plan = plan(file, text)?;
    let kubelet = Kubelet::new(engine.clone());
    let mut downed = Downed::default();
    for (_, pod) in &plan.pods {
        let (name, namespace) = identity_without_uid(pod);
        for uid in pod_uids_named(&kubelet, &name, &namespace)? {
            let id = kubelet
                .records_of(&uid)?
                .into_iter()
                .find(super::is_infra)
                .map(|r| r.id)
                .unwrap_or_default();
            let grace = pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30)
                .max(0) as u64;
            kubelet.remove_pod(&uid, Duration::from_secs(grace))?;
            downed.pods.push((name.clone(), id));
        }
    }
    for claim in &plan.claims {
        let made_by_play = engine
            .volume(claim)
            .is_ok_and(|v| v.labels.get(CLAIM_LABEL) == Some(claim));
        if made_by_play {
            engine
                .remove_volume(claim, true)
                .map_err(Error::engine(format!("removing volume {claim}")))?;
            downed.volumes.push(claim.clone());
        }
    }
    Ok(downed)
}

fn identity_without_uid(pod: &Pod) -> (String, String) {
    (
        pod.metadata.name.clone().unwrap_or_default(),
        pod.metadata
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
    )
}

/// The uids of the pods here named `name` in `namespace` (any namespace when empty).
fn pod_uids_named(kubelet: &Kubelet, name: &str, namespace: &str) -> Result<Vec<String>, Error> {
    let mut uids: Vec<String> = kubelet
        .engine()
        .list_containers(true)
        .map_err(Error::engine("listing containers"))?
        .into_iter()
        .filter(|r| {
            super::label(r, names::POD_NAME) == Some(name)
                && (namespace.is_empty()
                    || super::label(r, names::POD_NAMESPACE) == Some(namespace))
        })
        .filter_map(|r| super::label(&r, names::POD_UID).map(str::to_string))
        .collect();
    uids.sort();
    uids.dedup();
    Ok(uids)
}

/// Syncs the pod until its init containers completed and each app container started, or
/// something stopped it (a failed pod, a container that cannot be made), or `wait` passed.
fn sync_until_settled(kubelet: &Kubelet, pod: &Pod, wait: Duration) -> Result<PodStatus, Error> {
    let deadline = Instant::now() + wait;
    loop {
        let status = kubelet.sync_pod(pod)?;
        if settled(&status) || Instant::now() >= deadline {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn settled(status: &PodStatus) -> bool {
    if matches!(status.phase.as_deref(), Some("Failed" | "Succeeded")) {
        return true;
    }
    let waiting_reasons: Vec<&str> = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .filter_map(|s| s.state.as_ref()?.waiting.as_ref()?.reason.as_deref())
        .collect();
    if waiting_reasons.iter().any(|r| *r != "ContainerCreating") {
        return true;
    }
    let initialized = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Initialized" && c.status == "True");
    initialized && waiting_reasons.is_empty()
}

/// Reads and checks the whole file: nothing is made when any document is wrong.
fn plan(file: &str, text: &str) -> Result<Plan, DocumentError> {
    let mut plan = Plan {
        objects: ObjectSet::default(),
        pods: Vec::new(),
        claims: Vec::new(),
        skipped: Vec::new(),
    };
    for (line, document) in documents::parse(file, text)? {
        match document {
            Document::Pod(pod) => plan.pods.push((line, with_uid(*pod))),
            Document::Workload(workload) => {
                let name = workload.metadata.name.clone().unwrap_or_default();
                for replica in 0..workload.replicas.max(0) {
                    let mut metadata = workload.template.metadata.clone().unwrap_or_default();
                    // podman's names: the first `NAME-pod`, then numbered.
                    metadata.name = Some(match replica {
                        0 => format!("{name}-pod"),
                        n => format!("{name}-pod-{n}"),
                    });
                    metadata.namespace = workload.metadata.namespace.clone();
                    let pod = Pod {
                        metadata,
                        spec: workload.template.spec.clone(),
                        status: None,
                    };
                    plan.pods.push((line, with_uid(pod)));
                }
            }
            Document::ConfigMap(map) => plan.objects.add_config_map(*map),
            Document::Secret(secret) => plan.objects.add_secret(*secret),
            Document::PersistentVolumeClaim(claim) => {
                let name = claim.metadata.name.clone().unwrap_or_default();
                berth_engine::volumes::validate_name(&name).map_err(|e| DocumentError {
                    file: file.into(),
                    line: 1,
                    column: 1,
                    message: format!("PersistentVolumeClaim {name:?}: {e}"),
                })?;
                plan.claims.push(name);
            }
            Document::Skipped { kind, line } => plan.skipped.push((kind, line)),
        }
    }
    for (line, pod) in &plan.pods {
        check_pod(pod, &plan.objects).map_err(|message| DocumentError {
            file: file.into(),
            line: *line,
            column: 1,
            message,
        })?;
    }
    Ok(plan)
}

/// A pod made from a file gets a fresh uid, as the API server gives one.
fn with_uid(mut pod: Pod) -> Pod {
    pod.metadata.uid = Some(new_uid());
    pod
}

/// A random (version 4) UUID.
fn new_uid() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// What the API server's validation would refuse of a pod, and references to objects the
/// file does not hold.
fn check_pod(pod: &Pod, objects: &ObjectSet) -> Result<(), String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    if !dns_subdomain(&name) {
        return Err(format!(
            "Pod {name:?}: metadata.name: Invalid value: a lowercase RFC 1123 subdomain is required"
        ));
    }
    let namespace = identity_without_uid(pod).1;
    let Some(spec) = &pod.spec else {
        return Err(format!("Pod {name:?}: spec: Required value"));
    };
    if spec.containers.is_empty() {
        return Err(format!("Pod {name:?}: spec.containers: Required value"));
    }
    let volumes: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    let mut seen = Vec::new();
    for (field, c) in spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| ("initContainers", c))
        .chain(spec.containers.iter().map(|c| ("containers", c)))
    {
        let at = format!("Pod {name:?}: spec.{field}[{}]", c.name);
        if !dns_label(&c.name) {
            return Err(format!("{at}.name: Invalid value: {:?}", c.name));
        }
        if seen.contains(&c.name) {
            return Err(format!("{at}.name: Duplicate value: {:?}", c.name));
        }
        seen.push(c.name.clone());
        if c.image.as_deref().is_none_or(str::is_empty) {
            return Err(format!("{at}.image: Required value"));
        }
        for m in c.volume_mounts.iter().flatten() {
            if !volumes.contains(&m.name.as_str()) {
                return Err(format!("{at}.volumeMounts.name: Not found: {:?}", m.name));
            }
        }
        for var in c.env.iter().flatten() {
            let Some(from) = &var.value_from else {
                continue;
            };
            if let Some(r) = &from.config_map_key_ref
                && r.optional != Some(true)
                && objects.config_map(&namespace, &r.name).is_none()
            {
                return Err(format!(
                    "{at}.env[{}]: configmap {:?} not found in the file",
                    var.name, r.name
                ));
            }
            if let Some(r) = &from.secret_key_ref
                && r.optional != Some(true)
                && objects.secret(&namespace, &r.name).is_none()
            {
                return Err(format!(
                    "{at}.env[{}]: secret {:?} not found in the file",
                    var.name, r.name
                ));
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map
            && cm.optional != Some(true)
            && objects.config_map(&namespace, &cm.name).is_none()
        {
            return Err(format!(
                "Pod {name:?}: volume {}: configmap {:?} not found in the file",
                v.name, cm.name
            ));
        }
    }
    Ok(())
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(dns_label)
}
