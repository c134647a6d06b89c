//! The `run`/`create` flags, Docker's names and meanings, and their conversion into the
//! engine's Docker-shaped create request (the same body `POST /containers/create` takes).

use std::collections::BTreeMap;

use berth_engine::types::{CreateRequest, RestartPolicy, Ulimit};
use clap::ArgAction;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunFlags {
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short, long, action = ArgAction::Append)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, action = ArgAction::Append)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs directory
    #[arg(long, action = ArgAction::Append)]
    pub tmpfs: Vec<String>,
    /// Add Linux capabilities
    #[arg(long, action = ArgAction::Append)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, action = ArgAction::Append)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Security Options
    #[arg(long, action = ArgAction::Append)]
    pub security_opt: Vec<String>,
    /// Ulimit options
    #[arg(long, action = ArgAction::Append)]
    pub ulimit: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Set meta data on a container
    #[arg(short, long, action = ArgAction::Append)]
    pub label: Vec<String>,
    /// Runtime to use for this container
    #[arg(long)]
    pub runtime: Option<String>,
    /// Connect a container to a network
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long, action = ArgAction::Append)]
    pub attach: Vec<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long)]
    pub pull: Option<String>,
}

/// Docker's RAMInBytes: a number with an optional binary unit (b, k, m, g, t, p; "kb"/"kib"
/// accepted), case-insensitive.
pub fn parse_memory(value: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{value}'");
    let lower = value.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim();
    let unit = unit.strip_suffix("ib").or_else(|| unit.strip_suffix('b')).unwrap_or(unit);
    let multiplier: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(invalid()),
    };
    Ok((number * multiplier) as i64)
}

/// Reads a Docker env file: `KEY=VALUE` lines, `#` comments, blank lines skipped, a bare
/// `KEY` takes the caller's value (dropped when unset). No quote processing, as Docker.
pub fn read_env_file(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some(("", _)) => return Err(format!("{path}:{}: no variable name on line '{line}'", n + 1)),
            Some(_) => out.push(line.to_string()),
            None => {
                if line.contains(char::is_whitespace) {
                    return Err(format!("{path}:{}: variable '{line}' contains whitespaces", n + 1));
                }
                if let Ok(v) = std::env::var(line) {
                    out.push(format!("{line}={v}"));
                }
            }
        }
    }
    Ok(out)
}

fn flag_error(value: &str, flag: &str, reason: String) -> String {
    format!("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")
}

impl RunFlags {
    /// Builds the create request for IMAGE and COMMAND, with Docker CLI's error wording.
    pub fn to_request(&self, image: &str, command: &[String]) -> Result<CreateRequest, String> {
        let mut env = Vec::new();
        for file in &self.env_file {
            env.extend(read_env_file(file)?);
        }
        for kv in &self.env {
            if kv.contains('=') {
                env.push(kv.clone());
            } else if let Ok(v) = std::env::var(kv) {
                env.push(format!("{kv}={v}"));
            }
        }
        let memory = self
            .memory
            .as_deref()
            .map(|m| parse_memory(m).map_err(|e| flag_error(m, "-m, --memory", e)))
            .transpose()?
            .unwrap_or(0);
        let memory_swap = match self.memory_swap.as_deref() {
            None => 0,
            Some("-1") => -1,
            Some(v) => parse_memory(v).map_err(|e| flag_error(v, "--memory-swap", e))?,
        };
        let nano_cpus = match &self.cpus {
            None => 0,
            Some(v) => {
                let cpus: f64 = v.parse().map_err(|_| flag_error(v, "--cpus", format!("failed to parse {v} as a rational number")))?;
                (cpus * 1e9).round() as i64
            }
        };
        let restart_policy = match self.restart.split_once(':') {
            _ if self.restart.is_empty() || self.restart == "no" => RestartPolicy::default(),
            Some(("on-failure", n)) => RestartPolicy {
                name: "on-failure".into(),
                maximum_retry_count: n.parse().map_err(|_| format!("invalid restart policy format: maximum retry count must be an integer"))?,
            },
            None if matches!(self.restart.as_str(), "always" | "unless-stopped" | "on-failure") => {
                RestartPolicy { name: self.restart.clone(), maximum_retry_count: 0 }
            }
            _ => return Err(format!("invalid restart policy format: unknown policy '{}'", self.restart)),
        };
        let mut ulimits = Vec::new();
        for u in &self.ulimit {
            let bad = || flag_error(u, "--ulimit", format!("invalid ulimit argument: {u}"));
            let (name, limits) = u.split_once('=').ok_or_else(bad)?;
            let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
            ulimits.push(Ulimit {
                name: name.to_string(),
                soft: soft.parse().map_err(|_| bad())?,
                hard: hard.parse().map_err(|_| bad())?,
            });
        }
        let tmpfs: BTreeMap<String, String> = self
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), opts.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect();
        let labels: BTreeMap<String, String> = self
            .label
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.clone(), String::new()),
            })
            .collect();
        let attach_all = !self.detach && self.attach.is_empty();
        let mut request = CreateRequest::default();
        let c = &mut request.config;
        c.image = image.to_string();
        c.cmd = (!command.is_empty()).then(|| command.to_vec());
        c.entrypoint = self.entrypoint.as_ref().map(|e| if e.is_empty() { Vec::new() } else { vec![e.clone()] });
        c.env = Some(env);
        c.tty = self.tty;
        c.open_stdin = self.interactive;
        c.stdin_once = self.interactive && !self.detach;
        c.attach_stdin = self.interactive && !self.detach;
        c.attach_stdout = attach_all || self.attach.iter().any(|a| a.eq_ignore_ascii_case("stdout"));
        c.attach_stderr = attach_all || self.attach.iter().any(|a| a.eq_ignore_ascii_case("stderr"));
        c.working_dir = self.workdir.clone().unwrap_or_default();
        c.user = self.user.clone().unwrap_or_default();
        c.hostname = self.hostname.clone().unwrap_or_default();
        c.labels = Some(labels);
        c.stop_signal = self.stop_signal.clone();
        c.stop_timeout = self.stop_timeout;
        let hc = &mut request.host_config;
        hc.auto_remove = self.rm;
        hc.memory = memory;
        hc.memory_swap = memory_swap;
        hc.nano_cpus = nano_cpus;
        hc.cpu_shares = self.cpu_shares.unwrap_or(0);
        hc.pids_limit = self.pids_limit;
        hc.readonly_rootfs = self.read_only;
        hc.tmpfs = (!tmpfs.is_empty()).then_some(tmpfs);
        hc.cap_add = (!self.cap_add.is_empty()).then(|| self.cap_add.clone());
        hc.cap_drop = (!self.cap_drop.is_empty()).then(|| self.cap_drop.clone());
        hc.privileged = self.privileged;
        hc.security_opt = (!self.security_opt.is_empty()).then(|| self.security_opt.clone());
        hc.ulimits = (!ulimits.is_empty()).then_some(ulimits);
        hc.init = self.init.then_some(true);
        hc.restart_policy = restart_policy;
        hc.runtime = self.runtime.clone().unwrap_or_default();
        hc.network_mode = self.network.clone().unwrap_or_default();
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_follow_docker() {
        assert_eq!(parse_memory("64m"), Ok(67108864));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("1.5g"), Ok(3 << 29));
        assert_eq!(parse_memory("512"), Ok(512));
        assert_eq!(parse_memory("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_memory("12zz"), Err("invalid size: '12zz'".into()));
        let flags = RunFlags { memory: Some("12zz".into()), ..Default::default() };
        assert_eq!(
            flags.to_request("img", &[]).unwrap_err(),
            "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid size: '12zz'"
        );
    }

    #[test]
    fn flags_map_to_the_create_request() {
        let flags = RunFlags {
            cpus: Some("1.5".into()),
            restart: "on-failure:3".into(),
            ulimit: vec!["nofile=100:200".into(), "nproc=5".into()],
            entrypoint: Some(String::new()),
            label: vec!["a=b".into(), "c".into()],
            tmpfs: vec!["/run:size=1m".into()],
            interactive: true,
            ..Default::default()
        };
        let r = flags.to_request("img", &["echo".into()]).unwrap();
        assert_eq!(r.host_config.nano_cpus, 1_500_000_000);
        assert_eq!(r.host_config.restart_policy, RestartPolicy { name: "on-failure".into(), maximum_retry_count: 3 });
        assert_eq!(r.host_config.ulimits.as_ref().unwrap()[1], Ulimit { name: "nproc".into(), soft: 5, hard: 5 });
        assert_eq!(r.config.entrypoint, Some(vec![]));
        assert_eq!(r.config.labels.as_ref().unwrap()["c"], "");
        assert_eq!(r.host_config.tmpfs.as_ref().unwrap()["/run"], "size=1m");
        assert!(r.config.open_stdin && r.config.attach_stdin);
        assert!(RunFlags { cpus: Some("abc".into()), ..Default::default() }.to_request("i", &[]).is_err());
        assert!(RunFlags { restart: "sometimes".into(), ..Default::default() }.to_request("i", &[]).is_err());
    }

    #[test]
    fn env_file_follows_docker_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        std::fs::write(&path, "# comment\n\nA=1\nB=\"quoted\"\nBERTH_SURELY_UNSET_VAR\n").unwrap();
        assert_eq!(read_env_file(path.to_str().unwrap()).unwrap(), vec!["A=1", "B=\"quoted\""]);
        assert!(read_env_file("/nonexistent/env").unwrap_err().contains("/nonexistent/env"));
    }
}
