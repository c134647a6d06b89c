//! Published ports of running containers: chosen and checked when the container starts
//! (before anything is created for it), recorded in the `ports` table, and applied as the
//! state root's firewall table; dropped when the container stops (or its shim died).
//!
//! The firewall table is always the whole truth of the database (networks and ports), never a
//! delta. Many processes change that truth at once (runs, removals, shims, `berth serve`), so
//! reading it and applying it is one step per state root: a process takes an flock on
//! `RUN/firewall.lock`, reads the tables, applies, and records what it applied in
//! `RUN/firewall.applied` (boot id + digest). Whoever applies last has read last, so the table
//! ends as the database says; a waiter that finds its change already applied by another skips
//! the `nft` run. A process killed between its database change and the apply leaves the record
//! behind the truth: the next command's repair ([`Engine::converge_firewall`]) applies it. The
//! kernel drops the flock of a killed holder, so nothing waits on a dead process.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use berth_net::firewall::{self, Firewall, NetworkRule, PortMapping};

use crate::store::{ContainerRecord, PortRow};
use crate::{Engine, Error};

/// The hidden `berth` command that runs a port proxy (see [`run_port_proxy`]).
const PROXY_COMMAND: &str = "port-proxy";

/// `berth port-proxy TARGET`: relays connections accepted on the listening socket at fd 3
/// (bound by [`Engine::publish_ports`]) to TARGET, until killed.
pub fn run_port_proxy(target: &str) -> Result<(), Error> {
    use std::os::fd::FromRawFd;
    let target: std::net::SocketAddr = target
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid proxy target {target}")))?;
    // SAFETY: the engine passes the listening socket as fd 3 (see `spawn_proxy`); taken once.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(3) };
    berth_net::proxy::serve(listener, target).map_err(fw_err)
}

/// Starts `berth port-proxy TARGET` with `listener` as its fd 3 and nothing else inherited;
/// it dies with the calling process (the container's shim). Returns its pid.
fn spawn_proxy(
    listener: &std::net::TcpListener,
    target: std::net::SocketAddr,
) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = listener.as_raw_fd();
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args([PROXY_COMMAND, &target.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: between fork and exec the closure only makes async-signal-safe calls (dup2,
    // fcntl, close_range, prctl) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                // dup2 onto itself would keep close-on-exec.
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The shim's channel and stdio must not stay open in the proxy: close-on-exec
            // for every other descriptor (std's own error pipe among them, as it expects).
            libc::syscall(
                libc::SYS_close_range,
                4u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // The shim reaps it (as every child of its own) when it exits.
    Ok(child.id())
}

/// The flock every process of the state root holds while it reads and applies the firewall.
const FIREWALL_LOCK: &str = "firewall.lock";

/// What was applied last: `<boot id> <digest of the truth> ok|failed`.
const FIREWALL_APPLIED: &str = "firewall.applied";

/// How often a kernel-picked host port is picked again when another container took it meanwhile.
const PICK_ATTEMPTS: usize = 20;

/// The firewall table of a state root: `berth` for the default root, one per other root.
pub(crate) fn firewall_of(root: &std::path::Path) -> firewall::Nftables {
    if root == std::path::Path::new("/var/lib/berth") {
        return firewall::Nftables::new("berth");
    }
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(root.as_os_str().as_encoded_bytes()));
    firewall::Nftables::new(format!("berth-{}", &hash[..8]))
}

/// A published port as `port` and inspect show it.
#[derive(Debug, Clone)]
pub struct PublishedPort {
    /// "80/tcp"
    pub container_port: String,
    pub host_ip: String,
    pub host_port: u16,
}

/// The firewall refuses a port already taken: a 409 (see [`Error::Firewall`]).
fn fw_err(e: berth_net::Error) -> Error {
    Error::Firewall(e)
}

/// "80/tcp" -> (80, "tcp").
fn split_port(key: &str) -> Result<(u16, String), Error> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port = port
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("invalid container port {key}")))?;
    Ok((port, proto.to_ascii_lowercase()))
}

/// What the user asked: (container port, protocol, host ip, host port range).
type Wanted = (u16, String, Option<IpAddr>, Option<(u16, u16)>);

/// What start decided for one published port.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    container_port: u16,
    protocol: String,
    host_ip: Option<IpAddr>,
    host_port: u16,
    /// No host port was asked for: the kernel's pick, which may be picked again if another
    /// container recorded it first (a bound-and-released port is only free for a moment).
    picked: bool,
}

/// The firewall as the database says it should be.
#[derive(Debug, PartialEq, Eq)]
struct FirewallTruth {
    networks: Vec<NetworkRule>,
    mappings: Vec<PortMapping>,
}

impl FirewallTruth {
    fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.mappings.is_empty()
    }

    /// This boot's id and a digest of the rules: the table does not outlive a reboot, the run
    /// dir (not a tmpfs on every host) may.
    fn stamp(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{:?}", self).as_bytes());
        format!("{} {}", boot_id(), hex::encode(digest))
    }
}

fn boot_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// The last apply's record: (stamp, whether it succeeded).
fn read_applied(path: &std::path::Path) -> Option<(String, bool)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (stamp, outcome) = text.trim_end().rsplit_once(' ')?;
    Some((stamp.to_string(), outcome == "ok"))
}

/// Replaces the record atomically (temp file + rename; it only describes kernel state, which
/// no crash preserves, so no fsync).
fn write_applied(path: &std::path::Path, stamp: &str, ok: bool) -> std::io::Result<()> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let outcome = if ok { "ok" } else { "failed" };
    std::fs::write(&temp, format!("{stamp} {outcome}\n"))?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

fn wanted_ports(rec: &ContainerRecord) -> Result<Vec<Wanted>, Error> {
    let hc = &rec.config.host_config;
    let mut out = Vec::new();
    for (key, bindings) in hc.port_bindings.iter().flatten() {
        let (port, proto) = split_port(key)?;
        for b in bindings {
            let ip = match b.host_ip.trim_start_matches('[').trim_end_matches(']') {
                "" | "0.0.0.0" => None,
                ip => Some(ip.parse().map_err(|_| {
                    Error::InvalidArgument(format!("invalid host IP {ip} for port {key}"))
                })?),
            };
            let range = match b.host_port.as_str() {
                "" => None,
                text => {
                    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
                    let parse = |s: &str| {
                        s.parse::<u16>().map_err(|_| {
                            Error::InvalidArgument(format!("invalid host port {text}"))
                        })
                    };
                    Some((parse(lo)?, parse(hi)?))
                }
            };
            out.push((port, proto.clone(), ip, range));
        }
    }
    if hc.publish_all_ports {
        for key in rec
            .config
            .config
            .exposed_ports
            .iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let (port, proto) = split_port(key)?;
            if !out.iter().any(|(p, pr, _, _)| *p == port && *pr == proto) {
                out.push((port, proto, None, None));
            }
        }
    }
    Ok(out)
}

impl Engine {
    /// The state root's firewall table: `berth` for the default root, one per other root.
    fn firewall(&self) -> firewall::Nftables {
        firewall_of(&self.root)
    }

    /// Picks and checks the container's host ports; nothing is recorded or applied yet. A
    /// taken port fails here, before the container's network exists.
    /// `default_ip`: the host address of bindings without one (the network's
    /// `host_binding_ipv4`).
    pub(crate) fn choose_ports(
        &self,
        rec: &ContainerRecord,
        default_ip: Option<IpAddr>,
    ) -> Result<Vec<Chosen>, Error> {
        let mut chosen: Vec<Chosen> = Vec::new();
        for (port, proto, ip, range) in wanted_ports(rec)? {
            let ip = ip.or(default_ip);
            let host_port = match range {
                None => firewall::free_port(&proto, ip).map_err(fw_err)?,
                Some((lo, hi)) if lo == hi => {
                    firewall::check_port_free(&proto, ip, lo).map_err(fw_err)?;
                    lo
                }
                Some((lo, hi)) => (lo..=hi)
                    .find(|p| {
                        firewall::check_port_free(&proto, ip, *p).is_ok()
                            && !chosen.iter().any(|c| c.host_port == *p)
                    })
                    .ok_or_else(|| {
                        Error::Conflict(format!(
                            "no free host port in {lo}-{hi} for {port}/{proto}"
                        ))
                    })?,
            };
            chosen.push(Chosen {
                container_port: port,
                protocol: proto,
                host_ip: ip,
                host_port,
                picked: range.is_none(),
            });
        }
        Ok(chosen)
    }

    /// Records the chosen ports for the container's addresses (one transaction; `ip6` on a
    /// dual-stack network) and applies the firewall table.
    pub(crate) fn publish_ports(
        &self,
        rec: &ContainerRecord,
        chosen: &[Chosen],
        ip: Ipv4Addr,
        ip6: Option<Ipv6Addr>,
        bridge: &str,
    ) -> Result<(), Error> {
        if chosen.is_empty() {
            return Ok(());
        }
        let rows: Vec<PortRow> = chosen
            .iter()
            .map(|c| PortRow {
                protocol: c.protocol.clone(),
                container_port: c.container_port,
                host_ip: c.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                host_port: c.host_port,
                container_ip: ip.to_string(),
                bridge: bridge.to_string(),
                container_ip6: ip6.map(|a| a.to_string()).unwrap_or_default(),
            })
            .collect();
        let mut attempts = vec![1; chosen.len()];
        self.db.replace_ports(&rec.id, &rows, &mut |index, host_port| {
            let c = &chosen[index];
            if !c.picked || attempts[index] >= PICK_ATTEMPTS {
                return Err(Error::Conflict(format!(
                    "driver failed programming external connectivity: Bind for {}:{host_port} failed: port is already allocated",
                    c.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
                )));
            }
            attempts[index] += 1;
            firewall::free_port(&c.protocol, c.host_ip).map_err(fw_err)
        })?;
        firewall::allow_localhost_dnat(bridge).map_err(fw_err)?;
        self.start_proxies(&rec.id, chosen, ip, ip6)?;
        self.sync_firewall()
    }

    /// Where a container's port proxies' pids are kept.
    fn proxies_file(&self, id: &str) -> std::path::PathBuf {
        self.run.join("proxies").join(id)
    }

    /// Starts a userland proxy (see `berth_net::proxy`) for each TCP binding that covers the
    /// IPv6 loopback address, which no DNAT rule can serve: `-p [::1]:P:C`, and `-p P:C` of a
    /// container with an IPv6 address (best effort: ::1 may be taken by someone else). Their
    /// pids go to [`Engine::proxies_file`]; they also die with the calling shim.
    fn start_proxies(
        &self,
        id: &str,
        chosen: &[Chosen],
        ip: Ipv4Addr,
        ip6: Option<Ipv6Addr>,
    ) -> Result<(), Error> {
        let loopback6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let target_ip = ip6.map(IpAddr::V6).unwrap_or(IpAddr::V4(ip));
        let mut pids = Vec::new();
        let mut result = Ok(());
        for c in chosen.iter().filter(|c| c.protocol == "tcp") {
            let explicit = c.host_ip == Some(loopback6);
            let covers_loopback6 = explicit || (c.host_ip.is_none() && ip6.is_some());
            if !covers_loopback6 {
                continue;
            }
            let listener = match std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, c.host_port)) {
                Ok(listener) => listener,
                Err(_) if !explicit => continue,
                Err(_) => {
                    result = Err(Error::Conflict(format!(
                        "driver failed programming external connectivity: Bind for [::1]:{} failed: port is already allocated",
                        c.host_port
                    )));
                    break;
                }
            };
            let target = std::net::SocketAddr::new(target_ip, c.container_port);
            match spawn_proxy(&listener, target) {
                Ok(pid) => pids.push(pid.to_string()),
                Err(e) => {
                    result = Err(Error::Internal(format!("starting a port proxy: {e}")));
                    break;
                }
            }
        }
        if !pids.is_empty() {
            let file = self.proxies_file(id);
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&file, pids.join("\n"));
        }
        if result.is_err() {
            self.stop_proxies(id);
        }
        result
    }

    /// Stops the container's port proxies (each checked to be one before it is killed).
    fn stop_proxies(&self, id: &str) {
        let file = self.proxies_file(id);
        let Ok(text) = std::fs::read_to_string(&file) else {
            return;
        };
        for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(PROXY_COMMAND) {
                // SAFETY: kill(2) on a pid whose command line says it is our proxy.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_file(&file);
    }

    /// The firewall the database describes: every network not being removed, every
    /// published port (one read transaction).
    fn firewall_truth(&self) -> Result<FirewallTruth, Error> {
        let (ports, networks) = self.db.firewall_rows()?;
        let mappings = ports
            .into_iter()
            .map(|p| PortMapping {
                protocol: p.protocol,
                container_port: p.container_port,
                host_ip: p.host_ip.parse().ok(),
                host_port: p.host_port,
                container_ip: p.container_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
                bridge: p.bridge,
                container_ip6: p.container_ip6.parse().ok(),
            })
            .collect();
        let networks = networks
            .into_iter()
            .map(|n| NetworkRule {
                masquerade: n.masquerade(),
                subnet6: n.extra.ipv6.as_ref().map(|p| p.subnet),
                bridge: n.bridge,
                subnet: n.subnet,
                internal: n.internal,
            })
            .collect();
        Ok(FirewallTruth { networks, mappings })
    }

    /// Makes the firewall table what the networks and `ports` tables say, whoever else is
    /// changing them (see the module's doc); turns forwarding on for networks that may reach
    /// beyond their bridge.
    pub(crate) fn sync_firewall(&self) -> Result<(), Error> {
        let _turn =
            berth_net::lock::FileLock::exclusive(&self.run.join(FIREWALL_LOCK)).map_err(fw_err)?;
        self.apply_firewall_locked()
    }

    /// [`Engine::sync_firewall`] for the holder of the lock.
    fn apply_firewall_locked(&self) -> Result<(), Error> {
        let truth = self.firewall_truth()?;
        let stamp = truth.stamp();
        let record = self.run.join(FIREWALL_APPLIED);
        let applied = match read_applied(&record) {
            Some((last, ok)) => ok && last == stamp,
            // Nothing applied in this run dir yet: there is no table, which is right when the
            // truth is empty too.
            None => truth.is_empty(),
        };
        if applied {
            return Ok(());
        }
        let result = (|| {
            if truth.networks.iter().any(|n| !n.internal) {
                firewall::enable_forwarding().map_err(fw_err)?;
            }
            if truth
                .networks
                .iter()
                .any(|n| !n.internal && n.subnet6.is_some())
            {
                firewall::enable_forwarding6().map_err(fw_err)?;
            }
            self.firewall()
                .sync(&truth.networks, &truth.mappings)
                .map_err(fw_err)
        })();
        // Unrecorded, the next command's repair would apply it again: harmless.
        let _ = write_applied(&record, &stamp, result.is_ok());
        result
    }

    /// Whether the database moved on since the last apply (cheap: two small queries and a file
    /// read, no lock, no `nft`). A truth whose apply failed is not owed again until it changes.
    fn firewall_owed(&self) -> bool {
        let Ok(truth) = self.firewall_truth() else {
            return false;
        };
        match read_applied(&self.run.join(FIREWALL_APPLIED)) {
            Some((last, _)) => last != truth.stamp(),
            None => !truth.is_empty(),
        }
    }

    /// Repair: applies the firewall when the database moved on since the last apply (a process
    /// was killed between its change and its apply, or the host rebooted). Never waits: while
    /// another process holds the lock, it is applying (and every live process that changed
    /// the tables applies after its change), so what is owed is left to the next command.
    pub(crate) fn converge_firewall(&self) {
        if !self.firewall_owed() {
            return;
        }
        if let Ok(Some(_turn)) =
            berth_net::lock::FileLock::try_exclusive(&self.run.join(FIREWALL_LOCK))
        {
            let _ = self.apply_firewall_locked();
        }
    }

    /// [`Engine::converge_firewall`] that waits for its turn: what a removal calls before it
    /// returns. The container's shim may have dropped its ports and still be waiting to apply
    /// (behind other applies, on a busy host), its rules live meanwhile; `rm -f` must not
    /// return before they are gone, as Docker's does not.
    pub(crate) fn settle_firewall(&self) {
        if self.firewall_owed() {
            let _ = self.sync_firewall();
        }
    }

    /// Drops a stopped container's published ports.
    pub(crate) fn unpublish_ports(&self, id: &str) {
        self.stop_proxies(id);
        if !self.db.has_ports(id).unwrap_or(true) {
            return;
        }
        let deleted = self.db.delete_ports(id);
        if deleted.is_ok_and(|n| n > 0) {
            let _ = self.sync_firewall();
        }
    }

    /// Repair: ports of containers whose shim is gone are dropped.
    pub(crate) fn repair_ports(&self) {
        let Ok(ids) = self.db.port_containers() else {
            return;
        };
        for id in ids {
            if !self.holder_alive_now(&id) {
                self.unpublish_ports(&id);
            }
        }
    }

    /// A running container's published ports; a binding without a host address of a
    /// dual-stack container shows on `::` too, as Docker shows it.
    pub fn published_ports(&self, id: &str) -> Vec<PublishedPort> {
        let mut out = Vec::new();
        for p in self.db.container_ports(id).unwrap_or_default() {
            let container_port = format!("{}/{}", p.container_port, p.protocol);
            let both_families = p.host_ip.is_empty() && !p.container_ip6.is_empty();
            out.push(PublishedPort {
                container_port: container_port.clone(),
                host_ip: if p.host_ip.is_empty() {
                    "0.0.0.0".into()
                } else {
                    p.host_ip
                },
                host_port: p.host_port,
            });
            if both_families {
                out.push(PublishedPort {
                    container_port,
                    host_ip: "::".into(),
                    host_port: p.host_port,
                });
            }
        }
        out
    }

    /// `berth port CONTAINER`
    pub fn container_ports(&self, name_or_id: &str) -> Result<Vec<PublishedPort>, Error> {
        self.repair();
        let rec = self.container(name_or_id)?;
        Ok(self.published_ports(&rec.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(port: u16) -> PortMapping {
        PortMapping {
            protocol: "tcp".into(),
            host_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            host_port: port,
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            container_port: 80,
            bridge: "br-x".into(),
            container_ip6: None,
        }
    }

    #[test]
    fn the_stamp_follows_the_truth_and_the_record_round_trips() {
        let empty = FirewallTruth {
            networks: vec![],
            mappings: vec![],
        };
        let one = FirewallTruth {
            networks: vec![],
            mappings: vec![mapping(8080)],
        };
        let other = FirewallTruth {
            networks: vec![],
            mappings: vec![mapping(8081)],
        };
        assert!(empty.is_empty() && !one.is_empty());
        assert_eq!(one.stamp(), one.stamp());
        assert_ne!(one.stamp(), other.stamp());
        assert_ne!(one.stamp(), empty.stamp());

        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join(FIREWALL_APPLIED);
        assert_eq!(read_applied(&record), None);
        write_applied(&record, &one.stamp(), true).unwrap();
        assert_eq!(read_applied(&record), Some((one.stamp(), true)));
        write_applied(&record, &other.stamp(), false).unwrap();
        assert_eq!(read_applied(&record), Some((other.stamp(), false)));
        // Only the record is left: the temp file was renamed over it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
