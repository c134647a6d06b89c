//! The kubelet: a Pod becomes berth containers (one sandbox holding the pod's network, IPC and
//! UTS namespaces, then its init and app containers), and their state becomes the Pod's status.
//!
//! Each [`Kubelet::sync_pod`] moves the pod one step on and returns at once: it makes what is
//! missing (the sandbox, the volumes, the next init container once the one before completed,
//! the app containers) and reads the status back. Restarts are the engine's restart policy,
//! so a pod keeps its restartPolicy with no kubelet running; `berth ps` shows its containers
//! under the dockershim's names.

mod container_spec;
mod dns;
mod env;
mod error;
mod images;
mod infra;
mod io;
pub mod names;
mod objects;
pub mod play;
mod probes;
mod quantity;
mod status;
mod volumes;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::containers::ContainerRecord;
use berth_engine::types::State;
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};

pub use dns::CLUSTER_DNS_IP;
pub use error::Error;
pub use infra::{INFRA_COMMAND, run_infra_process};
pub use names::PodIdentity;
pub use objects::{ObjectSet, Objects};

/// Turns pods into containers on this host's engine.
pub struct Kubelet {
    engine: Arc<Engine>,
    objects: Box<dyn Objects>,
    /// Why containers that could not be made wait, by pod uid and container name.
    waiting: RefCell<BTreeMap<String, BTreeMap<String, status::Waiting>>>,
    prober: RefCell<probes::Prober>,
    /// Restarts after a failed liveness probe, by pod uid and container name: the engine's
    /// count is of its restart policy's restarts only.
    probe_restarts: RefCell<BTreeMap<(String, String), i32>>,
    /// The network pods join (empty: the engine's default bridge).
    network: String,
    /// The cluster DNS pods ask first (dnsPolicy ClusterFirst); none under `kube play`.
    cluster_dns: Option<String>,
}

impl Kubelet {
    /// A kubelet with no objects to look up (a pod naming a ConfigMap or Secret then fails).
    pub fn new(engine: Arc<Engine>) -> Kubelet {
        Kubelet::with_objects(engine, Box::new(ObjectSet::default()))
    }

    /// A kubelet that finds the ConfigMaps and Secrets pods name in `objects`.
    pub fn with_objects(engine: Arc<Engine>, objects: Box<dyn Objects>) -> Kubelet {
        Kubelet {
            engine,
            objects,
            waiting: RefCell::default(),
            prober: RefCell::default(),
            probe_restarts: RefCell::default(),
            network: String::new(),
            cluster_dns: None,
        }
    }

    /// Pods made from now on resolve through the cluster DNS at `address` (see [`dns`]).
    pub fn with_cluster_dns(mut self, address: &str) -> Kubelet {
        self.cluster_dns = Some(address.to_string());
        self
    }

    /// Pods made from now on join `network` (a user network: its embedded DNS resolves
    /// container names, as Docker's does only on user networks).
    pub fn with_network(mut self, network: &str) -> Kubelet {
        self.network = network.to_string();
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Make the pod's containers exist and run as the spec says (idempotent); its status now.
    pub fn sync_pod(&self, pod: &Pod) -> Result<PodStatus, Error> {
        let identity = identity_of(pod)?;
        let spec = container_spec::spec_of(pod, &identity)?;
        let mut records = self.records_of(&identity.uid)?;
        let infra = self.ensure_sandbox(pod, &identity, &mut records)?;
        let pod_ip = self.pod_ip(&infra);
        let volumes = volumes::prepare(&self.engine, pod, &identity, self.objects.as_ref())?;
        let ctx = container_spec::Context {
            pod,
            identity: &identity,
            infra_id: &infra.id,
            pod_ip: &pod_ip,
            volumes: &volumes,
            objects: self.objects.as_ref(),
        };
        let mut by_name: BTreeMap<String, ContainerRecord> = records
            .into_iter()
            .filter_map(|r| {
                let name = label(&r, names::CONTAINER_NAME)?.to_string();
                (name != names::INFRA).then_some((name, r))
            })
            .collect();
        let mut initialized = true;
        for c in spec.init_containers.iter().flatten() {
            let rec = self.ensure_container(c, true, &ctx, by_name.get(&c.name))?;
            let done = rec
                .as_ref()
                .is_some_and(|r| r.state == State::Exited && r.exit_code == 0);
            if let Some(rec) = rec {
                by_name.insert(c.name.clone(), rec);
            }
            if !done {
                initialized = false;
                break;
            }
        }
        if initialized {
            for c in &spec.containers {
                if let Some(rec) = self.ensure_container(c, false, &ctx, by_name.get(&c.name))? {
                    by_name.insert(c.name.clone(), rec);
                }
            }
        }
        let ready = if initialized {
            self.run_probes(spec, &identity.uid, &pod_ip, &mut by_name)
        } else {
            BTreeMap::new()
        };
        let waiting = self
            .waiting
            .borrow()
            .get(&identity.uid)
            .cloned()
            .unwrap_or_default();
        let mut status = status::pod_status(&status::Observed {
            spec,
            infra: Some(&infra),
            pod_ip,
            containers: &by_name,
            waiting: &waiting,
            ready: &ready,
        });
        let restarts = self.probe_restarts.borrow();
        for c in status.container_statuses.iter_mut().flatten() {
            c.restart_count += restarts
                .get(&(identity.uid.clone(), c.name.clone()))
                .copied()
                .unwrap_or(0);
        }
        Ok(status)
    }

    /// Runs the due probes of the pod's running app containers: their readiness by name; a
    /// container whose liveness (or startup) probe failed is restarted (stopped, with
    /// restartPolicy Never).
    fn run_probes(
        &self,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        uid: &str,
        pod_ip: &str,
        by_name: &mut BTreeMap<String, ContainerRecord>,
    ) -> BTreeMap<String, bool> {
        let mut ready = BTreeMap::new();
        let target = probes::Target { pod_ip };
        for c in &spec.containers {
            let Some(rec) = by_name.get(&c.name).filter(|r| r.state == State::Running) else {
                continue;
            };
            let verdict = self
                .prober
                .borrow_mut()
                .probe(&self.engine, uid, c, rec, &target);
            if let Some(r) = verdict.ready {
                ready.insert(c.name.clone(), r);
            }
            if verdict.restart {
                let grace = spec.termination_grace_period_seconds.unwrap_or(30);
                let _ = self.engine.stop_container(&rec.id, Some(grace));
                if spec.restart_policy.as_deref() == Some("Never") {
                    if let Ok(rec) = self.engine.container(&rec.id) {
                        by_name.insert(c.name.clone(), rec);
                    }
                } else {
                    // As the kubelet does: a new container (a fresh filesystem), its name's
                    // attempt and the pod's restart count one more; made by the next sync.
                    *self
                        .probe_restarts
                        .borrow_mut()
                        .entry((uid.to_string(), c.name.clone()))
                        .or_default() += 1;
                    if self.engine.remove_container(&rec.id, true).is_ok() {
                        by_name.remove(&c.name);
                    }
                }
            }
        }
        ready
    }

    /// Stop and remove every container of the pod with this uid (grace as
    /// terminationGracePeriodSeconds), then the volumes made for it.
    pub fn remove_pod(&self, uid: &str, grace: Duration) -> Result<(), Error> {
        let records = self.records_of(uid)?;
        let (infra, apps): (Vec<_>, Vec<_>) = records.into_iter().partition(is_infra);
        // Every app container gets its stop signal at once, then the grace period together.
        for rec in apps.iter().filter(|r| r.state.has_shim()) {
            let signal = rec
                .config
                .config
                .stop_signal
                .clone()
                .unwrap_or_else(|| "SIGTERM".into());
            let _ = self.engine.kill_container(&rec.id, &signal);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline
            && apps.iter().any(|r| {
                self.engine
                    .container(&r.id)
                    .is_ok_and(|r| r.state.has_shim())
            })
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        for rec in apps.iter().chain(infra.iter()) {
            match self.engine.remove_container(&rec.id, true) {
                Ok(()) | Err(berth_engine::Error::NotFound(_)) => {}
                Err(e) => {
                    return Err(Error::Engine {
                        context: format!("removing container {}", rec.name),
                        source: Box::new(e),
                    });
                }
            }
        }
        volumes::remove_own(&self.engine, uid)?;
        self.waiting.borrow_mut().remove(uid);
        self.prober.borrow_mut().forget(uid);
        self.probe_restarts
            .borrow_mut()
            .retain(|(u, _), _| u != uid);
        Ok(())
    }

    /// The uids of the pods that have containers here (to reconcile after a restart).
    pub fn pod_uids(&self) -> Result<Vec<String>, Error> {
        let mut uids: Vec<String> = self
            .engine
            .list_containers(true)
            .map_err(Error::engine("listing containers"))?
            .into_iter()
            .filter_map(|r| r.config.config.labels?.remove(names::POD_UID))
            .collect();
        uids.sort();
        uids.dedup();
        Ok(uids)
    }

    /// The containers of pod `uid`, the infra container among them.
    pub fn records_of(&self, uid: &str) -> Result<Vec<ContainerRecord>, Error> {
        Ok(self
            .engine
            .list_containers(true)
            .map_err(Error::engine("listing containers"))?
            .into_iter()
            .filter(|r| label(r, names::POD_UID) == Some(uid))
            .collect())
    }

    /// The running infra container of the pod: made (or made again, with everything of the
    /// pod, when it died: its namespaces went with it) and started.
    fn ensure_sandbox(
        &self,
        pod: &Pod,
        identity: &PodIdentity,
        records: &mut Vec<ContainerRecord>,
    ) -> Result<ContainerRecord, Error> {
        if let Some(infra) = records.iter().find(|r| is_infra(r)) {
            if infra.state == State::Running {
                return Ok(infra.clone());
            }
            for rec in records.drain(..) {
                let _ = self.engine.remove_container(&rec.id, true);
            }
        }
        infra::ensure_image(&self.engine)?;
        let mut request = container_spec::infra_request(pod, identity, &self.network)?;
        if let Some(cluster_dns) = &self.cluster_dns {
            let spec = container_spec::spec_of(pod, identity)?;
            dns::apply(&mut request, spec, &identity.namespace, cluster_dns);
        }
        let name = identity.infra_name();
        let id = self
            .engine
            .create_container(request, Some(&name))
            .map_err(Error::engine(format!("creating {name}")))?;
        if let Err(e) = self.engine.start_container(&id, None) {
            let _ = self.engine.remove_container(&id, true);
            return Err(Error::Engine {
                context: format!("starting {name}"),
                source: Box::new(e),
            });
        }
        self.engine
            .container(&id)
            .map_err(Error::engine(format!("reading {name}")))
    }

    /// The infra container's address on its network (empty with the host's network).
    fn pod_ip(&self, infra: &ContainerRecord) -> String {
        self.engine
            .inspect_container(&infra.id)
            .ok()
            .and_then(|i| {
                i.network_settings
                    .networks
                    .values()
                    .map(|n| n.ip_address.clone())
                    .find(|ip| !ip.is_empty())
            })
            .unwrap_or_default()
    }

    /// Container `c`, made and started if it has no record yet (or started if only created).
    /// None when it cannot be made now; the reason is kept for the status.
    fn ensure_container(
        &self,
        c: &Container,
        init: bool,
        ctx: &container_spec::Context<'_>,
        existing: Option<&ContainerRecord>,
    ) -> Result<Option<ContainerRecord>, Error> {
        let uid = &ctx.identity.uid;
        // A container made from another spec (a new image) is made again, as the kubelet does.
        let existing = match existing {
            Some(rec)
                if label(rec, names::CONTAINER_HASH) != Some(&container_spec::spec_hash(c)) =>
            {
                let grace = container_spec::spec_of(ctx.pod, ctx.identity)?
                    .termination_grace_period_seconds
                    .unwrap_or(30);
                if rec.state.has_shim() {
                    let _ = self.engine.stop_container(&rec.id, Some(grace));
                }
                self.engine
                    .remove_container(&rec.id, true)
                    .map_err(Error::engine(format!("removing {}", rec.name)))?;
                None
            }
            other => other,
        };
        if let Some(rec) = existing {
            if rec.state == State::Created {
                self.start(&rec.id);
                return Ok(self.engine.container(&rec.id).ok());
            }
            return Ok(Some(rec.clone()));
        }
        let image = c.image.clone().unwrap_or_default();
        if let Err(waiting) = images::ensure(&self.engine, &image, c.image_pull_policy.as_deref()) {
            self.set_waiting(uid, &c.name, Some(waiting));
            return Ok(None);
        }
        let request = match container_spec::container_request(c, init, ctx) {
            Ok(request) => request,
            Err(Error::InvalidPod { message, .. }) => {
                self.set_waiting(
                    uid,
                    &c.name,
                    Some(status::Waiting {
                        reason: "CreateContainerConfigError".into(),
                        message,
                    }),
                );
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let attempt = self
            .probe_restarts
            .borrow()
            .get(&(uid.clone(), c.name.clone()))
            .copied()
            .unwrap_or(0);
        let name = ctx.identity.container_name(&c.name, attempt.max(0) as u32);
        let id = match self.engine.create_container(request, Some(&name)) {
            Ok(id) => id,
            Err(e) => {
                self.set_waiting(
                    uid,
                    &c.name,
                    Some(status::Waiting {
                        reason: "CreateContainerError".into(),
                        message: e.to_string(),
                    }),
                );
                return Ok(None);
            }
        };
        self.set_waiting(uid, &c.name, None);
        self.start(&id);
        Ok(self.engine.container(&id).ok())
    }

    /// Starts a container; a start that fails is in its record (exit code and error), which
    /// the status reports as the container's termination.
    fn start(&self, id: &str) {
        let _ = self.engine.start_container(id, None);
    }

    fn set_waiting(&self, uid: &str, container: &str, waiting: Option<status::Waiting>) {
        let mut all = self.waiting.borrow_mut();
        let pod = all.entry(uid.to_string()).or_default();
        match waiting {
            Some(w) => {
                pod.insert(container.to_string(), w);
            }
            None => {
                pod.remove(container);
            }
        }
    }
}

fn label<'a>(rec: &'a ContainerRecord, key: &str) -> Option<&'a str> {
    rec.config
        .config
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

fn is_infra(rec: &ContainerRecord) -> bool {
    label(rec, names::CONTAINER_NAME) == Some(names::INFRA)
}

/// The pod's name, namespace ("default" when unset) and uid, which its containers carry.
pub fn identity_of(pod: &Pod) -> Result<PodIdentity, Error> {
    let meta = &pod.metadata;
    let name = meta
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid("", "metadata.name: Required value"))?;
    let uid = meta
        .uid
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::invalid(&name, "metadata.uid: Required value"))?;
    Ok(PodIdentity {
        name,
        namespace: meta
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
        uid,
    })
}
