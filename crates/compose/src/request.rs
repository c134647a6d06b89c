//! One service replica as the engine's create request (Docker's Config + HostConfig), with
//! Compose's name and labels, and the config hash that tells `up` whether it changed.

use std::collections::BTreeMap;

use berth_engine::types::{
    CreateRequest, EndpointIpamConfig, EndpointSettings, HealthConfig, MountSpec, PortBinding,
    TmpfsOptions, VolumeOptions,
};
use berth_model::grammar::{parse_go_duration, parse_restart_policy};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::labels;
use crate::model::{Condition, Project, Service};

/// The container name of replica `number`: `container_name`, else `PROJECT-SERVICE-N`.
pub fn container_name(project: &Project, service: &str, number: u32) -> String {
    match &project
        .services
        .get(service)
        .and_then(|s| s.container_name.clone())
    {
        Some(name) => name.clone(),
        None => format!("{}-{service}-{number}", project.name),
    }
}

/// The image a service runs: its `image`, else the one `build` makes, `PROJECT-SERVICE`.
pub fn image_name(project: &Project, service: &str) -> String {
    match project.services.get(service).and_then(|s| s.image.clone()) {
        Some(image) => image,
        None => format!("{}-{service}", project.name),
    }
}

/// The service's configuration hash: a digest of its canonical form, as Compose keeps in
/// `com.docker.compose.config-hash` to recreate only what changed.
pub fn config_hash(service: &Service) -> String {
    let json = serde_json::to_vec(service).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

fn nanos(text: &Option<String>) -> i64 {
    text.as_deref()
        .and_then(|t| parse_go_duration(t).ok())
        .unwrap_or(0)
}

/// The request for replica `number` of `name`; `network_mode_container` resolves a
/// `network_mode: service:X` to that service's container.
pub fn create_request(
    project: &Project,
    name: &str,
    number: u32,
    network_mode_container: Option<String>,
) -> Result<CreateRequest, Error> {
    let s = project.service(name)?;
    let mut r = CreateRequest::default();
    let c = &mut r.config;
    c.image = image_name(project, name);
    c.cmd = s.command.clone();
    c.entrypoint = s.entrypoint.clone();
    c.env = Some(
        s.environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
    );
    c.hostname = s.hostname.clone().unwrap_or_default();
    c.domainname = s.domainname.clone().unwrap_or_default();
    c.user = s.user.clone().unwrap_or_default();
    c.working_dir = s.working_dir.clone().unwrap_or_default();
    c.tty = s.tty;
    c.open_stdin = s.stdin_open;
    c.stop_signal = s.stop_signal.clone();
    c.stop_timeout = s
        .stop_grace_period
        .as_ref()
        .map(|_| (nanos(&s.stop_grace_period) + 999_999_999) / 1_000_000_000);
    c.healthcheck = s.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(if h.disable {
            vec!["NONE".into()]
        } else {
            h.test.clone()
        }),
        interval: nanos(&h.interval),
        timeout: nanos(&h.timeout),
        start_period: nanos(&h.start_period),
        start_interval: nanos(&h.start_interval),
        retries: h.retries.unwrap_or(0),
    });
    let mut exposed = BTreeMap::new();
    for e in &s.expose {
        let port = if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        };
        exposed.insert(port, serde_json::json!({}));
    }
    let mut bindings: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
    for p in &s.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        exposed.insert(key.clone(), serde_json::json!({}));
        bindings.entry(key).or_default().push(PortBinding {
            host_ip: p.host_ip.clone(),
            host_port: p.published.clone(),
        });
    }
    c.exposed_ports = (!exposed.is_empty()).then_some(exposed);

    let mut labels = s.labels.clone();
    labels.insert(labels::PROJECT.into(), project.name.clone());
    labels.insert(labels::SERVICE.into(), name.into());
    labels.insert(labels::NUMBER.into(), number.to_string());
    labels.insert(labels::ONEOFF.into(), "False".into());
    labels.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
    labels.insert(labels::CONFIG_HASH.into(), config_hash(s));
    labels.insert(
        labels::WORKING_DIR.into(),
        project.working_dir.display().to_string(),
    );
    labels.insert(
        labels::CONFIG_FILES.into(),
        project
            .config_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    let depends: Vec<String> = s
        .depends_on
        .iter()
        .map(|(dep, d)| {
            let condition = match d.condition {
                Condition::ServiceStarted => "service_started",
                Condition::ServiceHealthy => "service_healthy",
                Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
            };
            format!("{dep}:{condition}:{}", d.restart)
        })
        .collect();
    labels.insert(labels::DEPENDS_ON.into(), depends.join(","));
    c.labels = Some(labels);

    let h = &mut r.host_config;
    h.port_bindings = (!bindings.is_empty()).then_some(bindings);
    if let Some(restart) = &s.restart {
        h.restart_policy = parse_restart_policy(restart).map_err(Error::Project)?;
    } else if let Some(p) = s.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) {
        // Compose v2's mapping of a swarm-style policy onto a single engine.
        h.restart_policy = berth_engine::types::RestartPolicy {
            name: match p.condition.as_deref() {
                Some("none") => "no",
                Some("on-failure") => "on-failure",
                _ => "always",
            }
            .into(),
            maximum_retry_count: p.max_attempts.unwrap_or(0),
        };
    }
    h.init = s.init;
    h.privileged = s.privileged;
    h.readonly_rootfs = s.read_only;
    h.cap_add = s.cap_add.clone();
    h.cap_drop = s.cap_drop.clone();
    h.security_opt = (!s.security_opt.is_empty()).then(|| s.security_opt.clone());
    h.dns = (!s.dns.is_empty()).then(|| s.dns.clone());
    h.dns_options = (!s.dns_opt.is_empty()).then(|| s.dns_opt.clone());
    h.dns_search = (!s.dns_search.is_empty()).then(|| s.dns_search.clone());
    h.group_add = (!s.group_add.is_empty()).then(|| s.group_add.clone());
    // `service:NAME` means that service's first container; `container:NAME` and `host` pass.
    let namespace = |mode: &Option<String>| -> String {
        match mode.as_deref() {
            Some(m) => match m.strip_prefix("service:") {
                Some(other) => format!("container:{}", container_name(project, other, 1)),
                None => m.to_string(),
            },
            None => String::new(),
        }
    };
    h.pid_mode = namespace(&s.pid);
    h.ipc_mode = namespace(&s.ipc);
    h.uts_mode = s.uts.clone().unwrap_or_default();
    h.userns_mode = s.userns_mode.clone().unwrap_or_default();
    h.cgroupns_mode = s.cgroup.clone().unwrap_or_default();
    h.sysctls = (!s.sysctls.is_empty()).then(|| s.sysctls.clone());
    let devices = s
        .devices
        .iter()
        .map(|d| berth_model::grammar::parse_device(d).map_err(Error::Project))
        .collect::<Result<Vec<_>, _>>()?;
    h.devices = (!devices.is_empty()).then_some(devices);
    h.device_cgroup_rules =
        (!s.device_cgroup_rules.is_empty()).then(|| s.device_cgroup_rules.clone());
    h.shm_size = s.shm_size.unwrap_or(0);
    h.oom_score_adj = s.oom_score_adj.unwrap_or(0);
    h.oom_kill_disable = s.oom_kill_disable;
    h.cpu_shares = s.cpu_shares.unwrap_or(0);
    h.cpu_period = s.cpu_period.unwrap_or(0);
    h.cpu_quota = s.cpu_quota.unwrap_or(0);
    h.cpuset_cpus = s.cpuset.clone().unwrap_or_default();
    h.memory_swappiness = s.mem_swappiness;
    h.memory_swap = s.memswap_limit.unwrap_or(0);
    let links: Vec<String> = s
        .links
        .iter()
        .map(|l| {
            let (target, alias) = l.split_once(':').unwrap_or((l, l));
            format!("{}:{alias}", container_name(project, target, 1))
        })
        .collect();
    h.links = (!links.is_empty()).then_some(links);
    let volumes_from: Vec<String> = s
        .volumes_from
        .iter()
        .map(|v| match v.strip_prefix("container:") {
            Some(container) => container.to_string(),
            None => {
                let (service, mode) = match v.split_once(':') {
                    Some((svc, mode)) => (svc, format!(":{mode}")),
                    None => (v.as_str(), String::new()),
                };
                format!("{}{mode}", container_name(project, service, 1))
            }
        })
        .collect();
    h.volumes_from = (!volumes_from.is_empty()).then_some(volumes_from);
    h.log_config = s.logging.as_ref().map(|l| berth_engine::types::LogConfig {
        kind: l.driver.clone().unwrap_or_default(),
        config: l.options.clone(),
    });
    h.ulimits = (!s.ulimits.is_empty()).then(|| {
        s.ulimits
            .iter()
            .map(|(name, (soft, hard))| berth_engine::types::Ulimit {
                name: name.clone(),
                soft: *soft,
                hard: *hard,
            })
            .collect()
    });
    h.extra_hosts = (!s.extra_hosts.is_empty()).then(|| s.extra_hosts.clone());
    let limits = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.limits.as_ref());
    h.memory = s
        .mem_limit
        .or_else(|| limits.and_then(|l| l.memory))
        .unwrap_or(0);
    h.nano_cpus = s
        .cpus
        .or_else(|| limits.and_then(|l| l.cpus))
        .map(|c| (c * 1e9) as i64)
        .unwrap_or(0);
    h.pids_limit = s.pids_limit.or_else(|| limits.and_then(|l| l.pids));
    let reservations = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.reservations.as_ref());
    h.memory_reservation = s
        .mem_reservation
        .or_else(|| reservations.and_then(|r| r.memory))
        .unwrap_or(0);
    h.runtime = s.runtime.clone().unwrap_or_default();
    let mut tmpfs = BTreeMap::new();
    for t in &s.tmpfs {
        let (path, opts) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(path.to_string(), opts.to_string());
    }
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    for m in &s.volumes {
        match m.kind.as_str() {
            "bind" if m.bind.as_ref().is_none_or(|b| b.create_host_path) => {
                // Binds (not Mounts) create a missing host directory, as Compose asks.
                binds.push(format!(
                    "{}:{}{}",
                    m.source,
                    m.target,
                    if m.read_only { ":ro" } else { "" }
                ));
            }
            "bind" => mounts.push(MountSpec {
                kind: "bind".into(),
                source: m.source.clone(),
                target: m.target.clone(),
                read_only: m.read_only,
                ..MountSpec::default()
            }),
            "volume" => {
                let source = match project.volumes.get(&m.source) {
                    Some(v) => v.name.clone(),
                    None => m.source.clone(),
                };
                mounts.push(MountSpec {
                    kind: "volume".into(),
                    source,
                    target: m.target.clone(),
                    read_only: m.read_only,
                    volume_options: m
                        .volume
                        .as_ref()
                        .filter(|v| v.nocopy)
                        .map(|_| VolumeOptions {
                            no_copy: true,
                            ..VolumeOptions::default()
                        }),
                    ..MountSpec::default()
                });
            }
            _ => mounts.push(MountSpec {
                kind: "tmpfs".into(),
                target: m.target.clone(),
                tmpfs_options: m.tmpfs.as_ref().map(|t| TmpfsOptions {
                    size_bytes: t.size.unwrap_or(0),
                    mode: t.mode.unwrap_or(0),
                }),
                ..MountSpec::default()
            }),
        }
    }
    h.tmpfs = (!tmpfs.is_empty()).then_some(tmpfs);
    h.mounts = (!mounts.is_empty()).then_some(mounts);
    h.binds = (!binds.is_empty()).then_some(binds);

    // Networks: the first is the container's own; the others are connected after create.
    match (&s.network_mode, network_mode_container) {
        (_, Some(container)) => h.network_mode = format!("container:{container}"),
        (Some(mode), None) => h.network_mode = mode.clone(),
        (None, None) => {
            if let Some((key, settings)) = s.networks.first() {
                let net = &project.networks[key];
                h.network_mode = net.name.clone();
                r.networking_config
                    .endpoints_config
                    .insert(net.name.clone(), endpoint(name, settings.as_ref()));
            }
        }
    }
    Ok(r)
}

/// The endpoint on one network: the service's name as an alias (names resolve between
/// services), plus its own aliases and address.
pub fn endpoint(
    service: &str,
    settings: Option<&crate::model::ServiceNetwork>,
) -> EndpointSettings {
    let mut aliases = vec![service.to_string()];
    let mut ipam = None;
    if let Some(s) = settings {
        aliases.extend(s.aliases.iter().cloned());
        if s.ipv4_address.is_some() || s.ipv6_address.is_some() {
            ipam = Some(EndpointIpamConfig {
                ipv4_address: s.ipv4_address.clone().unwrap_or_default(),
                ipv6_address: s.ipv6_address.clone().unwrap_or_default(),
                link_local_ips: None,
            });
        }
    }
    EndpointSettings {
        ipam_config: ipam,
        aliases: Some(aliases),
        ..EndpointSettings::default()
    }
}

/// What `compose run` changes in a service's container: a one-off, named
/// `PROJECT-SERVICE-run-XXXXXXXXXXXX`, without the service's published ports unless asked.
#[derive(Debug, Clone, Default)]
pub struct OneOff {
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub service_ports: bool,
    pub publish: Vec<String>,
    /// `-v SRC:DST[:MODE]`: a relative source is under the project directory.
    pub volumes: Vec<String>,
    /// `-l KEY=VALUE`
    pub labels: Vec<String>,
    pub remove: bool,
    pub interactive: bool,
    pub tty: bool,
}

pub fn one_off_request(
    project: &Project,
    name: &str,
    opts: &OneOff,
) -> Result<CreateRequest, Error> {
    let mut r = create_request(project, name, 1, None)?;
    if let Some(labels) = &mut r.config.labels {
        labels.insert(labels::ONEOFF.into(), "True".into());
    }
    if opts.command.is_some() {
        r.config.cmd = opts.command.clone();
    }
    if opts.entrypoint.is_some() {
        r.config.entrypoint = opts.entrypoint.clone();
    }
    r.config
        .env
        .get_or_insert_with(Vec::new)
        .extend(opts.env.iter().cloned());
    if let Some(u) = &opts.user {
        r.config.user = u.clone();
    }
    if let Some(w) = &opts.workdir {
        r.config.working_dir = w.clone();
    }
    if !opts.service_ports {
        r.host_config.port_bindings = None;
    }
    for spec in &opts.publish {
        for (port, binding) in berth_model::grammar::parse_publish(spec).map_err(Error::Project)? {
            r.host_config
                .port_bindings
                .get_or_insert_with(BTreeMap::new)
                .entry(port)
                .or_default()
                .push(binding);
        }
    }
    for volume in &opts.volumes {
        let bind = match volume.strip_prefix('.') {
            Some(_) => project.working_dir.join(volume).display().to_string(),
            None => volume.clone(),
        };
        r.host_config.binds.get_or_insert_with(Vec::new).push(bind);
    }
    for label in &opts.labels {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        r.config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
    }
    r.host_config.auto_remove = opts.remove;
    // A one-off is not restarted: it runs once.
    r.host_config.restart_policy = Default::default();
    r.config.open_stdin = opts.interactive;
    r.config.attach_stdin = opts.interactive;
    r.config.stdin_once = opts.interactive;
    r.config.attach_stdout = true;
    r.config.attach_stderr = true;
    r.config.tty = opts.tty;
    Ok(r)
}

/// A one-off's name: `PROJECT-SERVICE-run-` and 12 random hex digits.
pub fn one_off_name(project: &Project, name: &str) -> String {
    let mut bytes = [0u8; 6];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    format!("{}-{name}-run-{}", project.name, hex::encode(bytes))
}
