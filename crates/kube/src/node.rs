//! This host as a Node: its name, real capacity (CPUs, memory) and readiness.

use serde_json::{Value, json};

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub fn hostname() -> String {
    let name = read("/proc/sys/kernel/hostname");
    if name.is_empty() {
        "berth".into()
    } else {
        name.to_lowercase()
    }
}

fn memory_kib() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The Node object for this host now.
pub fn this_host() -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let capacity =
        json!({"cpu": cpus.to_string(), "memory": format!("{}Ki", memory_kib()), "pods": "110"});
    // The kubelet's default hard eviction threshold (memory.available<100Mi) is held back.
    let mut allocatable = capacity.clone();
    allocatable["memory"] = json!(format!("{}Ki", memory_kib().saturating_sub(100 * 1024)));
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "metadata": {"name": hostname(), "labels": {
            "kubernetes.io/hostname": hostname(),
            "kubernetes.io/os": "linux",
            "node-role.kubernetes.io/control-plane": "",
        }},
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "berth is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": hostname()}],
            "nodeInfo": {
                "kubeletVersion": format!("v1.{}.0-berth", crate::discovery::MINOR),
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": if std::env::consts::ARCH == "x86_64" { "amd64" } else { std::env::consts::ARCH },
                "kernelVersion": read("/proc/sys/kernel/osrelease"),
                "osImage": "berth",
                "containerRuntimeVersion": format!("berth://{}", env!("CARGO_PKG_VERSION")),
                "machineID": read("/etc/machine-id"),
                "systemUUID": "", "bootID": read("/proc/sys/kernel/random/boot_id"),
            },
        },
    })
}
