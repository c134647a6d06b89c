//! The `run`/`create` flags, with Docker's names, help texts and meanings, and their conversion
//! into the engine's Docker-shaped create request (the body `POST /containers/create` takes).
//!
//! Values are kept as the user typed them and checked in [`RunFlags::to_request`], so that every
//! mistake is reported in the Docker CLI's words (`invalid argument "12zz" for "-m, --memory"
//! flag: ...`) rather than clap's. The rules were checked against the docker 28 CLI: what it
//! accepts, what it rejects and with which message, and the JSON it sends.

use std::collections::{BTreeMap, BTreeSet};

use berth_engine::sandbox::microvm::{RUNTIME as VM_RUNTIME, launch::KERNEL_LABEL};
use berth_model::gofmt::go_quote;
use berth_model::grammar::{
    VolumeFlag, flag_error, network_mode, normalize_caps, parse_cpus, parse_go_bool,
    parse_go_duration, parse_go_int, parse_memory, parse_mount, parse_network, parse_publish,
    parse_restart_policy, parse_security_opts, parse_ulimit, parse_volume, read_env_file,
    read_kv_file,
};
use berth_model::types::{CreateRequest, EndpointIpamConfig, HealthConfig, PortBinding, Ulimit};
use clap::ArgAction;

// Docker's booleans take an optional `=VALUE` (`--rm=false`, `-t=false`), as Go's pflag does;
// `-dit` still works, since a short flag's value must follow an `=`.

#[derive(clap::Args, Debug, Clone, Default)]
// `-h` is --hostname, as in Docker, so help is `--help` only; a repeated flag overrides, as
// pflag does (`--name a --name b` is b). These apply to the command RunFlags is flattened into.
#[command(disable_help_flag = true, args_override_self = true)]
pub struct RunFlags {
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long, value_name = "list", action = ArgAction::Append)]
    pub attach: Vec<String>,
    /// Add Linux capabilities
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub cap_drop: Vec<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// Run container in background and print container ID
    #[arg(short, long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub detach: bool,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short, long, value_name = "list", action = ArgAction::Append, allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub env_file: Vec<String>,
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string")]
    pub hostname: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long, value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse_go_bool)]
    pub init: Option<bool>,
    /// Keep STDIN open even if not attached
    #[arg(short, long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub interactive: bool,
    /// Set meta data on a container
    #[arg(short, long, value_name = "list", action = ArgAction::Append)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub label_file: Vec<String>,
    /// Logging driver for the container
    #[arg(long, value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub log_opt: Vec<String>,
    /// Memory limit
    #[arg(short, long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// Connect a container to a network
    #[arg(long, visible_alias = "net", value_name = "network", action = ArgAction::Append)]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long, visible_alias = "net-alias", value_name = "list", action = ArgAction::Append)]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long, value_name = "string")]
    pub mac_address: Option<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long, visible_alias = "dns-opt", value_name = "list", action = ArgAction::Append)]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub add_host: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long, value_name = "list", action = ArgAction::Append)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Give extended privileges to this container
    #[arg(long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub privileged: bool,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Mount the container's root filesystem as read only
    #[arg(long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub read_only: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string", default_value = "no")]
    pub restart: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub rm: bool,
    /// Runtime to use for this container
    #[arg(long, value_name = "string")]
    pub runtime: Option<String>,
    /// Run the container as a micro-VM with its own kernel (same as --runtime vm)
    #[arg(long)]
    pub vm: bool,
    /// The guest kernel of a --vm container (a vmlinux or bzImage; default: the host's Debian
    /// kernel)
    #[arg(long, value_name = "path")]
    pub kernel: Option<String>,
    /// Security Options
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub security_opt: Vec<String>,
    /// Signal to stop the container
    #[arg(long, value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,
    /// Command to run to check health
    #[arg(long, value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub health_retries: Option<String>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub no_healthcheck: bool,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short, long, value_name = "bool", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_go_bool, hide_default_value = true)]
    pub tty: bool,
    /// Ulimit options
    #[arg(long, value_name = "ulimit", action = ArgAction::Append)]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, value_name = "string")]
    pub user: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long, value_name = "list", action = ArgAction::Append)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount", action = ArgAction::Append)]
    pub mount: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub volumes_from: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "string")]
    pub workdir: Option<String>,
    /// Namespaces and pinned resources (`--pid`, `--ipc`, `--cpuset-cpus` ...).
    #[command(flatten)]
    pub isolation: isolation::IsolationFlags,
    /// What reaches the kernel directly (`--sysctl`, `--device`, `--shm-size` ...).
    #[command(flatten)]
    pub kernel_settings: kernel_settings::KernelSettingFlags,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub link_local_ip: Vec<String>,
    /// Add link to another container
    #[arg(long, value_name = "list", action = ArgAction::Append)]
    pub link: Vec<String>,
}

impl RunFlags {
    /// Builds the create request for IMAGE and COMMAND... Errors are Docker CLI's wording, e.g.
    /// `invalid argument "12zz" for "-m, --memory" flag: invalid suffix: 'zz'`; the caller prints
    /// them and exits 125.
    pub fn to_request(&self, image: &str, command: &[String]) -> Result<CreateRequest, String> {
        // First what Docker's flag parser rejects, then what its `parse()` rejects.
        let memory = match &self.memory {
            Some(v) => parse_memory(v).map_err(|e| flag_error(v, "-m, --memory", &e))?,
            None => 0,
        };
        let memory_swap = match self.memory_swap.as_deref() {
            Some("-1") => -1,
            Some(v) => parse_memory(v).map_err(|e| flag_error(v, "--memory-swap", &e))?,
            None => 0,
        };
        let nano_cpus = match &self.cpus {
            Some(v) => parse_cpus(v).map_err(|e| flag_error(v, "--cpus", &e))?,
            None => 0,
        };
        let cpu_shares = match &self.cpu_shares {
            Some(v) => parse_go_int(v, true).map_err(|e| flag_error(v, "-c, --cpu-shares", &e))?,
            None => 0,
        };
        let pids_limit = match &self.pids_limit {
            Some(v) => Some(parse_go_int(v, true).map_err(|e| flag_error(v, "--pids-limit", &e))?),
            None => None,
        };
        let stop_timeout = match &self.stop_timeout {
            Some(v) => {
                Some(parse_go_int(v, true).map_err(|e| flag_error(v, "--stop-timeout", &e))?)
            }
            None => None,
        };
        let healthcheck = self.healthcheck()?;
        let mut ulimits: Vec<Ulimit> = Vec::new();
        for v in &self.ulimit {
            let u = parse_ulimit(v).map_err(|e| flag_error(v, "--ulimit", &e))?;
            // Docker keeps one ulimit per name, the last one given.
            match ulimits.iter_mut().find(|x| x.name == u.name) {
                Some(old) => *old = u,
                None => ulimits.push(u),
            }
        }
        let mut attach = BTreeSet::new();
        for v in &self.attach {
            let lower = v.to_ascii_lowercase();
            if !matches!(lower.as_str(), "stdin" | "stdout" | "stderr") {
                return Err(flag_error(
                    v,
                    "-a, --attach",
                    "valid streams are STDIN, STDOUT and STDERR",
                ));
            }
            attach.insert(lower);
        }
        for v in &self.env {
            if v.split('=').next() == Some("") {
                return Err(flag_error(
                    v,
                    "-e, --env",
                    &format!("invalid environment variable: {v}"),
                ));
            }
        }
        for v in &self.label {
            let key = v.split('=').next().unwrap_or("").trim();
            if key.is_empty() {
                return Err(flag_error(
                    v,
                    "-l, --label",
                    &format!("invalid label '{v}': empty name"),
                ));
            }
            if key.contains([' ', '\t']) {
                return Err(flag_error(
                    v,
                    "-l, --label",
                    &format!("label '{key}' contains whitespaces"),
                ));
            }
        }
        let mut networks = Vec::new();
        for v in &self.network {
            networks.push(parse_network(v).map_err(|e| flag_error(v, "--network", &e))?);
        }

        if self.detach && !self.attach.is_empty() {
            return Err("conflicting options: cannot specify both --attach and --detach".into());
        }
        if !matches!(self.pull.as_str(), "always" | "missing" | "never" | "") {
            return Err(format!(
                "invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"",
                self.pull
            ));
        }

        let mut env = Vec::new();
        for file in &self.env_file {
            env.extend(read_env_file(file)?);
        }
        for kv in &self.env {
            if kv.contains('=') {
                env.push(kv.clone());
            } else if let Ok(value) = std::env::var(kv) {
                env.push(format!("{kv}={value}"));
            }
            // Docker sends an unset `-e VAR` as a bare `VAR`, which makes its daemon delete VAR
            // from the image's environment; it never has a value in the container either way.
        }

        let mut labels = BTreeMap::new();
        for file in &self.label_file {
            for kv in read_kv_file(file, false)? {
                insert_kv(&mut labels, &kv);
            }
        }
        for kv in &self.label {
            insert_kv(&mut labels, kv);
        }
        if let Some(kernel) = &self.kernel {
            // The shim reads it from another directory: absolute, and there now.
            let path =
                std::fs::canonicalize(kernel).map_err(|e| format!("--kernel {kernel}: {e}"))?;
            labels.insert(
                KERNEL_LABEL.to_string(),
                path.to_string_lossy().into_owned(),
            );
        }

        let restart_policy = parse_restart_policy(&self.restart)?;
        if self.rm && !matches!(restart_policy.name.as_str(), "" | "no") {
            return Err("conflicting options: cannot specify both --restart and --rm".into());
        }

        let security_opt = parse_security_opts(&self.security_opt)?;
        let network_mode = network_mode(&networks)?;

        let mut tmpfs = BTreeMap::new();
        for t in &self.tmpfs {
            let (path, options) = t.split_once(':').unwrap_or((t, ""));
            tmpfs.insert(path.to_string(), options.to_string());
        }

        let mut mounts = Vec::new();
        for m in &self.mount {
            mounts.push(parse_mount(m).map_err(|e| flag_error(m, "--mount", &e))?);
        }
        // As Docker's CLI: `-v /path` (one part) is an anonymous volume in Config.Volumes, the
        // rest are Binds; a relative source ("./dir") is made absolute here.
        let mut binds = Vec::new();
        let mut volumes = BTreeMap::new();
        for v in &self.volume {
            match parse_volume(v, std::env::current_dir)? {
                VolumeFlag::Anonymous(path) => {
                    volumes.insert(path, serde_json::json!({}));
                }
                VolumeFlag::Bind(bind) => binds.push(bind),
            }
        }

        let mut request = CreateRequest::default();
        let c = &mut request.config;
        c.volumes = (!volumes.is_empty()).then_some(volumes);
        c.image = image.to_string();
        c.cmd = (!command.is_empty()).then(|| command.to_vec());
        // Docker sends [""] for `--entrypoint ""`; the engine treats [] and [""] alike (reset).
        c.entrypoint = self.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        });
        c.env = (!env.is_empty()).then_some(env);
        c.labels = Some(labels);
        c.tty = self.tty;
        c.open_stdin = self.interactive;
        if !self.detach {
            c.attach_stdin = self.interactive || attach.contains("stdin");
            c.attach_stdout = attach.is_empty() || attach.contains("stdout");
            c.attach_stderr = attach.is_empty() || attach.contains("stderr");
            c.stdin_once = self.interactive;
        }
        c.hostname = self.hostname.clone().unwrap_or_default();
        c.user = self.user.clone().unwrap_or_default();
        c.working_dir = self.workdir.clone().unwrap_or_default();
        c.stop_signal = self.stop_signal.clone().filter(|s| !s.is_empty());
        c.stop_timeout = stop_timeout;
        c.healthcheck = healthcheck;

        let hc = &mut request.host_config;
        hc.auto_remove = self.rm;
        hc.restart_policy = restart_policy;
        hc.network_mode = network_mode;
        hc.memory = memory;
        hc.memory_swap = memory_swap;
        hc.nano_cpus = nano_cpus;
        hc.cpu_shares = cpu_shares;
        hc.pids_limit = pids_limit;
        hc.readonly_rootfs = self.read_only;
        hc.privileged = self.privileged;
        hc.init = self.init;
        hc.tmpfs = (!tmpfs.is_empty()).then_some(tmpfs);
        let (cap_add, cap_drop) = (
            normalize_caps(&self.cap_add),
            normalize_caps(&self.cap_drop),
        );
        hc.cap_add = (!cap_add.is_empty()).then_some(cap_add);
        hc.cap_drop = (!cap_drop.is_empty()).then_some(cap_drop);
        hc.security_opt = (!security_opt.is_empty()).then_some(security_opt);
        hc.ulimits = (!ulimits.is_empty()).then_some(ulimits);
        hc.runtime = self.runtime.clone().unwrap_or_default();
        if self.vm {
            if !hc.runtime.is_empty() && hc.runtime != VM_RUNTIME {
                return Err(format!(
                    "conflicting options: --vm and --runtime {}",
                    hc.runtime
                ));
            }
            hc.runtime = VM_RUNTIME.to_string();
        }
        if self.kernel.is_some() && hc.runtime != VM_RUNTIME {
            return Err("--kernel is only for a --vm container".to_string());
        }
        hc.binds = (!binds.is_empty()).then_some(binds);
        hc.mounts = (!mounts.is_empty()).then_some(mounts);
        hc.volumes_from = (!self.volumes_from.is_empty()).then(|| self.volumes_from.clone());
        if self.log_driver.is_some() || !self.log_opt.is_empty() {
            let mut config = BTreeMap::new();
            for opt in &self.log_opt {
                if !opt.contains('=') {
                    return Err(format!(
                        "invalid argument \"{opt}\" for \"--log-opt\" flag: invalid key value pair format"
                    ));
                }
                insert_kv(&mut config, opt);
            }
            hc.log_config = Some(berth_model::types::LogConfig {
                kind: self.log_driver.clone().unwrap_or_default(),
                config,
            });
        }
        hc.links = (!self.link.is_empty()).then(|| self.link.clone());
        self.apply_network_flags(&mut request)?;
        self.isolation.apply(&mut request.host_config)?;
        self.kernel_settings.apply(&mut request.host_config)?;
        Ok(request)
    }
}

impl RunFlags {
    /// `--health-*` and `--no-healthcheck` as the docker CLI turns them into
    /// `Config.Healthcheck` (unset fields: the image's, or the defaults).
    fn healthcheck(&self) -> Result<Option<HealthConfig>, String> {
        let duration = |value: &Option<String>, flag: &str| -> Result<i64, String> {
            let Some(v) = value else { return Ok(0) };
            let ns = parse_go_duration(v).map_err(|e| flag_error(v, flag, &e))?;
            if ns < 0 {
                return Err(format!("{flag} cannot be negative"));
            }
            Ok(ns)
        };
        let interval = duration(&self.health_interval, "--health-interval")?;
        let timeout = duration(&self.health_timeout, "--health-timeout")?;
        let start_period = duration(&self.health_start_period, "--health-start-period")?;
        let start_interval = duration(&self.health_start_interval, "--health-start-interval")?;
        let retries = match &self.health_retries {
            Some(v) => parse_go_int(v, true).map_err(|e| flag_error(v, "--health-retries", &e))?,
            None => 0,
        };
        if retries < 0 {
            return Err("--health-retries cannot be negative".into());
        }
        let cmd = self.health_cmd.clone().unwrap_or_default();
        let any_setting = !cmd.is_empty()
            || interval != 0
            || timeout != 0
            || start_period != 0
            || start_interval != 0
            || retries != 0;
        if self.no_healthcheck {
            if any_setting {
                return Err("--no-healthcheck conflicts with --health-* options".into());
            }
            return Ok(Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }));
        }
        if !any_setting {
            return Ok(None);
        }
        Ok(Some(HealthConfig {
            test: (!cmd.is_empty()).then(|| vec!["CMD-SHELL".into(), cmd]),
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        }))
    }

    /// --ip, --network-alias, --mac-address, --dns*, --add-host into the request.
    fn apply_network_flags(&self, request: &mut CreateRequest) -> Result<(), String> {
        for dns in &self.dns {
            if dns.parse::<std::net::IpAddr>().is_err() {
                return Err(flag_error(
                    dns,
                    "--dns",
                    &format!("{dns} is not an ip address"),
                ));
            }
        }
        let mut extra_hosts = Vec::new();
        for entry in &self.add_host {
            let bad = || {
                flag_error(
                    entry,
                    "--add-host",
                    &format!("bad format for add-host: {}", go_quote(entry)),
                )
            };
            let (name, ip) = entry.split_once([':', '=']).ok_or_else(bad)?;
            if name.is_empty()
                || (ip != "host-gateway"
                    && ip
                        .trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_err())
            {
                return Err(bad());
            }
            extra_hosts.push(format!("{name}:{ip}"));
        }
        if let Some(mac) = &self.mac_address {
            let ok = mac.split(':').count() == 6
                && mac
                    .split(':')
                    .all(|p| p.len() == 2 && u8::from_str_radix(p, 16).is_ok());
            if !ok {
                return Err(format!("{mac} is not a valid mac address"));
            }
            request.config.mac_address = mac.clone();
        }
        let hc = &mut request.host_config;
        let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        hc.dns = non_empty(&self.dns);
        hc.dns_search = non_empty(&self.dns_search);
        hc.dns_options = non_empty(&self.dns_option);
        hc.extra_hosts = non_empty(&extra_hosts);
        hc.publish_all_ports = self.publish_all;
        let mut bindings: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
        for spec in &self.publish {
            for (key, binding) in parse_publish(spec)? {
                bindings.entry(key).or_default().push(binding);
            }
        }
        hc.port_bindings = (!bindings.is_empty()).then_some(bindings);
        if self.ip.is_some()
            || self.ip6.is_some()
            || !self.link_local_ip.is_empty()
            || !self.network_alias.is_empty()
        {
            let mode = hc.network_mode.clone();
            let user_defined =
                !matches!(mode.as_str(), "" | "default" | "bridge" | "host" | "none")
                    && !mode.starts_with("container:");
            if !user_defined && !self.network_alias.is_empty() {
                return Err("network-scoped alias is supported only for containers in user defined networks".into());
            }
            let settings = request
                .networking_config
                .endpoints_config
                .entry(if mode.is_empty() {
                    "bridge".into()
                } else {
                    mode
                })
                .or_default();
            if self.ip.is_some() || self.ip6.is_some() || !self.link_local_ip.is_empty() {
                settings.ipam_config = Some(EndpointIpamConfig {
                    ipv4_address: self.ip.clone().unwrap_or_default(),
                    ipv6_address: self.ip6.clone().unwrap_or_default(),
                    link_local_ips: non_empty(&self.link_local_ip),
                });
            }
            settings.aliases = non_empty(&self.network_alias);
        }
        Ok(())
    }
}

fn insert_kv(map: &mut BTreeMap<String, String>, kv: &str) {
    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
    map.insert(k.to_string(), v.to_string());
}

mod isolation;
mod kernel_settings;

#[cfg(test)]
mod tests;
