//! `docker info` and `docker version`: the documents `GET /info` and `GET /version` answer and
//! `berth info` / `berth version` print, built once here so both front ends say the same.

use serde_json::{Value, json};

use crate::{Engine, Error};

/// The newest Docker Engine API version whose behaviour berth implements (what dockerd 20.10
/// speaks, and what the docker CLI 28, docker-compose 1.29 and bollard are tested against);
/// clients negotiate down to it.
pub const API_VERSION: &str = "1.41";
/// The oldest version served (dockerd 28's minimum); older ones are refused with a 400.
pub const MIN_API_VERSION: &str = "1.24";
/// berth's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Go's name for the host's architecture (`amd64`), as `version` reports it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The `PRETTY_NAME` of /etc/os-release (`Debian GNU/Linux 12 (bookworm)`), else `linux`.
fn operating_system() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    (
        field("PRETTY_NAME").unwrap_or_else(|| "linux".into()),
        field("VERSION_ID").unwrap_or_default(),
    )
}

/// `GET /version`'s document (the server's part of `docker version`).
pub fn version_document() -> Value {
    let kernel = crate::host::kernel_version();
    let details = json!({
        "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": go_arch(),
        "KernelVersion": kernel, "GitCommit": "", "GoVersion": "", "BuildTime": "", "Experimental": "false",
    });
    json!({
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": VERSION, "Details": details}],
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": go_arch(),
        "KernelVersion": kernel,
        "BuildTime": "",
    })
}

impl Engine {
    /// `GET /info`'s document: counts (every container; every image record, untagged and
    /// intermediate ones included, as dockerd counts them), the host, and the registry
    /// settings of daemon.json.
    pub fn system_info(&self) -> Result<Value, Error> {
        use crate::types::State;
        let containers = self.list_containers(true)?;
        let images = self
            .list_images(true, &crate::filters::Filters::new())?
            .len();
        let config = self.daemon_config()?;
        let count = |f: fn(State) -> bool| containers.iter().filter(|c| f(c.state)).count();
        let running = count(|s| s == State::Running || s == State::Restarting);
        let paused = count(|s| s == State::Paused);
        let host = crate::host::info();
        let (os, os_version) = operating_system();
        let registry = &config.registry;
        let mirrors = registry.mirror_urls();
        let mut index_configs = serde_json::Map::new();
        index_configs.insert(
            "docker.io".into(),
            json!({"Name": "docker.io", "Mirrors": mirrors, "Secure": true, "Official": true}),
        );
        for name in registry.insecure_hosts() {
            index_configs.insert(
                name.clone(),
                json!({"Name": name, "Mirrors": [], "Secure": false, "Official": false}),
            );
        }
        let mut doc = json!({
            "ID": "", "Containers": containers.len(), "ContainersRunning": running, "ContainersPaused": paused,
            "ContainersStopped": containers.len() - running - paused, "Images": images,
            "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": null, "Log": ["json-file"]},
            "MemoryLimit": true, "SwapLimit": true, "KernelMemory": false, "CpuCfsPeriod": true, "CpuCfsQuota": true,
            "CPUShares": true, "CPUSet": true, "PidsLimit": true, "IPv4Forwarding": true, "BridgeNfIptables": false,
            "BridgeNfIp6tables": false, "Debug": false, "NFd": 0, "OomKillDisable": false, "NGoroutines": 0,
        });
        let rest = json!({
            "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": host.cgroup_version.to_string(), "NEventsListener": 0,
            "KernelVersion": host.kernel_version, "OperatingSystem": os, "OSVersion": os_version, "OSType": "linux",
            "Architecture": std::env::consts::ARCH, "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
                "InsecureRegistryCIDRs": registry.insecure_cidrs(), "IndexConfigs": index_configs, "Mirrors": mirrors},
            "NCPU": host.cpus, "MemTotal": host.memory_bytes, "GenericResources": null, "DockerRootDir": self.root(),
            "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": host.hostname, "Labels": [], "ExperimentalBuild": false,
            "ServerVersion": VERSION, "Runtimes": {"berth": {"path": "berth"}, "runc": {"path": "runc"}, "vm": {"path": "berth vm-relay"}},
            "DefaultRuntime": "berth", "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
                "Error": "", "RemoteManagers": null}, "LiveRestoreEnabled": true, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": "", "Expected": ""}, "RuncCommit": {"ID": "", "Expected": ""}, "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": ["name=seccomp,profile=default"], "Warnings": [],
        });
        // Two halves: one json! of every key is past the macro's recursion limit.
        if let (Some(doc), Value::Object(rest)) = (doc.as_object_mut(), rest) {
            doc.extend(rest);
        }
        // berth's own: how `--vm` guests run here (KVM only when its self-test proves it fast).
        let (accelerator, reason) = crate::sandbox::microvm::accelerator(&self.vm_cache_dir());
        doc["BerthVmAccelerator"] = json!({"Name": accelerator, "Reason": reason});
        Ok(doc)
    }
}
