//! The `run`/`create` flags, with Docker's names, help texts and meanings, and their conversion
//! into the engine's Docker-shaped create request (the body `POST /containers/create` takes).
//!
//! Values are kept as the user typed them and checked in [`RunFlags::to_request`], so that every
//! mistake is reported in the Docker CLI's words (`invalid argument "12zz" for "-m, --memory"
//! flag: ...`) rather than clap's. The rules were checked against the docker 28 CLI: what it
//! accepts, what it rejects and with which message, and the JSON it sends.

use std::collections::{BTreeMap, BTreeSet};

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
        hc.binds = (!binds.is_empty()).then_some(binds);
        hc.mounts = (!mounts.is_empty()).then_some(mounts);
        hc.volumes_from = (!self.volumes_from.is_empty()).then(|| self.volumes_from.clone());
        self.apply_network_flags(&mut request)?;
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
        if self.ip.is_some() || !self.network_alias.is_empty() {
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
            if let Some(ip) = &self.ip {
                settings.ipam_config = Some(EndpointIpamConfig {
                    ipv4_address: ip.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::types::RestartPolicy;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        flags: RunFlags,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        image_and_command: Vec<String>,
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied())).unwrap()
    }

    fn request(args: &[&str]) -> Result<CreateRequest, String> {
        let cli = parse(args);
        cli.flags
            .to_request(&cli.image_and_command[0], &cli.image_and_command[1..])
    }

    #[test]
    fn health_flags_follow_docker() {
        let hc = request(&[
            "--health-cmd",
            "test -e /ok",
            "--health-interval",
            "1m30s",
            "--health-timeout",
            "1.5s",
            "--health-retries",
            "2",
            "img",
        ])
        .unwrap()
        .config
        .healthcheck
        .unwrap();
        assert_eq!(
            hc.test,
            Some(vec!["CMD-SHELL".to_string(), "test -e /ok".to_string()])
        );
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries),
            (90_000_000_000, 1_500_000_000, 2)
        );
        let none = request(&["--no-healthcheck", "img"]).unwrap();
        assert_eq!(
            none.config.healthcheck.unwrap().test,
            Some(vec!["NONE".to_string()])
        );
        assert!(request(&["img"]).unwrap().config.healthcheck.is_none());
        assert_eq!(
            request(&["--health-interval", "0.5x", "img"]).unwrap_err(),
            "invalid argument \"0.5x\" for \"--health-interval\" flag: time: unknown unit \"x\" in duration \"0.5x\""
        );
        assert_eq!(
            request(&["--health-timeout", "-1s", "img"]).unwrap_err(),
            "--health-timeout cannot be negative"
        );
        assert!(request(&["--no-healthcheck", "--health-retries", "1", "img"]).is_err());
        assert_eq!(parse_go_duration("200ms"), Ok(200_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert!(parse_go_duration("5").unwrap_err().contains("missing unit"));
    }

    #[test]
    fn publish_specs_follow_docker() {
        let bindings =
            |args: &[&str]| request(args).map(|r| r.host_config.port_bindings.unwrap_or_default());
        let b = bindings(&[
            "-p",
            "127.0.0.1:8080:80",
            "-p",
            "53/udp",
            "-p",
            "8000-8001:90-91",
            "img",
        ])
        .unwrap();
        let show = |key: &str| {
            b[key]
                .iter()
                .map(|x| format!("{}|{}", x.host_ip, x.host_port))
                .collect::<Vec<_>>()
        };
        assert_eq!(show("80/tcp"), ["127.0.0.1|8080"]);
        assert_eq!(show("53/udp"), ["|"]);
        assert_eq!(show("90/tcp"), ["|8000"]);
        assert_eq!(show("91/tcp"), ["|8001"]);
        let range = bindings(&["-p", "7000-7010:80", "img"]).unwrap();
        assert_eq!(range["80/tcp"][0].host_port, "7000-7010");
        assert!(
            bindings(&["-p", "80-82:90-91", "img"])
                .unwrap_err()
                .contains("invalid ranges")
        );
        assert!(
            bindings(&["-p", "x:80", "img"])
                .unwrap_err()
                .contains("invalid hostPort")
        );
        assert!(
            bindings(&["-p", "80/foo", "img"])
                .unwrap_err()
                .contains("invalid proto")
        );
        assert!(
            request(&["-P", "img"])
                .unwrap()
                .host_config
                .publish_all_ports
        );
    }

    #[test]
    fn network_settings_flags() {
        let r = request(&[
            "--network",
            "mynet",
            "--ip",
            "10.1.0.9",
            "--network-alias",
            "db",
            "--dns",
            "1.1.1.1",
            "--add-host",
            "h:10.0.0.1",
            "img",
        ])
        .unwrap();
        let ep = &r.networking_config.endpoints_config["mynet"];
        assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.1.0.9");
        assert_eq!(ep.aliases.as_deref(), Some(&["db".to_string()][..]));
        assert_eq!(
            r.host_config.dns.as_deref(),
            Some(&["1.1.1.1".to_string()][..])
        );
        assert_eq!(
            r.host_config.extra_hosts.as_deref(),
            Some(&["h:10.0.0.1".to_string()][..])
        );
        assert!(
            request(&["--network-alias", "x", "img"])
                .unwrap_err()
                .contains("user defined networks")
        );
        assert!(
            request(&["--dns", "nope", "img"])
                .unwrap_err()
                .contains("is not an ip address")
        );
        assert!(
            request(&["--add-host", "nocolon", "img"])
                .unwrap_err()
                .contains("bad format for add-host")
        );
        assert!(
            request(&["--mac-address", "zz", "img"])
                .unwrap_err()
                .contains("not a valid mac address")
        );
    }

    #[test]
    fn memory_sizes_follow_docker() {
        let table: &[(&str, Result<i64, &str>)] = &[
            ("64m", Ok(67108864)),
            ("1g", Ok(1 << 30)),
            ("1.5g", Ok(1610612736)),
            ("512", Ok(512)),
            ("512k", Ok(512 * 1024)),
            ("512KiB", Ok(512 * 1024)),
            ("1GiB", Ok(1 << 30)),
            ("12MB", Ok(12 << 20)),
            ("12K", Ok(12 << 10)),
            ("12B", Ok(12)),
            ("12 m", Ok(12 << 20)),
            ("12 ", Ok(12)),
            ("12.m", Ok(12 << 20)),
            ("12.7", Ok(12)),
            ("+12", Ok(12)),
            ("1.5e3k", Ok(1536000)),
            ("0", Ok(0)),
            ("1t", Ok(1 << 40)),
            ("1p", Ok(1 << 50)),
            ("12zz", Err("invalid suffix: 'zz'")),
            ("12ZZZZ", Err("invalid suffix: 'ZZZZ'")),
            ("12iB", Err("invalid suffix: 'ib'")),
            ("12Ki", Err("invalid suffix: 'ki'")),
            ("12kibb", Err("invalid suffix: 'kibb'")),
            ("12bb", Err("invalid suffix: 'bb'")),
            ("12_", Err("invalid suffix: '_'")),
            ("abc", Err("invalid size: 'abc'")),
            ("", Err("invalid size: ''")),
            ("-1", Err("invalid size: '-1'")),
            (
                "1.2.3m",
                Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"),
            ),
            (
                " 12",
                Err("strconv.ParseFloat: parsing \" 12\": invalid syntax"),
            ),
            (
                "12  m",
                Err("strconv.ParseFloat: parsing \"12 \": invalid syntax"),
            ),
            (
                "1 2m",
                Err("strconv.ParseFloat: parsing \"1 2\": invalid syntax"),
            ),
            (
                "é1",
                Err("strconv.ParseFloat: parsing \"é1\": invalid syntax"),
            ),
            ("1é", Err("invalid suffix: 'é'")),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_memory(input),
                want.map_err(String::from),
                "input {input:?}"
            );
        }
        assert_eq!(
            request(&["-m", "12zz", "img"]).unwrap_err(),
            "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid suffix: 'zz'"
        );
        assert_eq!(
            request(&["-m", "-1", "img"]).unwrap_err(),
            "invalid argument \"-1\" for \"-m, --memory\" flag: invalid size: '-1'"
        );
        let r = request(&["-m", "64m", "--memory-swap", "-1", "img"]).unwrap();
        assert_eq!(
            (r.host_config.memory, r.host_config.memory_swap),
            (67108864, -1)
        );
        let r = request(&["--memory-swap=1g", "img"]).unwrap();
        assert_eq!(r.host_config.memory_swap, 1 << 30);
        assert_eq!(
            request(&["--memory-swap", "-2", "img"]).unwrap_err(),
            "invalid argument \"-2\" for \"--memory-swap\" flag: invalid size: '-2'"
        );
    }

    #[test]
    fn cpus_and_integers() {
        let cpus = |v: &str| {
            RunFlags {
                cpus: Some(v.into()),
                ..Default::default()
            }
            .to_request("i", &[])
        };
        assert_eq!(cpus("1.5").unwrap().host_config.nano_cpus, 1_500_000_000);
        assert_eq!(cpus(".5").unwrap().host_config.nano_cpus, 500_000_000);
        assert_eq!(cpus("3/2").unwrap().host_config.nano_cpus, 1_500_000_000);
        assert_eq!(cpus("1e-3").unwrap().host_config.nano_cpus, 1_000_000);
        assert_eq!(cpus("1.5e1").unwrap().host_config.nano_cpus, 15_000_000_000);
        assert_eq!(cpus("0x10").unwrap().host_config.nano_cpus, 16_000_000_000);
        assert_eq!(cpus("2").unwrap().host_config.nano_cpus, 2_000_000_000);
        assert_eq!(cpus("0.000000001").unwrap().host_config.nano_cpus, 1);
        assert_eq!(cpus("-3/2").unwrap().host_config.nano_cpus, -1_500_000_000);
        assert_eq!(
            cpus("abc").unwrap_err(),
            "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
        );
        assert_eq!(
            cpus("1.0000000001").unwrap_err(),
            "invalid argument \"1.0000000001\" for \"--cpus\" flag: value is too precise"
        );
        for bad in ["1/0", "3/-2", " 1", "", ".", "1.2.3", "e5"] {
            assert!(
                cpus(bad).unwrap_err().contains("as a rational number"),
                "{bad:?}"
            );
        }

        let r = request(&[
            "-c",
            "0x10",
            "--pids-limit",
            "-1",
            "--stop-timeout",
            "0",
            "img",
        ])
        .unwrap();
        assert_eq!(r.host_config.cpu_shares, 16);
        assert_eq!(r.host_config.pids_limit, Some(-1));
        assert_eq!(r.config.stop_timeout, Some(0));
        assert_eq!(
            request(&["--cpu-shares", "010", "img"])
                .unwrap()
                .host_config
                .cpu_shares,
            8
        );
        let r = request(&["img"]).unwrap();
        assert_eq!(
            (r.host_config.pids_limit, r.config.stop_timeout),
            (None, None)
        );
        assert_eq!(
            request(&["-c", "x", "img"]).unwrap_err(),
            "invalid argument \"x\" for \"-c, --cpu-shares\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            request(&["--pids-limit", "99999999999999999999", "img"]).unwrap_err(),
            "invalid argument \"99999999999999999999\" for \"--pids-limit\" flag: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
    }

    #[test]
    fn env_flags_and_env_files() {
        // SAFETY: tests in this module that touch the environment use their own names.
        unsafe {
            std::env::set_var("BERTH_RF_SET", "from-caller");
            std::env::set_var("BERTH_RF_FILE", "file-caller");
            std::env::remove_var("BERTH_RF_UNSET");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(
            &file,
            "\u{feff}# comment\n\n  A=1\nB=\"quoted\" \r\n\tBERTH_RF_FILE\nBERTH_RF_UNSET\nC==x\nEMPTY=\n#D=no",
        )
        .unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(
            read_env_file(file).unwrap(),
            [
                "A=1",
                "B=\"quoted\" ",
                "BERTH_RF_FILE=file-caller",
                "C==x",
                "EMPTY="
            ]
        );
        let r = request(&[
            "--env-file",
            file,
            "-e",
            "A=2",
            "-e",
            "BERTH_RF_SET",
            "-e",
            "BERTH_RF_UNSET",
            "--env=X=-y",
            "img",
        ])
        .unwrap();
        assert_eq!(
            r.config.env.unwrap(),
            [
                "A=1",
                "B=\"quoted\" ",
                "BERTH_RF_FILE=file-caller",
                "C==x",
                "EMPTY=",
                "A=2",
                "BERTH_RF_SET=from-caller",
                "X=-y"
            ]
        );
        assert_eq!(request(&["img"]).unwrap().config.env, None);
        assert_eq!(
            request(&["-e", "=x", "img"]).unwrap_err(),
            "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
        );

        assert_eq!(
            read_env_file("/nonexistent/env").unwrap_err(),
            "open /nonexistent/env: no such file or directory"
        );
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            read_env_file(d).unwrap_err(),
            format!("invalid env file ({d}): read {d}: is a directory")
        );
        let bad = |name: &str, text: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            let p = p.to_str().unwrap().to_string();
            read_env_file(&p).unwrap_err().replace(&p, "F")
        };
        assert_eq!(
            bad("e1", b"A B=1\n"),
            "invalid env file (F): variable 'A B' contains whitespaces"
        );
        assert_eq!(
            bad("e2", b"=1\n"),
            "invalid env file (F): no variable name on line '=1'"
        );
        assert_eq!(
            bad("e3", b" D = x\n"),
            "invalid env file (F): variable 'D ' contains whitespaces"
        );
        assert_eq!(
            bad("e4", b"A=1\n\xff\xfe=2\n"),
            "invalid env file (F): invalid utf8 bytes at line 2: [255 254 61 50]"
        );
    }

    #[test]
    fn labels_and_label_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels");
        std::fs::write(&file, "x=1\n  y\n#c\nz=  q \n").unwrap();
        let r = request(&[
            "-l",
            "a=b",
            "--label",
            "c",
            "-l",
            "d=",
            "-l",
            "e=f=g",
            "--label-file",
            file.to_str().unwrap(),
            "-l",
            "x=2",
            "img",
        ])
        .unwrap();
        let labels = r.config.labels.unwrap();
        let want: BTreeMap<String, String> = [
            ("a", "b"),
            ("c", ""),
            ("d", ""),
            ("e", "f=g"),
            ("x", "2"),
            ("z", "  q "),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(labels, want);
        assert_eq!(
            request(&["img"]).unwrap().config.labels,
            Some(BTreeMap::new())
        );
        assert_eq!(
            request(&["-l", "=x", "img"]).unwrap_err(),
            "invalid argument \"=x\" for \"-l, --label\" flag: invalid label '=x': empty name"
        );
        assert_eq!(
            request(&["-l", "a b=c", "img"]).unwrap_err(),
            "invalid argument \"a b=c\" for \"-l, --label\" flag: label 'a b' contains whitespaces"
        );
        assert_eq!(
            request(&["--label-file", "/nonexistent", "img"]).unwrap_err(),
            "open /nonexistent: no such file or directory"
        );
    }

    #[test]
    fn ulimits() {
        let r = request(&[
            "--ulimit",
            "nofile=10",
            "--ulimit",
            "nofile=20:30",
            "--ulimit",
            "nproc=-1",
            "--ulimit",
            "core=5:-1",
            "img",
        ])
        .unwrap();
        assert_eq!(
            r.host_config.ulimits.unwrap(),
            [
                Ulimit {
                    name: "nofile".into(),
                    soft: 20,
                    hard: 30
                },
                Ulimit {
                    name: "nproc".into(),
                    soft: -1,
                    hard: -1
                },
                Ulimit {
                    name: "core".into(),
                    soft: 5,
                    hard: -1
                },
            ]
        );
        let err = |v: &str| request(&["--ulimit", v, "img"]).unwrap_err();
        assert_eq!(
            err("nofile"),
            "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"
        );
        assert_eq!(
            err("foo=1"),
            "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"
        );
        assert_eq!(
            err("nofile=1:2:3"),
            "invalid argument \"nofile=1:2:3\" for \"--ulimit\" flag: too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"
        );
        assert_eq!(
            err("nofile=x"),
            "invalid argument \"nofile=x\" for \"--ulimit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("nofile=0x1"),
            "invalid argument \"nofile=0x1\" for \"--ulimit\" flag: strconv.ParseInt: parsing \"0x1\": invalid syntax"
        );
        assert_eq!(
            err("nofile=3:2"),
            "invalid argument \"nofile=3:2\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 3 > 2"
        );
    }

    #[test]
    fn restart_policies() {
        let policy =
            |v: &str| request(&["--restart", v, "img"]).map(|r| r.host_config.restart_policy);
        let p = |name: &str, n: i64| {
            Ok(RestartPolicy {
                name: name.into(),
                maximum_retry_count: n,
            })
        };
        assert_eq!(
            request(&["img"]).unwrap().host_config.restart_policy,
            p("no", 0).unwrap()
        );
        assert_eq!(policy("always"), p("always", 0));
        assert_eq!(policy("always:"), p("always", 0));
        assert_eq!(policy("unless-stopped"), p("unless-stopped", 0));
        assert_eq!(policy("on-failure"), p("on-failure", 0));
        assert_eq!(policy("on-failure:3"), p("on-failure", 3));
        assert_eq!(policy(""), p("", 0));
        assert_eq!(
            policy("on-failure:x").unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            policy(":3").unwrap_err(),
            "invalid restart policy format: no policy provided before colon"
        );
        assert_eq!(
            policy("on-failure:-1").unwrap_err(),
            "invalid restart policy: maximum retry count cannot be negative"
        );
        assert_eq!(
            policy("always:3").unwrap_err(),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert_eq!(
            policy("sometimes").unwrap_err(),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        );
        assert_eq!(
            request(&["--rm", "--restart", "always", "img"]).unwrap_err(),
            "conflicting options: cannot specify both --restart and --rm"
        );
        assert!(
            request(&["--rm", "--restart", "no", "img"])
                .unwrap()
                .host_config
                .auto_remove
        );
    }

    #[test]
    fn entrypoint_command_and_attach() {
        let r = request(&["--entrypoint", "", "img"]).unwrap();
        assert_eq!(r.config.entrypoint, Some(vec![]));
        assert_eq!(r.config.cmd, None);
        let r = request(&["--entrypoint=/bin/sh -c", "img", "a", "-b"]).unwrap();
        assert_eq!(r.config.entrypoint, Some(vec!["/bin/sh -c".to_string()]));
        assert_eq!(r.config.cmd, Some(vec!["a".to_string(), "-b".to_string()]));
        assert_eq!(r.config.image, "img");
        assert_eq!(request(&["img"]).unwrap().config.entrypoint, None);

        let streams = |args: &[&str]| {
            let c = request(args).unwrap().config;
            (
                c.attach_stdin,
                c.attach_stdout,
                c.attach_stderr,
                c.open_stdin,
                c.stdin_once,
                c.tty,
            )
        };
        assert_eq!(streams(&["img"]), (false, true, true, false, false, false));
        assert_eq!(
            streams(&["-it", "img"]),
            (true, true, true, true, true, true)
        );
        assert_eq!(
            streams(&["-d", "img"]),
            (false, false, false, false, false, false)
        );
        assert_eq!(
            streams(&["-di", "img"]),
            (false, false, false, true, false, false)
        );
        assert_eq!(
            streams(&["-a", "stdin", "img"]),
            (true, false, false, false, false, false)
        );
        assert_eq!(
            streams(&["-i", "-a", "STDOUT", "img"]),
            (true, true, false, true, true, false)
        );
        assert_eq!(
            streams(&["-it", "--tty=false", "img"]),
            (true, true, true, true, true, false)
        );
        assert_eq!(
            streams(&["--detach=false", "--tty=true", "img"]),
            (false, true, true, false, false, true)
        );
        assert_eq!(
            request(&["-a", "foo", "img"]).unwrap_err(),
            "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        );
        assert_eq!(
            request(&["-d", "-a", "stdout", "img"]).unwrap_err(),
            "conflicting options: cannot specify both --attach and --detach"
        );
    }

    #[test]
    fn tmpfs_caps_security_and_network() {
        let r = request(&[
            "--tmpfs",
            "/run:size=1m,mode=700",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/a",
            "--tmpfs",
            "/a:ro",
            "img",
        ])
        .unwrap();
        let tmpfs = r.host_config.tmpfs.unwrap();
        assert_eq!(tmpfs.len(), 3);
        assert_eq!(
            (
                tmpfs["/run"].as_str(),
                tmpfs["/tmp"].as_str(),
                tmpfs["/a"].as_str()
            ),
            ("size=1m,mode=700", "", "ro")
        );
        assert_eq!(request(&["img"]).unwrap().host_config.tmpfs, None);

        let r = request(&[
            "--cap-add",
            "net_admin",
            "--cap-add",
            "CAP_SYS_TIME",
            "--cap-add",
            "chown",
            "--cap-add",
            "all",
            "--cap-drop",
            "chown",
            "--cap-drop",
            "ALL",
            "img",
        ])
        .unwrap();
        assert_eq!(
            r.host_config.cap_add.unwrap(),
            ["ALL", "CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_TIME"]
        );
        assert_eq!(r.host_config.cap_drop.unwrap(), ["ALL", "CAP_CHOWN"]);

        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("p.json");
        std::fs::write(&profile, "{ \"defaultAction\" : \"SCMP_ACT_ALLOW\" }\n").unwrap();
        let seccomp = format!("seccomp={}", profile.display());
        let r = request(&[
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "label:disable",
            "--security-opt",
            &seccomp,
            "--security-opt",
            "seccomp=unconfined",
            "img",
        ])
        .unwrap();
        assert_eq!(
            r.host_config.security_opt.unwrap(),
            [
                "no-new-privileges",
                "label:disable",
                "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
                "seccomp=unconfined"
            ]
        );
        assert_eq!(
            request(&["--security-opt", "foo", "img"]).unwrap_err(),
            "Invalid --security-opt: \"foo\""
        );
        assert_eq!(
            request(&["--security-opt", "x=", "img"]).unwrap_err(),
            "Invalid --security-opt: \"x=\""
        );
        assert_eq!(
            request(&["--security-opt", "seccomp=/nonexistent", "img"]).unwrap_err(),
            "opening seccomp profile (/nonexistent) failed: open /nonexistent: no such file or directory"
        );

        let mode = |args: &[&str]| request(args).map(|r| r.host_config.network_mode);
        assert_eq!(mode(&["img"]), Ok(String::new()));
        assert_eq!(mode(&["--net", "host", "img"]), Ok("host".into()));
        assert_eq!(mode(&["--network=none", "img"]), Ok("none".into()));
        assert_eq!(
            mode(&["--network", "Name=FOO,alias=x", "img"]),
            Ok("foo".into())
        );
        assert_eq!(mode(&["--network", "name=", "img"]), Ok("name=".into()));
        assert_eq!(
            mode(&["--network", "foo=bar", "img"]).unwrap_err(),
            "invalid argument \"foo=bar\" for \"--network\" flag: invalid field key foo"
        );
        assert_eq!(
            mode(&["--network", "alias=x", "img"]).unwrap_err(),
            "invalid argument \"alias=x\" for \"--network\" flag: network name/id is not specified"
        );
        assert_eq!(
            mode(&["--network", "host", "--network", "b", "img"]).unwrap_err(),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
        );
        assert_eq!(
            mode(&["--net", "a", "--net", "a", "img"]).unwrap_err(),
            "network \"a\" is specified multiple times"
        );
        assert!(
            mode(&["--net", "a", "--net", "b", "img"])
                .unwrap_err()
                .contains("not supported")
        );
    }

    #[test]
    fn full_flag_set_parses() {
        let cli = parse(&[
            "-d",
            "-i",
            "-t",
            "--rm",
            "--name",
            "web",
            "-e",
            "A=1",
            "--env",
            "B=2",
            "--env-file",
            "/dev/null",
            "-w",
            "/srv",
            "-u",
            "1000:1000",
            "-h",
            "box",
            "--entrypoint",
            "/bin/sh",
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--pids-limit",
            "-1",
            "--read-only",
            "--tmpfs",
            "/run",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "ALL",
            "--privileged=false",
            "--security-opt",
            "no-new-privileges",
            "--ulimit",
            "nofile=1024:2048",
            "--init",
            "--restart",
            "no",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "-l",
            "a=b",
            "--label-file",
            "/dev/null",
            "--runtime",
            "runc",
            "--net",
            "host",
            "-a",
            "stdout",
            "--platform",
            "linux/amd64",
            "--pull",
            "never",
            "--name",
            "web2",
            "busybox",
            "sh",
            "-c",
            "echo hi",
            "--rm",
        ]);
        let f = &cli.flags;
        assert!(f.detach && f.interactive && f.tty && f.rm && !f.privileged && f.read_only);
        assert_eq!(
            f.name.as_deref(),
            Some("web2"),
            "a repeated flag: the last wins, as pflag"
        );
        assert_eq!(f.env, ["A=1", "B=2"]);
        assert_eq!(f.memory_swap.as_deref(), Some("-1"));
        assert_eq!(f.pids_limit.as_deref(), Some("-1"));
        assert_eq!(f.init, Some(true));
        assert_eq!(f.network, ["host"]);
        assert_eq!(f.platform.as_deref(), Some("linux/amd64"));
        assert_eq!(
            cli.image_and_command,
            ["busybox", "sh", "-c", "echo hi", "--rm"]
        );
        // -d with -a conflicts, as in Docker; without -a the rest converts.
        assert!(f.to_request("busybox", &[]).is_err());
        let mut f = f.clone();
        f.attach.clear();
        let r = f
            .to_request("busybox", &cli.image_and_command[1..])
            .unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["Image"], "busybox");
        assert_eq!(
            json["Cmd"],
            serde_json::json!(["sh", "-c", "echo hi", "--rm"])
        );
        assert_eq!(json["Entrypoint"], serde_json::json!(["/bin/sh"]));
        assert_eq!(json["Env"], serde_json::json!(["A=1", "B=2"]));
        assert_eq!(json["WorkingDir"], "/srv");
        assert_eq!(json["User"], "1000:1000");
        assert_eq!(json["Hostname"], "box");
        assert_eq!(json["StopSignal"], "SIGINT");
        assert_eq!(json["StopTimeout"], 5);
        assert_eq!(json["OpenStdin"], true);
        assert_eq!(json["AttachStdout"], false);
        let hc = &json["HostConfig"];
        assert_eq!(hc["AutoRemove"], true);
        assert_eq!(hc["Memory"], 67108864);
        assert_eq!(hc["MemorySwap"], -1);
        assert_eq!(hc["NanoCpus"], 1_500_000_000i64);
        assert_eq!(hc["CpuShares"], 512);
        assert_eq!(hc["PidsLimit"], -1);
        assert_eq!(hc["ReadonlyRootfs"], true);
        assert_eq!(hc["Tmpfs"], serde_json::json!({"/run": ""}));
        assert_eq!(hc["CapAdd"], serde_json::json!(["CAP_NET_ADMIN"]));
        assert_eq!(hc["CapDrop"], serde_json::json!(["ALL"]));
        assert_eq!(hc["Privileged"], false);
        assert_eq!(hc["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
        assert_eq!(
            hc["Ulimits"],
            serde_json::json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}])
        );
        assert_eq!(hc["Init"], true);
        assert_eq!(
            hc["RestartPolicy"],
            serde_json::json!({"Name": "no", "MaximumRetryCount": 0})
        );
        assert_eq!(hc["Runtime"], "runc");
        assert_eq!(hc["NetworkMode"], "host");

        // Booleans take Go's `=value`, short ones combine.
        let f = parse(&["-dit", "--init=false", "--rm=0", "img"]).flags;
        assert!(f.detach && f.interactive && f.tty && !f.rm);
        assert_eq!(f.init, Some(false));
        assert_eq!(parse(&["img"]).flags.init, None);
        assert_eq!(parse(&["img"]).flags.pull, "missing");
        assert!(Cli::try_parse_from(["run", "--init=no", "img"]).is_err());
        assert_eq!(
            request(&["--pull", "sometimes", "img"]).unwrap_err(),
            "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""
        );
    }
}
