//! Container networking through the `berth` binary, as root, with real traffic (busybox httpd,
//! wget, nc). Each test makes its own networks with its own subnets (10.23x.0.0/24) and removes
//! them; containers go first, so their namespaces (and veths) die before a bridge is deleted.
mod common;

use std::path::Path;

use common::{Env, env};

/// Starts a detached busybox httpd serving "hello from NAME" on port 80.
fn web(env: &Env, name: &str, extra: &[&str]) -> String {
    let script = format!("mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "sh", "-c", &script]);
    env.ok(&args).trim().to_string()
}

fn ip_of(env: &Env, name: &str) -> String {
    env.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name]).trim().to_string()
}

fn bridge_of(env: &Env, net: &str) -> String {
    env.ok(&["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", net]).trim().to_string()
}

/// wget from a fresh container; returns (exit code, body). (Debian's static busybox wget
/// crashes with -T: callers only fetch what answers or fails fast.)
fn fetch(env: &Env, network: &str, url: &str) -> (i32, String) {
    let r = env.berth(&["run", "--rm", "--network", network, "bb", "wget", "-qO-", url]);
    (r.code, r.stdout)
}

/// Whether a TCP connection from a fresh container on `network` to ip:80 succeeds within 2 s.
fn connects(env: &Env, network: &str, ip: &str) -> bool {
    let script = format!("echo 'GET / HTTP/1.0' | nc -w 2 {ip} 80");
    env.berth(&["run", "--rm", "--network", network, "bb", "sh", "-c", &script]).stdout.contains("hello")
}

#[test]
fn user_network_resolves_names_and_aliases() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.231.0.0/24", "appnet"]);
    web(&env, "web", &["--network", "appnet", "--network-alias", "www"]);
    assert_eq!(fetch(&env, "appnet", "http://web:80/"), (0, "hello from web\n".into()));
    assert_eq!(fetch(&env, "appnet", "http://www/"), (0, "hello from web\n".into()));
    // A container started later is added to the running one's /etc/hosts, and removed again.
    let peer = env.ok(&["run", "-d", "--name", "peer", "--network", "appnet", "bb", "sleep", "60"]);
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.lines().any(|l| l.ends_with(&format!("peer {}", &peer.trim()[..12]))), "{hosts}");
    env.ok(&["rm", "-f", "peer"]);
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("peer"), "{hosts}");
    let bridge = bridge_of(&env, "appnet");
    env.ok(&["rm", "-f", "web"]);
    env.ok(&["network", "rm", "appnet"]);
    assert!(!Path::new(&format!("/sys/class/net/{bridge}")).exists(), "bridge {bridge} left behind");
}

#[test]
fn default_bridge_does_not_resolve_names_but_routes_by_address() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    web(&env, "plain", &[]);
    let ip = ip_of(&env, "plain");
    assert!(ip.starts_with("172.") || ip.starts_with("192.168."), "default bridge address {ip}");
    assert_eq!(fetch(&env, "bridge", &format!("http://{ip}/")), (0, "hello from plain\n".into()));
    // No name: not in /etc/hosts, and the DNS server asked (the gateway, which has none)
    // refuses at once.
    let gateway = env.ok(&["inspect", "-f", "{{.NetworkSettings.Gateway}}", "plain"]);
    let r = env.berth(&["run", "--rm", "--dns", gateway.trim(), "bb", "sh", "-c", "cat /etc/hosts; wget -qO- http://plain/"]);
    assert_ne!(r.code, 0, "the default bridge resolved a container name: {}", r.stdout);
    assert!(!r.stdout.contains("plain"), "{}", r.stdout);
    // Docker's files: resolv.conf without loopback nameservers, hostname = short id.
    let out = env.ok(&["run", "--rm", "--dns", "10.9.9.9", "--dns-search", "corp.example", "--add-host", "db:10.1.2.3", "-h", "boxy", "bb", "sh", "-c", "cat /etc/resolv.conf /etc/hosts; hostname"]);
    assert!(out.contains("nameserver 10.9.9.9\nsearch corp.example\n"), "{out}");
    assert!(out.contains("10.1.2.3\tdb\n"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("172.") || l.starts_with("192.168.")) && out.contains("\tboxy\n"), "{out}");
    assert!(out.ends_with("boxy\n"), "{out}");
}

#[test]
fn user_networks_are_isolated_and_internal_has_no_way_out() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.232.0.0/24", "left"]);
    env.ok(&["network", "create", "--subnet", "10.232.1.0/24", "--internal", "right"]);
    web(&env, "lweb", &["--network", "left"]);
    let ip = ip_of(&env, "lweb");
    assert_eq!(fetch(&env, "left", &format!("http://{ip}/")), (0, "hello from lweb\n".into()));
    assert!(connects(&env, "left", &ip));
    assert!(!connects(&env, "right", &ip), "reached a container on another network");
    let routes = env.ok(&["run", "--rm", "--network", "right", "bb", "ip", "route"]);
    assert!(!routes.contains("default"), "internal network has a default route: {routes}");
    assert!(routes.contains("10.232.1.0/24"), "{routes}");
    let routes = env.ok(&["run", "--rm", "--network", "left", "bb", "ip", "route"]);
    assert!(routes.contains("default via 10.232.0.1"), "{routes}");
    let inspect = env.ok(&["network", "inspect", "-f", "{{.Internal}} {{(index .IPAM.Config 0).Subnet}}", "right"]);
    assert_eq!(inspect.trim(), "true 10.232.1.0/24");
}

#[test]
fn leases_are_unique_released_and_reused() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.233.0.0/24", "--gateway", "10.233.0.254", "pool"]);
    env.ok(&["run", "-d", "--name", "ca", "--network", "pool", "bb", "sleep", "60"]);
    env.ok(&["run", "-d", "--name", "cb", "--network", "pool", "bb", "sleep", "60"]);
    env.ok(&["run", "-d", "--name", "cc", "--network", "pool", "--ip", "10.233.0.50", "bb", "sleep", "60"]);
    assert_eq!(ip_of(&env, "ca"), "10.233.0.1");
    assert_eq!(ip_of(&env, "cb"), "10.233.0.2");
    assert_eq!(ip_of(&env, "cc"), "10.233.0.50");
    let taken = env.berth(&["run", "--rm", "--network", "pool", "--ip", "10.233.0.50", "bb", "true"]);
    assert_ne!(taken.code, 0);
    assert!(taken.stderr.contains("Address already in use"), "{}", taken.stderr);
    let eth0 = env.ok(&["exec", "cb", "ip", "-4", "addr", "show", "eth0"]);
    assert!(eth0.contains("inet 10.233.0.2/24"), "{eth0}");
    let mac = env.ok(&["inspect", "-f", "{{.NetworkSettings.MacAddress}}", "cb"]);
    assert_eq!(mac.trim(), "02:42:0a:e9:00:02");
    let containers = env.ok(&["network", "inspect", "-f", "{{json .Containers}}", "pool"]);
    assert_eq!(containers.matches("\"Name\":").count(), 3, "{containers}");
    // In use: refused, and nothing changes.
    let r = env.berth(&["network", "rm", "pool"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("has active endpoints"), "{}", r.stderr);
    env.ok(&["rm", "-f", "ca"]);
    env.ok(&["run", "-d", "--name", "cd", "--network", "pool", "bb", "sleep", "60"]);
    assert_eq!(ip_of(&env, "cd"), "10.233.0.1", "ca's released address is reused");
    let bridge = bridge_of(&env, "pool");
    env.ok(&["rm", "-f", "cb", "cc", "cd"]);
    env.ok(&["network", "rm", "pool"]);
    assert!(!Path::new(&format!("/sys/class/net/{bridge}")).exists());
    let netns = env.root.parent().unwrap().join("run/netns");
    let left: Vec<_> = std::fs::read_dir(&netns).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "netns files left: {left:?}");
}

#[test]
fn network_cli_lists_filters_and_refuses_bad_input() {
    let Some(env) = env() else { return };
    let id = env.ok(&["network", "create", "--subnet", "10.234.0.0/24", "--label", "team=blue", "listed"]);
    assert_eq!(id.trim().len(), 64);
    let names = env.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(names, "bridge bridge\nhost host\nlisted bridge\nnone null\n");
    let q = env.ok(&["network", "ls", "-q", "--filter", "label=team=blue"]);
    assert_eq!(q.trim(), &id.trim()[..12]);
    let dup = env.berth(&["network", "create", "listed"]);
    assert_ne!(dup.code, 0);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let overlap = env.berth(&["network", "create", "--subnet", "10.234.0.128/25", "other"]);
    assert!(overlap.stderr.contains("overlaps"), "{}", overlap.stderr);
    let bad = env.berth(&["network", "create", "--subnet", "10.234.1.0/24", "--gateway", "10.9.9.9", "bad"]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("no matching subnet for gateway"), "{}", bad.stderr);
    let missing = env.berth(&["run", "--rm", "--network", "nosuch", "bb", "true"]);
    assert_ne!(missing.code, 0);
    let r = env.berth(&["network", "rm", "bridge"]);
    assert_ne!(r.code, 0);
    let labels = env.ok(&["network", "inspect", "-f", "{{.Labels.team}} {{.Driver}} {{.Scope}}", "listed"]);
    assert_eq!(labels.trim(), "blue bridge local");
    let pruned = env.ok(&["network", "prune", "-f"]);
    assert!(pruned.contains("listed"), "{pruned}");
    assert_eq!(env.ok(&["network", "ls", "-q", "--filter", "name=listed"]), "");
}
