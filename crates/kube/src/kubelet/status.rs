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
        // A start that failed leaves the container created, with the runtime's error.
        State::Created => (
            ContainerState {
                waiting: Some(if rec.error.is_empty() {
                    ContainerStateWaiting {
                        reason: Some("ContainerCreating".into()),
                        message: None,
                    }
                } else {
                    ContainerStateWaiting {
                        reason: Some("RunContainerError".into()),
                        message: Some(rec.error.clone()),
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::types::{CreateRequest, RestartPolicy};

    fn record(state: State, exit_code: i64, policy: &str) -> ContainerRecord {
        let mut config = CreateRequest::default();
        config.host_config.restart_policy = RestartPolicy {
            name: policy.into(),
            maximum_retry_count: 0,
        };
        ContainerRecord {
            id: "abc".into(),
            name: "k8s_main_p_default_u_0".into(),
            image: "bb:1".into(),
            image_id: "sha256:1".into(),
            created: "2026-01-01T00:00:00Z".into(),
            config,
            state,
            pid: 0,
            shim_pid: 0,
            shim_start: 0,
            exit_code,
            started_at: "2026-01-01T00:00:01Z".into(),
            finished_at: "2026-01-01T00:00:02Z".into(),
            error: String::new(),
            restart_count: 0,
            manually_stopped: false,
            oom_killed: false,
            health: None,
        }
    }

    fn spec(policy: &str) -> PodSpec {
        PodSpec {
            restart_policy: Some(policy.into()),
            containers: vec![Container {
                name: "main".into(),
                image: Some("bb:1".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn status_of(spec: &PodSpec, main: Option<ContainerRecord>) -> PodStatus {
        let infra = record(State::Running, 0, "no");
        let containers: BTreeMap<String, ContainerRecord> =
            main.into_iter().map(|r| ("main".to_string(), r)).collect();
        pod_status(&Observed {
            spec,
            infra: Some(&infra),
            pod_ip: "10.0.0.2".into(),
            containers: &containers,
            waiting: &BTreeMap::new(),
            ready: &BTreeMap::new(),
        })
    }

    fn main_state(status: &PodStatus) -> ContainerState {
        status.container_statuses.as_ref().unwrap()[0]
            .state
            .clone()
            .unwrap()
    }

    #[test]
    fn never_and_exit_3_is_failed_with_exit_code_3() {
        let status = status_of(&spec("Never"), Some(record(State::Exited, 3, "no")));
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let terminated = main_state(&status).terminated.unwrap();
        assert_eq!(terminated.exit_code, 3);
        assert_eq!(terminated.reason.as_deref(), Some("Error"));
        assert_eq!(status.pod_ip.as_deref(), Some("10.0.0.2"));
    }

    #[test]
    fn exit_0_is_succeeded_and_completed() {
        let status = status_of(&spec("Never"), Some(record(State::Exited, 0, "no")));
        assert_eq!(status.phase.as_deref(), Some("Succeeded"));
        let terminated = main_state(&status).terminated.unwrap();
        assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    }

    #[test]
    fn a_restarting_container_is_in_crash_loop_back_off() {
        let mut rec = record(State::Exited, 1, "always");
        rec.restart_count = 2;
        let status = status_of(&spec("Always"), Some(rec));
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let waiting = main_state(&status).waiting.unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(status.container_statuses.unwrap()[0].restart_count, 2);
    }

    #[test]
    fn a_running_container_is_ready_and_the_pod_running() {
        let status = status_of(&spec("Always"), Some(record(State::Running, 0, "always")));
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.container_statuses.as_ref().unwrap()[0].ready);
        let ready = status
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "True");
    }

    #[test]
    fn a_container_not_made_yet_is_pending() {
        let status = status_of(&spec("Always"), None);
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        let waiting = main_state(&status).waiting.unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("ContainerCreating"));
    }
}
