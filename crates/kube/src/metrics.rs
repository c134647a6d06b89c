//! metrics.k8s.io/v1beta1, what metrics-server serves and `kubectl top` reads: PodMetrics
//! (each app container's CPU and memory working set) and NodeMetrics (this host's).
//!
//! A sampler thread reads the counters every [`PERIOD`]: a pod container's through the
//! engine's own stats reading (the cgroup counters `berth stats` shows), the host's from
//! /proc; CPU is the rate between two readings, as metrics-server reports it. The latest
//! window is kept in this module's one [`Samples`] (a process serves one API), which the
//! API's handlers read. A pod appears once it has two readings.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::kubelet::names;
use crate::objects::{ListQuery, Objects};
use crate::selector::LabelSelector;
use crate::status::ApiError;

use crate::discovery::{METRICS_GROUP as GROUP, METRICS_VERSION as VERSION};

/// How often the counters are read (the window each figure covers).
const PERIOD: Duration = Duration::from_secs(1);

/// One container's usage over the last window.
#[derive(Debug, Clone, PartialEq)]
struct Usage {
    /// CPU in nanocores (billionths of a CPU).
    nanocores: u64,
    /// Memory in use, page cache excluded, bytes.
    memory: u64,
}

/// The latest figures: by pod uid, each app container's; and the host's.
#[derive(Debug, Default)]
struct Samples {
    /// When the window ended (RFC 3339) and how long it was.
    timestamp: String,
    window: Duration,
    pods: BTreeMap<String, BTreeMap<String, Usage>>,
    node: Option<Usage>,
}

fn samples() -> &'static Mutex<Samples> {
    static SAMPLES: OnceLock<Mutex<Samples>> = OnceLock::new();
    SAMPLES.get_or_init(Mutex::default)
}

/// The sampler: reads every pod container's counters and the host's, each [`PERIOD`].
pub fn run_sampler() {
    let engine = match berth_engine::Engine::open() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("berth serve: the metrics sampler cannot open the engine: {e}");
            return;
        }
    };
    let mut before: BTreeMap<String, berth_engine::stats::StatsReading> = BTreeMap::new();
    let mut host_before = host_cpu_ns();
    let mut at = Instant::now();
    loop {
        std::thread::sleep(PERIOD);
        let window = at.elapsed();
        at = Instant::now();
        let mut now = BTreeMap::new();
        let mut pods: BTreeMap<String, BTreeMap<String, Usage>> = BTreeMap::new();
        for rec in engine.list_containers(false).unwrap_or_default() {
            let labels = rec.config.config.labels.clone().unwrap_or_default();
            let (Some(uid), Some(container)) = (
                labels.get(names::POD_UID),
                labels.get(names::CONTAINER_NAME),
            ) else {
                continue;
            };
            // The sandbox is no container of the pod's spec (metrics-server leaves pause out).
            if container == names::INFRA {
                continue;
            }
            let Ok(reading) = engine.stats_reading(&rec.id) else {
                continue;
            };
            if let Some(previous) = before.get(&rec.id) {
                let sample = reading.since(previous);
                let cpu_ns = sample.cpu.total_ns.saturating_sub(sample.precpu.total_ns);
                pods.entry(uid.clone()).or_default().insert(
                    container.clone(),
                    Usage {
                        nanocores: per_second(cpu_ns, window),
                        memory: sample.memory_used,
                    },
                );
            }
            now.insert(rec.id.clone(), reading);
        }
        before = now;
        let host_now = host_cpu_ns();
        // The two clocks (ticks, the monotonic one) drift a little: never more than the host has.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let node = Usage {
            nanocores: per_second(host_now.saturating_sub(host_before), window)
                .min(cpus * 1_000_000_000),
            memory: host_memory_used(),
        };
        host_before = host_now;
        let mut latest = samples().lock().unwrap_or_else(|e| e.into_inner());
        *latest = Samples {
            timestamp: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            window,
            pods,
            node: Some(node),
        };
    }
}

/// Nanoseconds of CPU time over `window` as nanocores.
fn per_second(cpu_ns: u64, window: Duration) -> u64 {
    let window_ns = window.as_nanos().max(1);
    (u128::from(cpu_ns) * 1_000_000_000 / window_ns) as u64
}

/// The CPU time the host spent busy (all CPUs, idle and iowait left out), in nanoseconds.
fn host_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| *v)
        .sum();
    // /proc/stat counts in USER_HZ, which the kernel's ABI fixes at 100 per second.
    busy.saturating_mul(10_000_000)
}

/// The host's memory in use: MemTotal less MemAvailable (the kubelet's working set of the node).
fn host_memory_used() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |key: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    kib("MemTotal:").saturating_sub(kib("MemAvailable:")) * 1024
}

fn usage_json(usage: &Usage) -> Value {
    json!({"cpu": format!("{}n", usage.nanocores), "memory": format!("{}Ki", usage.memory / 1024)})
}

fn window_text(window: Duration) -> String {
    format!("{:.3}s", window.as_secs_f64())
}

/// `/apis/metrics.k8s.io/v1beta1/...` (reads only): `pods`, `namespaces/NS/pods[/NAME]`,
/// `nodes[/NAME]`.
pub fn handle(
    objects: &Arc<Objects>,
    rest: &[String],
    query: &std::collections::HashMap<String, String>,
) -> Result<Value, ApiError> {
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let labels = match query.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(text) => LabelSelector::parse(text)?,
        None => LabelSelector::default(),
    };
    match rest.as_slice() {
        ["pods"] => pod_list(objects, None, labels),
        ["namespaces", ns, "pods"] => pod_list(objects, Some(ns), labels),
        ["namespaces", ns, "pods", name] => {
            let pod = objects.get(
                crate::kinds::find("", "v1", "pods").expect("pods"),
                ns,
                name,
            )?;
            pod_metrics(&pod).ok_or_else(|| ApiError::not_found(GROUP, "pods", name))
        }
        ["nodes"] => Ok(json!({
            "kind": "NodeMetricsList",
            "apiVersion": format!("{GROUP}/{VERSION}"),
            "metadata": {},
            "items": node_metrics().into_iter().collect::<Vec<_>>(),
        })),
        ["nodes", name] => node_metrics()
            .filter(|n| n["metadata"]["name"] == *name)
            .ok_or_else(|| ApiError::not_found(GROUP, "nodes", name)),
        _ => Err(ApiError::no_route()),
    }
}

fn pod_list(
    objects: &Objects,
    namespace: Option<&str>,
    labels: LabelSelector,
) -> Result<Value, ApiError> {
    let query = ListQuery {
        labels,
        ..ListQuery::default()
    };
    let (pods, _, _) = objects.list(
        crate::kinds::find("", "v1", "pods").expect("pods"),
        namespace,
        &query,
    )?;
    let items: Vec<Value> = pods.iter().filter_map(pod_metrics).collect();
    Ok(json!({
        "kind": "PodMetricsList",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {},
        "items": items,
    }))
}

/// A pod's PodMetrics, once its containers have been sampled.
fn pod_metrics(pod: &Value) -> Option<Value> {
    let uid = pod["metadata"]["uid"].as_str()?;
    let latest = samples().lock().unwrap_or_else(|e| e.into_inner());
    let containers = latest.pods.get(uid)?;
    let containers: Vec<Value> = containers
        .iter()
        .map(|(name, usage)| json!({"name": name, "usage": usage_json(usage)}))
        .collect();
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {
            "name": pod["metadata"]["name"],
            "namespace": pod["metadata"]["namespace"],
            "labels": pod["metadata"]["labels"],
            "creationTimestamp": latest.timestamp,
        },
        "timestamp": latest.timestamp,
        "window": window_text(latest.window),
        "containers": containers,
    }))
}

/// This host's NodeMetrics, once sampled.
fn node_metrics() -> Option<Value> {
    let latest = samples().lock().unwrap_or_else(|e| e.into_inner());
    let usage = latest.node.as_ref()?;
    let name = crate::node::hostname();
    Some(json!({
        "kind": "NodeMetrics",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}, "creationTimestamp": latest.timestamp},
        "timestamp": latest.timestamp,
        "window": window_text(latest.window),
        "usage": usage_json(usage),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_over_a_window_is_a_rate_in_nanocores() {
        // Half a CPU second over one second: 500m.
        assert_eq!(per_second(500_000_000, Duration::from_secs(1)), 500_000_000);
        assert_eq!(per_second(1_000_000, Duration::from_millis(500)), 2_000_000);
        let usage = Usage {
            nanocores: 5_000_000,
            memory: 3 * 1024 * 1024,
        };
        assert_eq!(
            usage_json(&usage),
            json!({"cpu": "5000000n", "memory": "3072Ki"})
        );
    }

    #[test]
    fn the_host_counters_read() {
        assert!(host_cpu_ns() > 0);
        assert!(host_memory_used() > 0);
    }
}
