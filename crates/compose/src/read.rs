//! Reading the typed project out of the (interpolated, merged) value tree. Every refusal names
//! the value's file:line:column and its path; numbers and booleans may be written as strings
//! (they often come from `${VAR}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_model::grammar::{parse_go_duration, parse_memory, parse_publish};
use indexmap::IndexMap;

use crate::error::Error;
use crate::model::*;
use crate::node::{Node, Value};

/// A node and its path in the document.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub node: &'a Node,
    pub path: &'a str,
}

impl<'a> At<'a> {
    pub fn new(node: &'a Node, path: &'a str) -> At<'a> {
        At { node, path }
    }

    pub fn err(&self, message: impl Into<String>) -> Error {
        Error::invalid(&self.node.loc, self.path, message)
    }

    fn wrong_type(&self, want: &str) -> Error {
        self.err(format!("must be a {want}, not a {}", self.node.kind()))
    }

    pub fn string(&self) -> Result<String, Error> {
        match &self.node.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Ok(self.node.scalar_text().unwrap_or_default())
            }
            _ => Err(self.wrong_type("string")),
        }
    }

    pub fn bool(&self) -> Result<bool, Error> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "y" => Ok(true),
                "false" | "no" | "off" | "n" | "" => Ok(false),
                _ => Err(self.err(format!("must be a boolean, not {s:?}"))),
            },
            _ => Err(self.wrong_type("boolean")),
        }
    }

    pub fn int(&self) -> Result<i64, Error> {
        match &self.node.value {
            Value::Int(i) => Ok(*i),
            Value::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
            Value::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| self.err(format!("must be an integer, not {s:?}"))),
            _ => Err(self.wrong_type("integer")),
        }
    }

    pub fn float(&self) -> Result<f64, Error> {
        match &self.node.value {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            Value::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| self.err(format!("must be a number, not {s:?}"))),
            _ => Err(self.wrong_type("number")),
        }
    }

    /// A byte size: a number, or "512m", "1g".
    pub fn bytes(&self) -> Result<i64, Error> {
        match &self.node.value {
            Value::Int(i) => Ok(*i),
            _ => parse_memory(&self.string()?).map_err(|e| self.err(e)),
        }
    }

    /// A duration ("1m30s"), checked and kept as written.
    pub fn duration(&self) -> Result<String, Error> {
        let text = self.string()?;
        parse_go_duration(&text).map_err(|e| self.err(e))?;
        Ok(text)
    }

    pub fn map(&self) -> Result<&'a IndexMap<String, Node>, Error> {
        self.node.as_map().ok_or_else(|| self.wrong_type("mapping"))
    }

    pub fn seq(&self) -> Result<&'a [Node], Error> {
        match &self.node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.wrong_type("list")),
        }
    }

    /// A list of strings; a single string is a list of one (as `dns: 8.8.8.8`).
    pub fn strings(&self) -> Result<Vec<String>, Error> {
        match &self.node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| At::new(n, &format!("{}[{i}]", self.path)).string())
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Ok(vec![self.string()?]),
        }
    }

    /// A command: a list as is, a string split as a shell would (without running one).
    pub fn command(&self) -> Result<Vec<String>, Error> {
        match &self.node.value {
            Value::Seq(_) => self.strings(),
            _ => {
                let text = self.string()?;
                shlex::split(&text).ok_or_else(|| self.err(format!("cannot split {text:?}")))
            }
        }
    }

    /// `KEY=VALUE` list or `KEY: VALUE` mapping (environment, labels, args); a key with no
    /// value is None.
    pub fn dict(&self) -> Result<IndexMap<String, Option<String>>, Error> {
        let mut out = IndexMap::new();
        match &self.node.value {
            Value::Map(m) => {
                for (k, v) in m {
                    let p = format!("{}.{k}", self.path);
                    let value = match &v.value {
                        Value::Null => None,
                        _ => Some(At::new(v, &p).string()?),
                    };
                    out.insert(k.clone(), value);
                }
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    let text = At::new(n, &format!("{}[{i}]", self.path)).string()?;
                    match text.split_once('=') {
                        Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                        None => out.insert(text, None),
                    };
                }
            }
            Value::Null => {}
            _ => return Err(self.wrong_type("mapping or list")),
        }
        Ok(out)
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

/// Keys of a service the Compose Specification defines; those berth does not act on yet are
/// accepted with a warning rather than refused.
const SERVICE_KEYS_LATER: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "credential_spec",
    "external_links",
    "gpus",
    "isolation",
    "label_file",
    "mac_address",
    "post_start",
    "pre_stop",
    "storage_opt",
];

/// Reads one service. `base` resolves relative paths (env files, binds, build contexts).
pub fn service(
    at: At,
    base: &Path,
    env: &BTreeMap<String, String>,
    warn: &mut dyn FnMut(String),
) -> Result<Service, Error> {
    let mut s = Service::default();
    let mut environment = IndexMap::new();
    let mut env_files = Vec::new();
    for (key, node) in at.map()? {
        let path = at.child(key);
        let v = At::new(node, &path);
        match key.as_str() {
            "image" => s.image = Some(v.string()?),
            "build" => s.build = Some(build(v, base, warn)?),
            "command" => s.command = Some(v.command()?),
            "entrypoint" => s.entrypoint = Some(v.command()?),
            "environment" => environment = v.dict()?,
            "env_file" => env_files = env_file_list(v, base)?,
            "ports" => {
                for (i, p) in v.seq()?.iter().enumerate() {
                    let entry = format!("{path}[{i}]");
                    for one in port(At::new(p, &entry))? {
                        s.ports.push(one);
                        s.port_origins.push((p.loc.clone(), entry.clone()));
                    }
                }
            }
            "expose" => s.expose = v.strings()?,
            "volumes" => {
                for (i, m) in v.seq()?.iter().enumerate() {
                    s.volumes
                        .push(mount(At::new(m, &format!("{path}[{i}]")), base)?);
                }
            }
            "tmpfs" => s.tmpfs = v.strings()?,
            "networks" => s.networks = service_networks(v)?,
            "network_mode" => s.network_mode = Some(v.string()?),
            "depends_on" => s.depends_on = depends_on(v)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(v)?),
            "restart" => {
                let r = v.string()?;
                berth_model::grammar::parse_restart_policy(&r).map_err(|e| v.err(e))?;
                s.restart = Some(r);
            }
            "labels" => {
                s.labels = v
                    .dict()?
                    .into_iter()
                    .map(|(k, v)| (k, v.unwrap_or_default()))
                    .collect()
            }
            "container_name" => s.container_name = Some(v.string()?),
            "hostname" => s.hostname = Some(v.string()?),
            "domainname" => s.domainname = Some(v.string()?),
            "user" => s.user = Some(v.string()?),
            "working_dir" => s.working_dir = Some(v.string()?),
            "stop_signal" => s.stop_signal = Some(v.string()?),
            "stop_grace_period" => s.stop_grace_period = Some(v.duration()?),
            "init" => s.init = Some(v.bool()?),
            "tty" => s.tty = v.bool()?,
            "stdin_open" => s.stdin_open = v.bool()?,
            "read_only" => s.read_only = v.bool()?,
            "privileged" => s.privileged = v.bool()?,
            "cap_add" => s.cap_add = Some(v.strings()?),
            "cap_drop" => s.cap_drop = Some(v.strings()?),
            "security_opt" => s.security_opt = v.strings()?,
            "dns" => s.dns = v.strings()?,
            "dns_opt" => s.dns_opt = v.strings()?,
            "dns_search" => s.dns_search = v.strings()?,
            "group_add" => s.group_add = v.strings()?,
            "ipc" => s.ipc = Some(v.string()?),
            "pid" => s.pid = Some(v.string()?),
            "links" => s.links = v.strings()?,
            "volumes_from" => s.volumes_from = v.strings()?,
            "logging" => {
                let mut l = Logging::default();
                for (k, n) in v.map()? {
                    let p = v.child(k);
                    let f = At::new(n, &p);
                    match k.as_str() {
                        "driver" => l.driver = Some(f.string()?),
                        "options" => l.options = string_map(f)?,
                        other => {
                            return Err(
                                f.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
                s.logging = Some(l);
            }
            "ulimits" => {
                for (k, n) in v.map()? {
                    let p = v.child(k);
                    let f = At::new(n, &p);
                    let limits = match &n.value {
                        Value::Map(m) => {
                            let get = |key: &str| -> Result<i64, Error> {
                                m.get(key)
                                    .map(|x| At::new(x, &p).int())
                                    .transpose()?
                                    .ok_or_else(|| f.err(format!("needs {key}")))
                            };
                            (get("soft")?, get("hard")?)
                        }
                        _ => {
                            let n = f.int()?;
                            (n, n)
                        }
                    };
                    s.ulimits.insert(k.clone(), limits);
                }
            }
            "extra_hosts" => s.extra_hosts = extra_hosts(v)?,
            "mem_limit" => s.mem_limit = Some(v.bytes()?),
            "mem_reservation" => s.mem_reservation = Some(v.bytes()?),
            "memswap_limit" => s.memswap_limit = Some(v.bytes()?),
            "mem_swappiness" => s.mem_swappiness = Some(v.int()?),
            "oom_score_adj" => s.oom_score_adj = Some(v.int()?),
            "oom_kill_disable" => s.oom_kill_disable = Some(v.bool()?),
            "cpu_shares" => s.cpu_shares = Some(v.int()?),
            "cpu_period" => s.cpu_period = Some(v.int()?),
            "cpu_quota" => s.cpu_quota = Some(v.int()?),
            "cpuset" => s.cpuset = Some(v.string()?),
            "cgroup" => s.cgroup = Some(v.string()?),
            "uts" => s.uts = Some(v.string()?),
            "userns_mode" => s.userns_mode = Some(v.string()?),
            "platform" => s.platform = Some(v.string()?),
            "pull_policy" => {
                let policy = v.string()?;
                if !matches!(
                    policy.as_str(),
                    "always" | "never" | "missing" | "if_not_present" | "build"
                ) {
                    return Err(v.err(format!(
                        "invalid pull policy {policy:?}: one of always, never, missing, build"
                    )));
                }
                s.pull_policy = Some(policy);
            }
            "sysctls" => {
                s.sysctls = v
                    .dict()?
                    .into_iter()
                    .map(|(k, value)| (k, value.unwrap_or_default()))
                    .collect()
            }
            "devices" => {
                s.devices = v.strings()?;
                for (i, d) in s.devices.iter().enumerate() {
                    berth_model::grammar::parse_device(d)
                        .map_err(|e| At::new(node, &format!("{path}[{i}]")).err(e))?;
                }
            }
            "device_cgroup_rules" => {
                s.device_cgroup_rules = v.strings()?;
                for (i, r) in s.device_cgroup_rules.iter().enumerate() {
                    berth_model::grammar::parse_device_cgroup_rule(r)
                        .map_err(|e| At::new(node, &format!("{path}[{i}]")).err(e))?;
                }
            }
            "shm_size" => s.shm_size = Some(v.bytes()?),
            "pids_limit" => s.pids_limit = Some(v.int()?),
            "cpus" => s.cpus = Some(v.float()?),
            "scale" => s.scale = Some(count(v)?),
            "deploy" => s.deploy = Some(deploy(v)?),
            "runtime" => s.runtime = Some(v.string()?),
            "profiles" => s.profiles = v.strings()?,
            "develop" => s.develop = Some(develop(v, base)?),
            "secrets" => s.secrets = file_refs(v, "/run/secrets/")?,
            "configs" => s.configs = file_refs(v, "/")?,
            // Resolved before reading (the loader's job).
            "extends" => {}
            k if k.starts_with("x-") => {
                s.extensions.insert(k.to_string(), node.to_json());
            }
            k if SERVICE_KEYS_LATER.contains(&k) => {
                warn(format!("{}: {path}: not supported yet, ignored", node.loc));
            }
            other => {
                return Err(v.err(format!("additional property {other} is not allowed")));
            }
        }
    }
    if s.image.is_none() && s.build.is_none() {
        return Err(at.err("has neither an image nor a build context specified"));
    }
    // Env files first, `environment` over them; a bare name takes the project's value.
    let mut resolved: IndexMap<String, Option<String>> = IndexMap::new();
    for file in &env_files {
        for (k, value) in read_dotenv(file, env)? {
            resolved.insert(k, Some(value));
        }
    }
    for (k, value) in environment {
        let value = value.or_else(|| env.get(&k).cloned());
        resolved.insert(k, value);
    }
    s.environment = resolved;
    s.env_file = env_files;
    Ok(s)
}

/// `extra_hosts` as a list of `NAME:IP` or a map of name to address.
fn extra_hosts(v: At) -> Result<Vec<String>, Error> {
    match &v.node.value {
        Value::Map(_) => Ok(v
            .dict()?
            .into_iter()
            .map(|(k, value)| format!("{k}:{}", value.unwrap_or_default()))
            .collect()),
        _ => v.strings(),
    }
}

fn count(v: At) -> Result<u32, Error> {
    let n = v.int()?;
    u32::try_from(n).map_err(|_| v.err(format!("must be a count, not {n}")))
}

fn env_file_list(v: At, base: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let items: Vec<Node> = match &v.node.value {
        Value::Seq(items) => items.clone(),
        _ => vec![v.node.clone()],
    };
    for (i, item) in items.iter().enumerate() {
        let p = format!("{}[{i}]", v.path);
        let at = At::new(item, &p);
        let (file, required) = match &item.value {
            Value::Map(m) => {
                let file = m
                    .get("path")
                    .ok_or_else(|| at.err("an env_file entry needs a path"))?;
                let required = match m.get("required") {
                    Some(r) => At::new(r, &p).bool()?,
                    None => true,
                };
                (At::new(file, &p).string()?, required)
            }
            _ => (at.string()?, true),
        };
        let path = base.join(file);
        if !path.exists() {
            if required {
                return Err(at.err(format!("env file {} not found", path.display())));
            }
            continue;
        }
        out.push(path);
    }
    Ok(out)
}

/// A `.env`-format file (quotes, `export`, `${VAR}` inside values), with the project's
/// variables available to its interpolation.
pub fn read_dotenv(
    file: &Path,
    _env: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Error> {
    let iter = dotenvy::from_path_iter(file)
        .map_err(|e| Error::Project(format!("{}: {e}", file.display())))?;
    let mut out = Vec::new();
    for item in iter {
        let (k, v) = item.map_err(|e| Error::Project(format!("{}: {e}", file.display())))?;
        out.push((k, v));
    }
    Ok(out)
}

fn build(v: At, base: &Path, warn: &mut dyn FnMut(String)) -> Result<Build, Error> {
    let mut b = Build::default();
    match &v.node.value {
        Value::Map(m) => {
            for (key, node) in m {
                let path = v.child(key);
                let f = At::new(node, &path);
                match key.as_str() {
                    "context" => b.context = f.string()?,
                    "dockerfile" => b.dockerfile = Some(f.string()?),
                    "dockerfile_inline" => b.dockerfile_inline = Some(f.string()?),
                    "args" => b.args = f.dict()?,
                    "target" => b.target = Some(f.string()?),
                    k if k.starts_with("x-") => {}
                    "labels" => {
                        b.labels = f
                            .dict()?
                            .into_iter()
                            .map(|(k, v)| (k, v.unwrap_or_default()))
                            .collect()
                    }
                    "network" => b.network = Some(f.string()?),
                    "shm_size" => b.shm_size = Some(f.bytes()?),
                    "extra_hosts" => b.extra_hosts = extra_hosts(f)?,
                    "no_cache" => b.no_cache = f.bool()?,
                    "pull" => b.pull = f.bool()?,
                    "tags" => b.tags = f.strings()?,
                    "secrets" => b.secrets = file_refs(f, "")?,
                    "ssh" => {
                        b.ssh = match &node.value {
                            Value::Map(_) => f
                                .dict()?
                                .into_iter()
                                .map(|(id, path)| format!("{id}={}", path.unwrap_or_default()))
                                .collect(),
                            _ => f.strings()?,
                        }
                    }
                    "platforms" => b.platforms = f.strings()?,
                    "cache_from"
                    | "cache_to"
                    | "additional_contexts"
                    | "isolation"
                    | "privileged"
                    | "ulimits" => {
                        warn(format!(
                            "{}: {}: not supported yet, ignored",
                            node.loc, f.path
                        ));
                    }
                    other => {
                        return Err(f.err(format!("additional property {other} is not allowed")));
                    }
                }
            }
        }
        _ => b.context = v.string()?,
    }
    if b.context.is_empty() {
        b.context = ".".into();
    }
    if !b.context.contains("://") {
        b.context = absolute(base, &b.context).display().to_string();
    }
    Ok(b)
}

/// `base/rel` without `.` and `..` parts (the path need not exist).
pub fn absolute(base: &Path, rel: &str) -> PathBuf {
    let rel = match rel.strip_prefix("~/") {
        Some(r) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(r),
        None => PathBuf::from(rel),
    };
    let joined = base.join(rel);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn port(v: At) -> Result<Vec<Port>, Error> {
    match &v.node.value {
        Value::Map(m) => {
            let mut p = Port {
                mode: "ingress".into(),
                protocol: "tcp".into(),
                ..Port::default()
            };
            let mut has_target = false;
            for (key, node) in m {
                let path = v.child(key);
                let f = At::new(node, &path);
                match key.as_str() {
                    "target" => {
                        p.target =
                            u16::try_from(f.int()?).map_err(|_| f.err("must be a port number"))?;
                        has_target = true;
                    }
                    "published" => p.published = f.string()?,
                    "host_ip" => p.host_ip = f.string()?,
                    "protocol" => p.protocol = f.string()?,
                    "mode" => p.mode = f.string()?,
                    "name" | "app_protocol" => {}
                    other => {
                        return Err(f.err(format!("additional property {other} is not allowed")));
                    }
                }
            }
            if !has_target {
                return Err(v.err("a port needs a target"));
            }
            Ok(vec![p])
        }
        _ => {
            let spec = v.string()?;
            let pairs = parse_publish(&spec).map_err(|e| v.err(e))?;
            Ok(pairs
                .into_iter()
                .map(|(port, binding)| {
                    let (target, protocol) = port.split_once('/').unwrap_or((&port, "tcp"));
                    Port {
                        mode: "ingress".into(),
                        host_ip: binding.host_ip,
                        target: target.parse().unwrap_or(0),
                        published: binding.host_port,
                        protocol: protocol.to_string(),
                    }
                })
                .collect())
        }
    }
}

fn is_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

fn mount(v: At, base: &Path) -> Result<Mount, Error> {
    let mut m = Mount::default();
    match &v.node.value {
        Value::Map(map) => {
            for (key, node) in map {
                let path = v.child(key);
                let f = At::new(node, &path);
                match key.as_str() {
                    "type" => m.kind = f.string()?,
                    "source" => m.source = f.string()?,
                    "target" => m.target = f.string()?,
                    "read_only" => m.read_only = f.bool()?,
                    "bind" => {
                        let create = match f.map()?.get("create_host_path") {
                            Some(n) => At::new(n, &path).bool()?,
                            None => true,
                        };
                        m.bind = Some(BindOptions {
                            create_host_path: create,
                        });
                    }
                    "volume" => {
                        let nocopy = match f.map()?.get("nocopy") {
                            Some(n) => At::new(n, &path).bool()?,
                            None => false,
                        };
                        m.volume = Some(VolumeOptions { nocopy });
                    }
                    "tmpfs" => {
                        let map = f.map()?;
                        let size = match map.get("size") {
                            Some(n) => Some(At::new(n, &path).bytes()?),
                            None => None,
                        };
                        let mode = match map.get("mode") {
                            Some(n) => Some(At::new(n, &path).int()? as u32),
                            None => None,
                        };
                        m.tmpfs = Some(TmpfsOptions { size, mode });
                    }
                    "consistency" => {}
                    other => {
                        return Err(f.err(format!("additional property {other} is not allowed")));
                    }
                }
            }
            if m.kind.is_empty() {
                return Err(v.err("a mount needs a type"));
            }
            if !matches!(m.kind.as_str(), "volume" | "bind" | "tmpfs") {
                return Err(v.err(format!("mount type {} is not supported", m.kind)));
            }
        }
        _ => {
            let spec = v.string()?;
            let parts: Vec<&str> = spec.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [t] => ("", *t, ""),
                [s, t] => (*s, *t, ""),
                [s, t, mode] => (*s, *t, *mode),
                _ => return Err(v.err(format!("invalid volume specification: {spec}"))),
            };
            m.source = source.to_string();
            m.target = target.to_string();
            m.kind = if source.is_empty() || !is_path(source) {
                "volume".into()
            } else {
                "bind".into()
            };
            for opt in mode.split(',').filter(|o| !o.is_empty()) {
                match opt {
                    "ro" => m.read_only = true,
                    "rw" => {}
                    "nocopy" => m.volume = Some(VolumeOptions { nocopy: true }),
                    "z" | "Z" | "shared" | "rshared" | "slave" | "rslave" | "private"
                    | "rprivate" | "delegated" | "cached" | "consistent" => {}
                    other => return Err(v.err(format!("invalid mode: {other}"))),
                }
            }
            if m.kind == "bind" {
                m.bind = Some(BindOptions {
                    create_host_path: true,
                });
            }
        }
    }
    if m.target.is_empty() || !m.target.starts_with('/') {
        return Err(v.err(format!(
            "the mount's target must be an absolute path, not {:?}",
            m.target
        )));
    }
    if m.kind == "bind" {
        m.source = absolute(base, &m.source).display().to_string();
    }
    Ok(m)
}

fn service_networks(v: At) -> Result<IndexMap<String, Option<ServiceNetwork>>, Error> {
    let mut out = IndexMap::new();
    match &v.node.value {
        Value::Seq(_) => {
            for name in v.strings()? {
                out.insert(name, None);
            }
        }
        Value::Map(m) => {
            for (name, node) in m {
                let path = v.child(name);
                let f = At::new(node, &path);
                if matches!(node.value, Value::Null) {
                    out.insert(name.clone(), None);
                    continue;
                }
                let mut sn = ServiceNetwork::default();
                for (key, n) in f.map()? {
                    let p = f.child(key);
                    let g = At::new(n, &p);
                    match key.as_str() {
                        "aliases" => sn.aliases = g.strings()?,
                        "ipv4_address" => sn.ipv4_address = Some(g.string()?),
                        "ipv6_address" => sn.ipv6_address = Some(g.string()?),
                        "priority" | "gw_priority" | "mac_address" | "link_local_ips"
                        | "driver_opts" | "interface_name" => {}
                        other => {
                            return Err(
                                g.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
                out.insert(name.clone(), Some(sn));
            }
        }
        _ => return Err(v.wrong_type("mapping or list")),
    }
    Ok(out)
}

fn depends_on(v: At) -> Result<IndexMap<String, Dependency>, Error> {
    let mut out = IndexMap::new();
    let started = || Dependency {
        condition: Condition::ServiceStarted,
        required: true,
        restart: false,
    };
    match &v.node.value {
        Value::Seq(_) => {
            for name in v.strings()? {
                out.insert(name, started());
            }
        }
        Value::Map(m) => {
            for (name, node) in m {
                let path = v.child(name);
                let f = At::new(node, &path);
                let mut d = started();
                for (key, n) in f.map()? {
                    let p = f.child(key);
                    let g = At::new(n, &p);
                    match key.as_str() {
                        "condition" => {
                            d.condition = match g.string()?.as_str() {
                                "service_started" => Condition::ServiceStarted,
                                "service_healthy" => Condition::ServiceHealthy,
                                "service_completed_successfully" => {
                                    Condition::ServiceCompletedSuccessfully
                                }
                                other => {
                                    return Err(g.err(format!("unknown condition {other:?}")));
                                }
                            }
                        }
                        "required" => d.required = g.bool()?,
                        "restart" => d.restart = g.bool()?,
                        other => {
                            return Err(
                                g.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
                out.insert(name.clone(), d);
            }
        }
        _ => return Err(v.wrong_type("mapping or list")),
    }
    Ok(out)
}

fn healthcheck(v: At) -> Result<Healthcheck, Error> {
    let mut h = Healthcheck::default();
    for (key, node) in v.map()? {
        let path = v.child(key);
        let f = At::new(node, &path);
        match key.as_str() {
            "test" => {
                h.test = match &node.value {
                    Value::Seq(_) => f.strings()?,
                    _ => vec!["CMD-SHELL".into(), f.string()?],
                }
            }
            "interval" => h.interval = Some(f.duration()?),
            "timeout" => h.timeout = Some(f.duration()?),
            "start_period" => h.start_period = Some(f.duration()?),
            "start_interval" => h.start_interval = Some(f.duration()?),
            "retries" => h.retries = Some(f.int()?),
            "disable" => h.disable = f.bool()?,
            other => return Err(f.err(format!("additional property {other} is not allowed"))),
        }
    }
    Ok(h)
}

fn deploy(v: At) -> Result<Deploy, Error> {
    let mut d = Deploy::default();
    for (key, node) in v.map()? {
        let path = v.child(key);
        let f = At::new(node, &path);
        match key.as_str() {
            "replicas" => d.replicas = Some(count(f)?),
            "resources" => {
                let mut r = Resources::default();
                for (key, node) in f.map()? {
                    let path = f.child(key);
                    let g = At::new(node, &path);
                    match key.as_str() {
                        "limits" => r.limits = Some(limits(g)?),
                        "reservations" => r.reservations = Some(limits(g)?),
                        other => {
                            return Err(
                                g.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
                d.resources = Some(r);
            }
            "restart_policy" => {
                let mut p = RestartPolicy::default();
                for (key, node) in f.map()? {
                    let path = f.child(key);
                    let g = At::new(node, &path);
                    match key.as_str() {
                        "condition" => {
                            let c = g.string()?;
                            if !matches!(c.as_str(), "none" | "on-failure" | "any") {
                                return Err(g.err(format!(
                                    "must be one of none, on-failure, any, not {c:?}"
                                )));
                            }
                            p.condition = Some(c);
                        }
                        "max_attempts" => p.max_attempts = Some(g.int()?),
                        "delay" | "window" => {}
                        other => {
                            return Err(
                                g.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
                d.restart_policy = Some(p);
            }
            "mode" | "labels" | "placement" | "update_config" | "rollback_config"
            | "endpoint_mode" => {}
            other => return Err(f.err(format!("additional property {other} is not allowed"))),
        }
    }
    Ok(d)
}

/// `deploy.resources.limits` or `.reservations` (devices and generic resources are not
/// applied on a single host without them).
fn limits(v: At) -> Result<Limits, Error> {
    let mut l = Limits::default();
    for (key, node) in v.map()? {
        let path = v.child(key);
        let h = At::new(node, &path);
        match key.as_str() {
            "cpus" => l.cpus = Some(h.float()?),
            "memory" => l.memory = Some(h.bytes()?),
            "pids" => l.pids = Some(h.int()?),
            "devices" | "generic_resources" => {}
            other => return Err(h.err(format!("additional property {other} is not allowed"))),
        }
    }
    Ok(l)
}

fn string_map(v: At) -> Result<BTreeMap<String, String>, Error> {
    Ok(v.dict()?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// `external: true` or the legacy `external: {name: X}`; returns (external, name given there).
fn external(v: At) -> Result<(bool, Option<String>), Error> {
    match &v.node.value {
        Value::Map(m) => Ok((
            true,
            m.get("name")
                .map(|n| At::new(n, v.path).string())
                .transpose()?,
        )),
        _ => Ok((v.bool()?, None)),
    }
}

pub fn network(at: At, key: &str, project: &str) -> Result<Network, Error> {
    let mut n = Network::default();
    let mut name = None;
    if !matches!(at.node.value, Value::Null) {
        for (k, node) in at.map()? {
            let path = at.child(k);
            let f = At::new(node, &path);
            match k.as_str() {
                "name" => name = Some(f.string()?),
                "driver" => n.driver = Some(f.string()?),
                "driver_opts" => n.driver_opts = string_map(f)?,
                "external" => {
                    let (ext, ext_name) = external(f)?;
                    n.external = ext;
                    name = name.or(ext_name);
                }
                "internal" => n.internal = f.bool()?,
                "enable_ipv6" => n.enable_ipv6 = f.bool()?,
                "labels" => n.labels = string_map(f)?,
                "attachable" | "enable_ipv4" => {}
                "ipam" => {
                    let mut ipam = Ipam::default();
                    for (k, node) in f.map()? {
                        let path = f.child(k);
                        let g = At::new(node, &path);
                        match k.as_str() {
                            "driver" => ipam.driver = Some(g.string()?),
                            "config" => {
                                for (i, pool) in g.seq()?.iter().enumerate() {
                                    let p = format!("{path}[{i}]");
                                    let pa = At::new(pool, &p);
                                    let get = |key: &str| -> Result<Option<String>, Error> {
                                        pa.map()?
                                            .get(key)
                                            .map(|n| At::new(n, &p).string())
                                            .transpose()
                                    };
                                    ipam.config.push(IpamPool {
                                        subnet: get("subnet")?,
                                        gateway: get("gateway")?,
                                        ip_range: get("ip_range")?,
                                    });
                                }
                            }
                            "options" => {}
                            other => {
                                return Err(
                                    g.err(format!("additional property {other} is not allowed"))
                                );
                            }
                        }
                    }
                    n.ipam = Some(ipam);
                }
                x if x.starts_with("x-") => {}
                other => return Err(f.err(format!("additional property {other} is not allowed"))),
            }
        }
    }
    n.name = match (name, n.external) {
        (Some(name), _) => name,
        (None, true) => key.to_string(),
        (None, false) => format!("{project}_{key}"),
    };
    Ok(n)
}

pub fn volume(at: At, key: &str, project: &str) -> Result<Volume, Error> {
    let mut v = Volume::default();
    let mut name = None;
    if !matches!(at.node.value, Value::Null) {
        for (k, node) in at.map()? {
            let path = at.child(k);
            let f = At::new(node, &path);
            match k.as_str() {
                "name" => name = Some(f.string()?),
                "driver" => v.driver = Some(f.string()?),
                "driver_opts" => v.driver_opts = string_map(f)?,
                "external" => {
                    let (ext, ext_name) = external(f)?;
                    v.external = ext;
                    name = name.or(ext_name);
                }
                "labels" => v.labels = string_map(f)?,
                x if x.starts_with("x-") => {}
                other => return Err(f.err(format!("additional property {other} is not allowed"))),
            }
        }
    }
    v.name = match (name, v.external) {
        (Some(name), _) => name,
        (None, true) => key.to_string(),
        (None, false) => format!("{project}_{key}"),
    };
    Ok(v)
}

/// A service's `secrets:` or `configs:` list, short (`- name`) or long syntax; a relative
/// target goes under `dir`.
fn file_refs(v: At, dir: &str) -> Result<Vec<FileRef>, Error> {
    let mut out = Vec::new();
    for (i, item) in v.seq()?.iter().enumerate() {
        let path = format!("{}[{i}]", v.path);
        let at = At::new(item, &path);
        let mut r = FileRef::default();
        match &item.value {
            Value::Map(m) => {
                for (key, node) in m {
                    let p = at.child(key);
                    let f = At::new(node, &p);
                    match key.as_str() {
                        "source" => r.source = f.string()?,
                        "target" => r.target = f.string()?,
                        "uid" => r.uid = Some(f.string()?),
                        "gid" => r.gid = Some(f.string()?),
                        "mode" => {
                            // YAML writes 0440 as the integer 440 unless quoted: octal digits.
                            let text = f.string()?;
                            let digits = text.trim_start_matches("0o");
                            r.mode = Some(u32::from_str_radix(digits, 8).map_err(|_| {
                                f.err(format!("must be an octal file mode, not {text:?}"))
                            })?);
                        }
                        other => {
                            return Err(
                                f.err(format!("additional property {other} is not allowed"))
                            );
                        }
                    }
                }
            }
            _ => r.source = at.string()?,
        }
        if r.source.is_empty() {
            return Err(at.err("needs a source"));
        }
        if r.target.is_empty() {
            r.target = r.source.clone();
        }
        if !r.target.starts_with('/') {
            r.target = format!("{dir}{}", r.target);
        }
        out.push(r);
    }
    Ok(out)
}

/// A top-level secret or config.
pub fn file_source(at: At, key: &str, project: &str, base: &Path) -> Result<FileSource, Error> {
    let mut f = FileSource::default();
    let mut name = None;
    for (k, node) in at.map()? {
        let path = at.child(k);
        let v = At::new(node, &path);
        match k.as_str() {
            "name" => name = Some(v.string()?),
            "file" => f.file = Some(absolute(base, &v.string()?)),
            "environment" => f.environment = Some(v.string()?),
            "content" => f.content = Some(v.string()?),
            "external" => f.external = external(v)?.0,
            "labels" | "driver" | "driver_opts" | "template_driver" => {}
            x if x.starts_with("x-") => {}
            other => return Err(v.err(format!("additional property {other} is not allowed"))),
        }
    }
    let sources = [
        f.file.is_some(),
        f.environment.is_some(),
        f.content.is_some(),
        f.external,
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(at.err("needs exactly one of file, environment, content or external"));
    }
    f.name = name.unwrap_or_else(|| format!("{project}_{key}"));
    Ok(f)
}

fn develop(v: At, base: &Path) -> Result<Develop, Error> {
    let mut d = Develop::default();
    for (key, node) in v.map()? {
        let path = v.child(key);
        let f = At::new(node, &path);
        match key.as_str() {
            "watch" => {
                for (i, item) in f.seq()?.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let at = At::new(item, &p);
                    let mut rule_path = None;
                    let mut action = None;
                    let mut target = None;
                    let mut ignore = Vec::new();
                    for (k, n) in at.map()? {
                        let kp = at.child(k);
                        let g = At::new(n, &kp);
                        match k.as_str() {
                            "path" => rule_path = Some(absolute(base, &g.string()?)),
                            "action" => {
                                action = Some(match g.string()?.as_str() {
                                    "sync" => WatchAction::Sync,
                                    "rebuild" => WatchAction::Rebuild,
                                    "sync+restart" => WatchAction::SyncRestart,
                                    other => {
                                        return Err(
                                            g.err(format!("unknown watch action {other:?}"))
                                        );
                                    }
                                })
                            }
                            "target" => target = Some(g.string()?),
                            "ignore" => ignore = g.strings()?,
                            "include" | "initial_sync" | "exec" => {}
                            other => {
                                return Err(
                                    g.err(format!("additional property {other} is not allowed"))
                                );
                            }
                        }
                    }
                    let (Some(path), Some(action)) = (rule_path, action) else {
                        return Err(at.err("a watch rule needs a path and an action"));
                    };
                    if action != WatchAction::Rebuild && target.is_none() {
                        return Err(at.err("a sync rule needs a target"));
                    }
                    d.watch.push(WatchRule {
                        path,
                        action,
                        target,
                        ignore,
                    });
                }
            }
            other => return Err(f.err(format!("additional property {other} is not allowed"))),
        }
    }
    Ok(d)
}
