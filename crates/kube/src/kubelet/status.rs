//! The pod's status as Kubernetes reports it, read back from its containers' records: phase,
//! conditions, pod IP, and each container's state (waiting, running, terminated) with the
//! reasons `kubectl get pods` shows.

use std::collections::BTreeMap;

use berth_engine::containers::ContainerRecord;
use berth_engine::types::State;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, PodCondition, PodIP, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Why a container that has no record yet waits (an image it may not pull, a bad env).
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

/// What the status is computed from.
pub struct Observed<'a> {
    pub spec: &'a PodSpec,
    pub infra: Option<&'a ContainerRecord>,
    pub pod_ip: String,
    /// The pod's containers' records by container name.
    pub containers: &'a BTreeMap<String, ContainerRecord>,
    /// Why containers without a record wait, by container name.
    pub waiting: &'a BTreeMap<String, Waiting>,
    /// Readiness probe results by container name (no entry: no probe, ready when running).
    pub ready: &'a BTreeMap<String, bool>,
}

pub fn time(rfc3339: &str) -> Option<Time> {
    if rfc3339.is_empty() || rfc3339.starts_with("0001-") {
        return None;
    }
    rfc3339.parse().ok().map(Time)
}

/// Whether the container's restart policy will start it again after it exited `code`.
pub fn will_restart(rec: &ContainerRecord) -> bool {
    rec.state == State::Restarting
        || (rec.state == State::Exited && rec.restart_wanted(rec.exit_code))
}

fn container_status(
    c: &Container,
    rec: Option<&ContainerRecord>,
    waiting: Option<&Waiting>,
    ready: Option<bool>,
) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    let Some(rec) = rec else {
        let (reason, message) = match waiting {
            Some(w) => (w.reason.clone(), Some(w.message.clone())),
            None => ("ContainerCreating".to_string(), None),
        };
        return ContainerStatus {
            name: c.name.clone(),
            image,
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason),
                    message,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
    };
    let id = format!("berth://{}", rec.id);
    let terminated = || ContainerStateTerminated {
        container_id: Some(id.clone()),
        exit_code: rec.exit_code as i32,
        reason: Some(
            if !rec.error.is_empty() && rec.started_at.is_empty() {
                "StartError"
            } else if rec.oom_killed {
                "OOMKilled"
            } else if rec.exit_code == 0 {
                "Completed"
            } else {
                "Error"
            }
            .into(),
        ),
        message: (!rec.error.is_empty()).then(|| rec.error.clone()),
        started_at: time(&rec.started_at),
        finished_at: time(&rec.finished_at),
        ..Default::default()
    };
    let (state, last_state) = match rec.state {
        State::Running | State::Paused => (
            ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: time(&rec.started_at),
                }),
                ..Default::default()
            },
            (rec.restart_count > 0).then(|| ContainerState {
                terminated: Some(ContainerStateTerminated {
                    started_at: None,
                    ..terminated()
                }),
                ..Default::default()
            }),
        ),
        State::Created => (
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ContainerCreating".into()),
                    message: None,
                }),
                ..Default::default()
            },
            None,
        ),
        _ if will_restart(rec) => (
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("CrashLoopBackOff".into()),
                    message: Some(format!(
                        "back-off restarting failed container {} in pod",
                        c.name
                    )),
                }),
                ..Default::default()
            },
            Some(ContainerState {
                terminated: Some(terminated()),
                ..Default::default()
            }),
        ),
        _ => (
            ContainerState {
                terminated: Some(terminated()),
                ..Default::default()
            },
            None,
        ),
    };
    let running = state.running.is_some();
    ContainerStatus {
        name: c.name.clone(),
        image,
        image_id: rec.image_id.clone(),
        container_id: Some(id),
        restart_count: rec.restart_count as i32,
        started: Some(running),
        ready: running && ready.unwrap_or(true),
        state: Some(state),
        last_state,
        ..Default::default()
    }
}

fn condition(kind: &str, ok: bool, reason: Option<&str>) -> PodCondition {
    PodCondition {
        type_: kind.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: if ok { None } else { reason.map(str::to_string) },
        ..Default::default()
    }
}

/// The pod's status now.
pub fn pod_status(o: &Observed<'_>) -> PodStatus {
    let inits = o.spec.init_containers.as_deref().unwrap_or_default();
    let init_statuses: Vec<ContainerStatus> = inits
        .iter()
        .map(|c| {
            container_status(
                c,
                o.containers.get(&c.name),
                o.waiting.get(&c.name),
                Some(true),
            )
        })
        .collect();
    let statuses: Vec<ContainerStatus> = o
        .spec
        .containers
        .iter()
        .map(|c| {
            container_status(
                c,
                o.containers.get(&c.name),
                o.waiting.get(&c.name),
                o.ready.get(&c.name).copied(),
            )
        })
        .collect();
    let terminated = |s: &ContainerStatus| {
        s.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .map(|t| t.exit_code)
    };
    let init_done = init_statuses.iter().all(|s| terminated(s) == Some(0));
    let init_failed = init_statuses
        .iter()
        .any(|s| terminated(s).is_some_and(|code| code != 0));
    let sandbox_ready = o.infra.is_some_and(|r| r.state == State::Running);
    let all_ready = !statuses.is_empty() && statuses.iter().all(|s| s.ready);
    let phase = if init_failed {
        "Failed"
    } else if !init_done {
        "Pending"
    } else if statuses.iter().all(|s| terminated(s).is_some()) {
        if statuses.iter().all(|s| terminated(s) == Some(0)) {
            "Succeeded"
        } else {
            "Failed"
        }
    } else if statuses
        .iter()
        .any(|s| s.state.as_ref().is_some_and(|st| st.running.is_some()) || s.restart_count > 0)
    {
        "Running"
    } else {
        "Pending"
    };
    let pod_ip = (!o.pod_ip.is_empty()).then(|| o.pod_ip.clone());
    let mut conditions = vec![
        condition("PodReadyToStartContainers", sandbox_ready, None),
        condition("Initialized", init_done, Some("ContainersNotInitialized")),
        condition("Ready", all_ready, Some("ContainersNotReady")),
        condition("ContainersReady", all_ready, Some("ContainersNotReady")),
        condition("PodScheduled", true, None),
    ];
    if matches!(phase, "Succeeded" | "Failed") {
        for c in &mut conditions[2..4] {
            c.status = "False".into();
            c.reason = Some("PodCompleted".into());
        }
    }
    PodStatus {
        phase: Some(phase.into()),
        conditions: Some(conditions),
        pod_ip: pod_ip.clone(),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
        start_time: o.infra.and_then(|r| time(&r.created)),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(statuses),
        qos_class: Some("BestEffort".into()),
        ..Default::default()
    }
}
