//! `/_ping`, `/version`, `/info`: what clients read first to pick an API version.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine;
use crate::error::ApiResult;

/// The API version berth speaks (clients negotiate down to it: CLI 28 uses /v1.41).
pub const API_VERSION: &str = "1.41";
pub const MIN_API_VERSION: &str = "1.24";
pub const SERVER: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));

/// The headers Docker puts on every response; clients read `Api-Version` off `/_ping`.
pub fn add_common_headers(headers: &mut HeaderMap) {
    headers.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    headers.insert("Docker-Experimental", HeaderValue::from_static("false"));
    headers.insert("Ostype", HeaderValue::from_static("linux"));
    headers.insert("Server", HeaderValue::from_static(SERVER));
}

pub async fn ping() -> Response {
    (
        StatusCode::OK,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
        ],
        "OK",
    )
        .into_response()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn version() -> Json<serde_json::Value> {
    let version = env!("CARGO_PKG_VERSION");
    let details = json!({
        "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": arch(),
        "KernelVersion": berth_engine::host::kernel_version(), "GitCommit": "", "GoVersion": "", "BuildTime": "", "Experimental": "false",
    });
    Json(json!({
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": version, "Details": details}],
        "Version": version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": berth_engine::host::kernel_version(),
        "BuildTime": "",
    }))
}

pub async fn info() -> ApiResult<Json<serde_json::Value>> {
    let (containers, images, root) = engine::call(|e| {
        let containers = e.list_containers(true)?;
        let images = e
            .list_images(false, &berth_engine::filters::Filters::new())?
            .len();
        Ok((containers, images, e.root().to_path_buf()))
    })
    .await?;
    let count = |f: fn(berth_engine::types::State) -> bool| {
        containers.iter().filter(|c| f(c.state)).count()
    };
    use berth_engine::types::State;
    let running = count(|s| s == State::Running || s == State::Restarting);
    let paused = count(|s| s == State::Paused);
    let host = berth_engine::host::info();
    Ok(Json(json!({
        "ID": "", "Containers": containers.len(), "ContainersRunning": running, "ContainersPaused": paused,
        "ContainersStopped": containers.len() - running - paused, "Images": images,
        "Driver": "overlay2", "DriverStatus": [], "Plugins": {"Volume": ["local"], "Network": ["null", "host"], "Authorization": null, "Log": ["json-file"]},
        "MemoryLimit": true, "SwapLimit": true, "KernelMemory": false, "CpuCfsPeriod": true, "CpuCfsQuota": true,
        "CPUShares": true, "CPUSet": true, "PidsLimit": true, "IPv4Forwarding": true, "BridgeNfIptables": false,
        "BridgeNfIp6tables": false, "Debug": false, "NFd": 0, "OomKillDisable": false, "NGoroutines": 0,
        "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": host.cgroup_version.to_string(), "NEventsListener": 0,
        "KernelVersion": host.kernel_version, "OperatingSystem": "linux", "OSVersion": "", "OSType": "linux",
        "Architecture": std::env::consts::ARCH, "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
        "NCPU": host.cpus, "MemTotal": host.memory_bytes, "GenericResources": null, "DockerRootDir": root,
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": host.hostname, "Labels": [], "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"), "Runtimes": {"berth": {"path": "berth"}, "runc": {"path": "runc"}},
        "DefaultRuntime": "berth", "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
            "Error": "", "RemoteManagers": null}, "LiveRestoreEnabled": true, "Isolation": "", "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "", "Expected": ""}, "RuncCommit": {"ID": "", "Expected": ""}, "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=default"], "Warnings": [],
    })))
}

/// `GET /system/df`: Docker's shape over the engine's disk_usage.
pub async fn disk_usage() -> ApiResult<Json<serde_json::Value>> {
    let (usage, volumes) = engine::call(|e| {
        let usage = e.disk_usage()?;
        let volumes: Vec<serde_json::Value> = e
            .list_volumes()?
            .iter()
            .map(|v| {
                let mut doc = e.volume_json(v);
                let u = usage.volumes.iter().find(|u| u.name == v.name);
                doc["UsageData"] = json!({
                    "Size": u.map_or(0, |u| u.size),
                    "RefCount": u.map_or(0, |u| u.links),
                });
                doc
            })
            .collect();
        Ok((usage, volumes))
    })
    .await?;
    let images: Vec<serde_json::Value> = usage
        .images
        .iter()
        .map(|i| {
            json!({
                "Id": i.id, "ParentId": "", "RepoTags": i.repo_tags, "RepoDigests": [],
                "Created": i.created, "Size": i.size, "SharedSize": i.shared_size,
                "VirtualSize": i.size, "Labels": null, "Containers": i.containers,
            })
        })
        .collect();
    let containers: Vec<serde_json::Value> = usage
        .containers
        .iter()
        .map(|c| {
            json!({
                "Id": c.id, "Names": c.names, "Image": c.image, "ImageID": "", "Command": c.command,
                "Created": c.created, "State": c.state, "Status": c.status, "SizeRw": c.size_rw,
                "SizeRootFs": 0, "Labels": {}, "Ports": [], "Mounts": [],
                "HostConfig": {"NetworkMode": "default"}, "NetworkSettings": {"Networks": {}},
            })
        })
        .collect();
    // The build cache as one record: berth keeps intermediate images, not BuildKit records.
    let build_cache: Vec<serde_json::Value> = if usage.build_cache_count > 0 {
        vec![json!({
            "ID": "berth-build-cache", "Parents": null, "Type": "regular",
            "Description": format!("{} cached build steps", usage.build_cache_count),
            "InUse": false, "Shared": false, "Size": usage.build_cache_size,
            "CreatedAt": chrono::Utc::now().to_rfc3339(), "LastUsedAt": null,
            "UsageCount": usage.build_cache_count,
        })]
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": build_cache,
    })))
}

/// `POST /build/prune`: drops the build cache; what it freed, as Docker reports it.
pub async fn build_prune() -> ApiResult<Json<serde_json::Value>> {
    let freed = engine::call(|e| {
        let before = e.disk_usage()?.build_cache_size;
        let n = e.prune_build_cache()?;
        Ok((n, before))
    })
    .await?;
    let (count, bytes) = freed;
    let deleted: Vec<String> = (0..count)
        .map(|i| format!("berth-build-cache-{i}"))
        .collect();
    Ok(Json(
        json!({"CachesDeleted": deleted, "SpaceReclaimed": bytes}),
    ))
}
