//! A pod's containers as the engine's create requests: the infra container (the pod's
//! network, IPC and UTS namespaces, its published hostPorts) and each init and app container
//! joining it, with Kubernetes' command/args, env, resources, security context and mounts
//! mapped onto Docker's settings.

use std::collections::BTreeMap;

use berth_engine::types::{CreateRequest, PortBinding, RestartPolicy};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, SecurityContext};

use super::env::{PodFields, environment, expand};
use super::objects::Objects;
use super::volumes::PodVolumes;
use super::{Error, PodIdentity, infra, names, quantity};

/// The infra container: hostname = the pod's, every container's hostPorts published here
/// (the pod's network namespace is its), a shareable IPC namespace.
/// `network`: the network pods join (empty: the engine's default bridge).
pub fn infra_request(
    pod: &Pod,
    identity: &PodIdentity,
    network: &str,
) -> Result<CreateRequest, Error> {
    let spec = spec_of(pod, identity)?;
    let mut request = CreateRequest::default();
    infra::apply(&mut request)?;
    let c = &mut request.config;
    c.hostname = spec
        .hostname
        .clone()
        .unwrap_or_else(|| identity.name.clone());
    if let Some(sub) = &spec.subdomain {
        c.domainname = format!("{sub}.{}.svc.cluster.local", identity.namespace);
    }
    c.labels = Some(identity.labels(names::INFRA, false));
    let hc = &mut request.host_config;
    hc.ipc_mode = "shareable".into();
    hc.network_mode = network.to_string();
    if spec.host_network == Some(true) {
        hc.network_mode = "host".into();
        // The host's network namespace comes with the host's name (its UTS namespace).
        hc.uts_mode = "host".into();
        request.config.hostname = String::new();
    }
    if spec.host_ipc == Some(true) {
        hc.ipc_mode = "host".into();
    }
    if spec.host_pid == Some(true) {
        hc.pid_mode = "host".into();
    }
    let mut bindings: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
    let mut exposed = BTreeMap::new();
    for container in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        for port in container.ports.iter().flatten() {
            let proto = port
                .protocol
                .as_deref()
                .unwrap_or("TCP")
                .to_ascii_lowercase();
            let key = format!("{}/{proto}", port.container_port);
            exposed.insert(key.clone(), serde_json::json!({}));
            if let Some(host_port) = port.host_port.filter(|p| *p > 0) {
                bindings.entry(key).or_default().push(PortBinding {
                    host_ip: port.host_ip.clone().unwrap_or_default(),
                    host_port: host_port.to_string(),
                });
            }
        }
    }
    if !exposed.is_empty() {
        request.config.exposed_ports = Some(exposed);
    }
    if !bindings.is_empty() && spec.host_network != Some(true) {
        hc.port_bindings = Some(bindings);
    }
    if let Some(dns) = &spec.dns_config {
        hc.dns = dns.nameservers.clone();
        hc.dns_search = dns.searches.clone();
        hc.dns_options = dns.options.as_ref().map(|options| {
            options
                .iter()
                .map(|o| match &o.value {
                    Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                    None => o.name.clone().unwrap_or_default(),
                })
                .collect()
        });
    }
    let hosts: Vec<String> = spec
        .host_aliases
        .iter()
        .flatten()
        .flat_map(|alias| {
            let ip = alias.ip.clone();
            alias
                .hostnames
                .iter()
                .flatten()
                .map(move |h| format!("{h}:{ip}"))
        })
        .collect();
    if !hosts.is_empty() {
        hc.extra_hosts = Some(hosts);
    }
    Ok(request)
}

pub fn spec_of<'a>(pod: &'a Pod, identity: &PodIdentity) -> Result<&'a PodSpec, Error> {
    pod.spec
        .as_ref()
        .ok_or_else(|| Error::invalid(&identity.name, "spec: Required value"))
}

/// Where a container's settings come from besides its own spec.
pub struct Context<'a> {
    pub pod: &'a Pod,
    pub identity: &'a PodIdentity,
    pub infra_id: &'a str,
    pub pod_ip: &'a str,
    pub volumes: &'a PodVolumes,
    pub objects: &'a dyn Objects,
}

/// Container `c` (an init container when `init`) joining the pod's infra container.
pub fn container_request(
    c: &Container,
    init: bool,
    ctx: &Context<'_>,
) -> Result<CreateRequest, Error> {
    let pod_name = &ctx.identity.name;
    let spec = spec_of(ctx.pod, ctx.identity)?;
    let image = c.image.clone().filter(|i| !i.is_empty()).ok_or_else(|| {
        Error::invalid(
            pod_name,
            format!("spec.containers[{}].image: Required value", c.name),
        )
    })?;
    let fields = PodFields {
        pod: ctx.pod,
        identity: ctx.identity,
        pod_ip: ctx.pod_ip,
    };
    let env = environment(c, &fields, ctx.objects)?;
    let mut request = CreateRequest::default();
    let config = &mut request.config;
    config.image = image;
    // Kubernetes' command is the entrypoint, its args the cmd, both with $(VAR) expanded.
    config.entrypoint = c
        .command
        .as_ref()
        .map(|v| v.iter().map(|a| expand(a, &env)).collect());
    config.cmd = c
        .args
        .as_ref()
        .map(|v| v.iter().map(|a| expand(a, &env)).collect());
    config.env = Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect());
    config.working_dir = c.working_dir.clone().unwrap_or_default();
    config.tty = c.tty == Some(true);
    config.open_stdin = c.stdin == Some(true);
    config.stdin_once = c.stdin_once == Some(true);
    let mut labels = ctx.identity.labels(&c.name, init);
    labels.insert(names::CONTAINER_HASH.into(), spec_hash(c));
    config.labels = Some(labels);
    config.stop_timeout = Some(spec.termination_grace_period_seconds.unwrap_or(30));
    let hc = &mut request.host_config;
    let joined = format!("container:{}", ctx.infra_id);
    // With the host's network the pod's namespace is the host's itself: joined directly (the
    // engine keeps its host-network rules, such as no namespaced sysctls, to that mode).
    hc.network_mode = if spec.host_network == Some(true) {
        "host".into()
    } else {
        joined.clone()
    };
    hc.ipc_mode = if spec.host_ipc == Some(true) {
        "host".into()
    } else {
        joined.clone()
    };
    if spec.host_pid == Some(true) {
        hc.pid_mode = "host".into();
    } else if spec.share_process_namespace == Some(true) {
        hc.pid_mode = joined;
    }
    if spec.host_network == Some(true) {
        hc.uts_mode = "host".into();
    }
    hc.restart_policy = restart_policy(spec, init);
    if let Some(limits) = c.resources.as_ref().and_then(|r| r.limits.as_ref()) {
        if let Some(cpu) = limits.get("cpu") {
            let cores = quantity::parse(&cpu.0).ok_or_else(|| {
                Error::invalid(
                    pod_name,
                    format!(
                        "container {}: resources.limits.cpu: {:?} is not a quantity",
                        c.name, cpu.0
                    ),
                )
            })?;
            hc.nano_cpus = (cores * 1e9) as i64;
        }
        if let Some(memory) = limits.get("memory") {
            let bytes = quantity::parse(&memory.0).ok_or_else(|| {
                Error::invalid(
                    pod_name,
                    format!(
                        "container {}: resources.limits.memory: {:?} is not a quantity",
                        c.name, memory.0
                    ),
                )
            })?;
            hc.memory = bytes as i64;
        }
    }
    if let Some(requests) = c.resources.as_ref().and_then(|r| r.requests.as_ref())
        && let Some(cores) = requests.get("cpu").and_then(|q| quantity::parse(&q.0))
    {
        // The kubelet's shares for a CPU request: 1024 per core, at least 2.
        hc.cpu_shares = ((cores * 1024.0) as i64).max(2);
    }
    apply_security(&mut request, spec, c.security_context.as_ref());
    let mounts = ctx.volumes.mounts(pod_name, c)?;
    if !mounts.is_empty() {
        request.host_config.mounts = Some(mounts);
    }
    Ok(request)
}

/// A short hash of the container's spec.
pub fn spec_hash(c: &Container) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(c).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(&json)[..8])
}

/// restartPolicy as the engine's: its shim restarts the container and counts the restarts.
/// An init container is restarted on failure unless the pod's policy is Never.
fn restart_policy(spec: &PodSpec, init: bool) -> RestartPolicy {
    let name = match (spec.restart_policy.as_deref(), init) {
        (Some("Never"), _) => "no",
        (_, true) | (Some("OnFailure"), _) => "on-failure",
        _ => "always",
    };
    RestartPolicy {
        name: name.into(),
        maximum_retry_count: 0,
    }
}

/// The pod's and the container's securityContext (the container's wins, field by field).
fn apply_security(request: &mut CreateRequest, spec: &PodSpec, own: Option<&SecurityContext>) {
    let pod = spec.security_context.as_ref();
    let user = own
        .and_then(|s| s.run_as_user)
        .or_else(|| pod.and_then(|p| p.run_as_user));
    let group = own
        .and_then(|s| s.run_as_group)
        .or_else(|| pod.and_then(|p| p.run_as_group));
    request.config.user = match (user, group) {
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
        (None, Some(g)) => format!("0:{g}"),
        (None, None) => String::new(),
    };
    let hc = &mut request.host_config;
    if let Some(groups) = pod.and_then(|p| p.supplemental_groups.as_ref()) {
        hc.group_add = Some(groups.iter().map(i64::to_string).collect());
    }
    let Some(own) = own else { return };
    hc.privileged = own.privileged == Some(true);
    hc.readonly_rootfs = own.read_only_root_filesystem == Some(true);
    if let Some(caps) = &own.capabilities {
        hc.cap_add = caps.add.clone();
        hc.cap_drop = caps.drop.clone();
    }
    if own.allow_privilege_escalation == Some(false) {
        hc.security_opt = Some(vec!["no-new-privileges".into()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_hash_changes_with_the_spec_only() {
        let c = Container {
            name: "web".into(),
            image: Some("bb:1".into()),
            ..Default::default()
        };
        assert_eq!(spec_hash(&c), spec_hash(&c.clone()));
        let newer = Container {
            image: Some("bb:2".into()),
            ..c.clone()
        };
        assert_ne!(spec_hash(&c), spec_hash(&newer));
        assert_eq!(spec_hash(&c).len(), 16);
    }

    #[test]
    fn restart_policies_map_to_the_engines() {
        let spec = |policy: &str| PodSpec {
            restart_policy: Some(policy.into()),
            ..Default::default()
        };
        assert_eq!(restart_policy(&spec("Always"), false).name, "always");
        assert_eq!(restart_policy(&spec("OnFailure"), false).name, "on-failure");
        assert_eq!(restart_policy(&spec("Never"), false).name, "no");
        assert_eq!(restart_policy(&spec("Always"), true).name, "on-failure");
        assert_eq!(restart_policy(&spec("Never"), true).name, "no");
    }
}
