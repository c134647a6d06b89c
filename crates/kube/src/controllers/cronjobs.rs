//! The CronJob controller: at each time the schedule (five-field cron, parsed by `croner`)
//! names, a Job from the jobTemplate, named `CRONJOB-<minutes since the epoch>` as
//! Kubernetes names them; missed times collapse into the latest one; concurrencyPolicy
//! Forbid skips a run while one is active, Replace deletes the active ones first; finished
//! Jobs beyond the history limits go, oldest first.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{kind, meta_str, owner_reference, quiet, write_status};
use crate::objects::{DeleteOptions, ListQuery, Objects, Propagation};
use crate::status::ApiError;

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let (all, _, _) = objects.list(kind("batch", "cronjobs"), None, &ListQuery::default())?;
    for cron in all {
        if cron["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        match sync(objects, &cron, Utc::now()) {
            Err(e) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(())
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The latest time the schedule names after `since` and at or before `now`, if any.
fn due(schedule: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let cron = croner::Cron::from_str(schedule).ok()?;
    let mut latest = None;
    let mut at = since;
    // Bounded: a schedule missed for long runs once, at its latest time (as Kubernetes).
    for _ in 0..10_000 {
        match cron.find_next_occurrence(&at, false) {
            Ok(next) if next <= now => {
                latest = Some(next);
                at = next;
            }
            _ => break,
        }
    }
    latest
}

fn finished(job: &Value) -> Option<bool> {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
        .map(|c| c["type"] == "Complete")
}

fn sync(objects: &Objects, cron: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
    let jobs_kind = kind("batch", "jobs");
    let ns = meta_str(cron, "namespace");
    let name = meta_str(cron, "name");
    let uid = meta_str(cron, "uid");
    let (jobs, _, _) = objects.list(jobs_kind, Some(ns), &ListQuery::default())?;
    let mut owned: Vec<Value> = jobs
        .into_iter()
        .filter(|j| super::controlled_by(j, uid) && j["metadata"]["deletionTimestamp"].is_null())
        .collect();
    owned.sort_by_key(|j| meta_str(j, "creationTimestamp").to_string());
    let mut active: Vec<&Value> = owned.iter().filter(|j| finished(j).is_none()).collect();
    let since = parse_time(&cron["status"]["lastScheduleTime"])
        .or_else(|| parse_time(&cron["metadata"]["creationTimestamp"]))
        .unwrap_or(now);
    let schedule = cron["spec"]["schedule"].as_str().unwrap_or_default();
    let mut last_schedule = cron["status"]["lastScheduleTime"].clone();
    let mut made = None;
    if cron["spec"]["suspend"] != json!(true)
        && let Some(time) = due(schedule, since, now)
    {
        let policy = cron["spec"]["concurrencyPolicy"]
            .as_str()
            .unwrap_or("Allow");
        if policy == "Replace" {
            for job in &active {
                delete_job(objects, ns, job)?;
            }
            active.clear();
        }
        if policy != "Forbid" || active.is_empty() {
            let job_name = format!("{name}-{}", time.timestamp() / 60);
            let template = &cron["spec"]["jobTemplate"];
            let mut metadata = template["metadata"].clone();
            if !metadata.is_object() {
                metadata = json!({});
            }
            metadata["name"] = json!(job_name);
            metadata["namespace"] = json!(ns);
            metadata["ownerReferences"] = json!([owner_reference(cron)]);
            metadata["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                json!(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
                "spec": template["spec"]});
            match objects.create(jobs_kind, ns, job, &quiet()) {
                Ok((job, _)) => {
                    let message = format!("Created job {job_name}");
                    super::events::normal(
                        objects,
                        cron,
                        "cronjob-controller",
                        "SuccessfulCreate",
                        &message,
                    );
                    made = Some(job);
                }
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => return Err(e),
            }
        }
        last_schedule = json!(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    // History: the finished jobs beyond each limit go, oldest first.
    for (complete, limit_field, default_limit) in [
        (true, "successfulJobsHistoryLimit", 3),
        (false, "failedJobsHistoryLimit", 1),
    ] {
        let limit = cron["spec"][limit_field].as_u64().unwrap_or(default_limit) as usize;
        let done: Vec<&Value> = owned
            .iter()
            .filter(|j| finished(j) == Some(complete))
            .collect();
        for job in done.iter().take(done.len().saturating_sub(limit)) {
            delete_job(objects, ns, job)?;
        }
    }
    let reference = |j: &Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
            "namespace": ns, "uid": j["metadata"]["uid"]})
    };
    let mut refs: Vec<Value> = active.iter().map(|j| reference(j)).collect();
    refs.extend(made.iter().map(reference));
    let mut status = json!({});
    if !refs.is_empty() {
        status["active"] = json!(refs);
    }
    if !last_schedule.is_null() {
        status["lastScheduleTime"] = last_schedule;
    }
    if let Some(success) = owned
        .iter()
        .filter(|j| finished(j) == Some(true))
        .filter_map(|j| j["status"]["completionTime"].as_str())
        .max()
    {
        status["lastSuccessfulTime"] = json!(success);
    }
    let current = objects.get(kind("batch", "cronjobs"), ns, name)?;
    write_status(objects, kind("batch", "cronjobs"), &current, status)
}

/// Deletes a job and its pods (background propagation, as the cronjob controller does).
fn delete_job(objects: &Objects, ns: &str, job: &Value) -> Result<(), ApiError> {
    let options = DeleteOptions {
        propagation: Propagation::Background,
        ..DeleteOptions::default()
    };
    match objects.delete(kind("batch", "jobs"), ns, meta_str(job, "name"), &options) {
        Err(e) if e.code != 404 => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_due_run_is_the_latest_scheduled_time_not_yet_run() {
        let since = at("2026-01-01T10:00:30Z");
        assert_eq!(due("* * * * *", since, at("2026-01-01T10:00:59Z")), None);
        assert_eq!(
            due("* * * * *", since, at("2026-01-01T10:03:10Z")),
            Some(at("2026-01-01T10:03:00Z"))
        );
        assert_eq!(
            due("*/15 * * * *", since, at("2026-01-01T11:20:00Z")),
            Some(at("2026-01-01T11:15:00Z"))
        );
        assert_eq!(
            due("not a schedule", since, at("2026-01-02T00:00:00Z")),
            None
        );
    }
}
