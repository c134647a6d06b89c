//! The Job controller: up to `parallelism` pods at a time until `completions` succeeded, or
//! more than `backoffLimit` failed; then the Complete (or Failed) condition, as
//! `kubectl wait --for=condition=complete` reads it.

use serde_json::{Value, json};

use super::{kind, meta_str, owned_pods, pod_from_template, quiet, write_status};
use crate::objects::{DeleteOptions, ListQuery, Objects};
use crate::status::ApiError;

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("Pending")
}

fn finished(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
}

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let (all, _, _) = objects.list(kind("batch", "jobs"), None, &ListQuery::default())?;
    for job in all {
        if job["metadata"]["deletionTimestamp"].is_null()
            && !finished(&job)
            && job["spec"]["suspend"] != json!(true)
        {
            // Deleted meanwhile: nothing left to do for it.
            match sync(objects, &job) {
                Err(e) if e.code == 404 => {}
                other => other?,
            }
        }
    }
    Ok(())
}

fn sync(objects: &Objects, job: &Value) -> Result<(), ApiError> {
    let pods_kind = kind("", "pods");
    let ns = meta_str(job, "namespace");
    let owned = owned_pods(objects, job)?;
    let count = |wanted: &str| owned.iter().filter(|p| phase(p) == wanted).count() as i64;
    let (succeeded, failed) = (count("Succeeded"), count("Failed"));
    let active: Vec<&Value> = owned
        .iter()
        .filter(|p| {
            !matches!(phase(p), "Succeeded" | "Failed")
                && p["metadata"]["deletionTimestamp"].is_null()
        })
        .collect();
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
    let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1);
    let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut status = json!({
        "startTime": job["status"]["startTime"].as_str().unwrap_or(&now),
        "active": active.len(),
        "succeeded": succeeded,
        "failed": failed,
        "ready": active.iter().filter(|p| super::replicasets::is_ready(p)).count(),
        "terminating": 0,
        "uncountedTerminatedPods": {},
    });
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "reason": reason, "message": message,
               "lastProbeTime": now, "lastTransitionTime": now})
    };
    if succeeded >= completions {
        super::events::normal(objects, job, "job-controller", "Completed", "Job completed");
        status["completionTime"] = json!(now);
        status["conditions"] = json!([
            condition(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
            condition(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
        ]);
    } else if failed > backoff_limit {
        for pod in &active {
            let _ = objects.delete(
                pods_kind,
                ns,
                meta_str(pod, "name"),
                &DeleteOptions::default(),
            );
        }
        status["active"] = json!(0);
        status["conditions"] = json!([
            condition(
                "FailureTarget",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit"
            ),
            condition(
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit"
            ),
        ]);
    } else {
        let want = parallelism.min(completions - succeeded).max(0);
        for _ in (active.len() as i64)..want {
            let pod = pod_from_template(job);
            let (made, _) = objects.create(pods_kind, ns, pod, &quiet())?;
            let message = format!("Created pod: {}", meta_str(&made, "name"));
            super::events::normal(objects, job, "job-controller", "SuccessfulCreate", &message);
        }
        status["active"] = json!(want.max(active.len() as i64));
    }
    let jobs = kind("batch", "jobs");
    let current = objects.get(jobs, ns, meta_str(job, "name"))?;
    write_status(objects, jobs, &current, status)
}
