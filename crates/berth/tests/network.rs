//! Container networking through the `berth` binary, as root, with real traffic (busybox httpd,
//! wget, nc). Each test makes its own networks with its own subnets (10.23x.0.0/24) and removes
//! them; containers go first, so their namespaces (and veths) die before a bridge is deleted.
mod common;

use std::path::Path;

use common::{Env, required_env};

/// Starts a detached busybox httpd serving "hello from NAME" on port 80.
fn web(env: &Env, name: &str, extra: &[&str]) -> String {
    let script = format!(
        "mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www"
    );
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "sh", "-c", &script]);
    env.ok(&args).trim().to_string()
}

fn ip_of(env: &Env, name: &str) -> String {
    env.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name])
        .trim()
        .to_string()
}

fn bridge_of(env: &Env, net: &str) -> String {
    env.ok(&["network", "inspect", "-f", "{{.BerthBridge}}", net])
        .trim()
        .to_string()
}

/// wget from a fresh container; returns (exit code, body). (Debian's static busybox wget
/// crashes with -T: callers only fetch what answers or fails fast.)
fn fetch(env: &Env, network: &str, url: &str) -> (i32, String) {
    let r = env.berth(&[
        "run",
        "--rm",
        "--network",
        network,
        "bb",
        "wget",
        "-qO-",
        url,
    ]);
    (r.code, r.stdout)
}

/// Whether a TCP connection from a fresh container on `network` to ip:80 succeeds within 2 s.
fn connects(env: &Env, network: &str, ip: &str) -> bool {
    let script = format!("echo 'GET / HTTP/1.0' | nc -w 2 {ip} 80");
    env.berth(&[
        "run",
        "--rm",
        "--network",
        network,
        "bb",
        "sh",
        "-c",
        &script,
    ])
    .stdout
    .contains("hello")
}

#[test]
fn user_network_resolves_names_and_aliases() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.231.0.0/24", "appnet"]);
    web(
        &env,
        "web",
        &["--network", "appnet", "--network-alias", "www"],
    );
    assert_eq!(
        fetch(&env, "appnet", "http://web:80/"),
        (0, "hello from web\n".into())
    );
    assert_eq!(
        fetch(&env, "appnet", "http://www/"),
        (0, "hello from web\n".into())
    );
    // A container started later is added to the running one's /etc/hosts, and removed again.
    let peer = env.ok(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "appnet",
        "bb",
        "sleep",
        "60",
    ]);
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(
        hosts
            .lines()
            .any(|l| l.ends_with(&format!("peer {}", &peer.trim()[..12]))),
        "{hosts}"
    );
    env.ok(&["rm", "-f", "peer"]);
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("peer"), "{hosts}");
    let bridge = bridge_of(&env, "appnet");
    env.ok(&["rm", "-f", "web"]);
    env.ok(&["network", "rm", "appnet"]);
    assert!(
        !Path::new(&format!("/sys/class/net/{bridge}")).exists(),
        "bridge {bridge} left behind"
    );
}

#[test]
fn default_bridge_does_not_resolve_names_but_routes_by_address() {
    let env = required_env();
    env.image("bb", &[]);
    web(&env, "plain", &[]);
    let ip = ip_of(&env, "plain");
    assert!(
        ip.starts_with("172.") || ip.starts_with("192.168."),
        "default bridge address {ip}"
    );
    assert_eq!(
        fetch(&env, "bridge", &format!("http://{ip}/")),
        (0, "hello from plain\n".into())
    );
    // No name: not in /etc/hosts, and the DNS server asked (the gateway, which has none)
    // refuses at once.
    let gateway = env.ok(&["inspect", "-f", "{{.NetworkSettings.Gateway}}", "plain"]);
    let r = env.berth(&[
        "run",
        "--rm",
        "--dns",
        gateway.trim(),
        "bb",
        "sh",
        "-c",
        "cat /etc/hosts; wget -qO- http://plain/",
    ]);
    assert_ne!(
        r.code, 0,
        "the default bridge resolved a container name: {}",
        r.stdout
    );
    assert!(!r.stdout.contains("plain"), "{}", r.stdout);
    // Docker's files: resolv.conf without loopback nameservers, hostname = short id.
    let out = env.ok(&[
        "run",
        "--rm",
        "--dns",
        "10.9.9.9",
        "--dns-search",
        "corp.example",
        "--add-host",
        "db:10.1.2.3",
        "-h",
        "boxy",
        "bb",
        "sh",
        "-c",
        "cat /etc/resolv.conf /etc/hosts; hostname",
    ]);
    assert!(
        out.contains("nameserver 10.9.9.9\nsearch corp.example\n"),
        "{out}"
    );
    assert!(out.contains("10.1.2.3\tdb\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("172.") || l.starts_with("192.168."))
            && out.contains("\tboxy\n"),
        "{out}"
    );
    assert!(out.ends_with("boxy\n"), "{out}");
}

#[test]
fn user_networks_are_isolated_and_internal_has_no_way_out() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.232.0.0/24", "left"]);
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.232.1.0/24",
        "--internal",
        "right",
    ]);
    web(&env, "lweb", &["--network", "left"]);
    let ip = ip_of(&env, "lweb");
    assert_eq!(
        fetch(&env, "left", &format!("http://{ip}/")),
        (0, "hello from lweb\n".into())
    );
    assert!(connects(&env, "left", &ip));
    // With forwarding on (outbound traffic needs it), the firewall keeps networks apart.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    assert!(
        !connects(&env, "right", &ip),
        "reached a container on another network"
    );
    let (left_br, right_br) = (bridge_of(&env, "left"), bridge_of(&env, "right"));
    let rules = String::from_utf8_lossy(
        &std::process::Command::new("nft")
            .args(["list", "ruleset"])
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    assert!(
        rules.contains(&format!(
            "ip saddr 10.232.0.0/24 oifname != \"{left_br}\" masquerade"
        )),
        "{rules}"
    );
    assert!(
        !rules.contains("ip saddr 10.232.1.0/24"),
        "an internal network is masqueraded: {rules}"
    );
    assert!(
        rules.contains(&format!(
            "iifname \"{right_br}\" oifname != \"{right_br}\" drop"
        )),
        "{rules}"
    );
    let routes = env.ok(&["run", "--rm", "--network", "right", "bb", "ip", "route"]);
    assert!(
        !routes.contains("default"),
        "internal network has a default route: {routes}"
    );
    assert!(routes.contains("10.232.1.0/24"), "{routes}");
    let routes = env.ok(&["run", "--rm", "--network", "left", "bb", "ip", "route"]);
    assert!(routes.contains("default via 10.232.0.1"), "{routes}");
    let inspect = env.ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Internal}} {{(index .IPAM.Config 0).Subnet}}",
        "right",
    ]);
    assert_eq!(inspect.trim(), "true 10.232.1.0/24");
}

#[test]
fn leases_are_unique_released_and_reused() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.233.0.0/24",
        "--gateway",
        "10.233.0.254",
        "pool",
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "ca",
        "--network",
        "pool",
        "bb",
        "sleep",
        "60",
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "cb",
        "--network",
        "pool",
        "bb",
        "sleep",
        "60",
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "cc",
        "--network",
        "pool",
        "--ip",
        "10.233.0.50",
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(ip_of(&env, "ca"), "10.233.0.1");
    assert_eq!(ip_of(&env, "cb"), "10.233.0.2");
    assert_eq!(ip_of(&env, "cc"), "10.233.0.50");
    let taken = env.berth(&[
        "run",
        "--rm",
        "--network",
        "pool",
        "--ip",
        "10.233.0.50",
        "bb",
        "true",
    ]);
    assert_ne!(taken.code, 0);
    assert!(
        taken.stderr.contains("Address already in use"),
        "{}",
        taken.stderr
    );
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
    env.ok(&[
        "run",
        "-d",
        "--name",
        "cd",
        "--network",
        "pool",
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(
        ip_of(&env, "cd"),
        "10.233.0.1",
        "ca's released address is reused"
    );
    let bridge = bridge_of(&env, "pool");
    env.ok(&["rm", "-f", "cb", "cc", "cd"]);
    env.ok(&["network", "rm", "pool"]);
    assert!(!Path::new(&format!("/sys/class/net/{bridge}")).exists());
    let netns = env.root.parent().unwrap().join("run/netns");
    let left: Vec<_> = std::fs::read_dir(&netns)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "netns files left: {left:?}");
}

#[test]
fn network_cli_lists_filters_and_refuses_bad_input() {
    let env = required_env();
    env.image("bb", &[]);
    let id = env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.234.0.0/24",
        "--label",
        "team=blue",
        "listed",
    ]);
    assert_eq!(id.trim().len(), 64);
    let names = env.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(
        names,
        "bridge bridge\nhost host\nlisted bridge\nnone null\n"
    );
    let q = env.ok(&["network", "ls", "-q", "--filter", "label=team=blue"]);
    assert_eq!(q.trim(), &id.trim()[..12]);
    let dup = env.berth(&["network", "create", "listed"]);
    assert_ne!(dup.code, 0);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let overlap = env.berth(&["network", "create", "--subnet", "10.234.0.128/25", "other"]);
    assert!(overlap.stderr.contains("overlaps"), "{}", overlap.stderr);
    let bad = env.berth(&[
        "network",
        "create",
        "--subnet",
        "10.234.1.0/24",
        "--gateway",
        "10.9.9.9",
        "bad",
    ]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("no matching subnet for gateway"),
        "{}",
        bad.stderr
    );
    let missing = env.berth(&["run", "--rm", "--network", "nosuch", "bb", "true"]);
    assert_ne!(missing.code, 0);
    let r = env.berth(&["network", "rm", "bridge"]);
    assert_ne!(r.code, 0);
    // host and none: listed, filtered and inspected as Docker has them, never removed.
    let builtin = env.ok(&[
        "network",
        "ls",
        "--filter",
        "type=builtin",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(builtin, "bridge\nhost\nnone\n");
    let none_id = env.ok(&[
        "network",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        "driver=null",
    ]);
    assert_eq!(none_id.trim().len(), 64, "{none_id}");
    let inspected = env.ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Name}} {{.Driver}}",
        &none_id.trim()[..12],
    ]);
    assert_eq!(inspected.trim(), "none null");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "onhost",
        "--network",
        "host",
        "bb",
        "sleep",
        "60",
    ]);
    let members = env.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range $id, $c := .Containers}}{{$c.Name}}{{end}}",
        "host",
    ]);
    assert_eq!(members.trim(), "onhost");
    let r = env.berth(&["network", "rm", "none"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("pre-defined network"), "{}", r.stderr);
    let r = env.berth(&["network", "connect", "host", "listed"]);
    assert_ne!(r.code, 0);
    let labels = env.ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Labels.team}} {{.Driver}} {{.Scope}}",
        "listed",
    ]);
    assert_eq!(labels.trim(), "blue bridge local");
    let pruned = env.ok(&["network", "prune", "-f"]);
    assert!(pruned.contains("listed"), "{pruned}");
    assert_eq!(
        env.ok(&["network", "ls", "-q", "--filter", "name=listed"]),
        ""
    );
}

/// The nftables tables whose rules mention `word`.
fn tables_naming(word: &str) -> Vec<String> {
    let out = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut found = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("table ") {
            current = name.trim_end_matches(" {").to_string();
        } else if line.contains(word) && !found.contains(&current) {
            found.push(current.clone());
        }
    }
    found
}

/// A port nobody listens on now (the kernel's pick, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / over a plain TCP connection from the host; the body's last line. Retries refused
/// connections for a few seconds: a detached httpd may not listen yet.
fn http_get(port: u16) -> String {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut attempts = 0;
    let mut stream = loop {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)) {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("connecting to 127.0.0.1:{port}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.lines().last().unwrap_or("").to_string()
}

fn nft_mentions_port(port: u16) -> bool {
    let out = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("dport {port} dnat"))
}

#[test]
fn published_port_answers_on_localhost_and_goes_with_the_container() {
    let env = required_env();
    env.image("bb", &[]);
    let port = free_port();
    web(&env, "pub", &["-p", &format!("127.0.0.1:{port}:80")]);
    assert_eq!(http_get(port), "hello from pub");
    assert_eq!(
        env.ok(&["port", "pub"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    let ports = env.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "pub"]);
    assert_eq!(
        ports.trim(),
        format!("{{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{port}\"}}]}}")
    );
    assert!(nft_mentions_port(port));
    env.ok(&["stop", "-t", "1", "pub"]);
    assert!(
        !nft_mentions_port(port),
        "the DNAT rule outlived the container"
    );
    assert_eq!(env.ok(&["port", "pub"]), "");
    env.ok(&["start", "pub"]);
    assert_eq!(http_get(port), "hello from pub");
    env.ok(&["rm", "-f", "pub"]);
    assert!(!nft_mentions_port(port));
}

#[test]
fn publish_all_maps_exposed_ports_to_free_host_ports() {
    let env = required_env();
    env.image("exposed", &["EXPOSE 80"]);
    let script = "mkdir -p /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www";
    env.ok(&[
        "run", "-d", "--name", "all", "-P", "exposed", "sh", "-c", script,
    ]);
    let mapped = env.ok(&["port", "all", "80"]);
    let port: u16 = mapped
        .trim()
        .strip_prefix("0.0.0.0:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("port printed {mapped:?}"));
    assert_eq!(http_get(port), "exposed");
    let ps = env.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps.trim(), format!("0.0.0.0:{port}->80/tcp"));
}

#[test]
fn taken_host_port_is_refused_before_the_container_starts() {
    let env = required_env();
    env.image("bb", &[]);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let r = env.berth(&[
        "run",
        "-d",
        "--name",
        "clash",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "Bind for 127.0.0.1:{port} failed: port is already allocated"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(env.ok(&["ps", "-q"]), "", "a container runs");
    assert!(!nft_mentions_port(port));
    let netns = env.root.parent().unwrap().join("run/netns");
    assert!(
        std::fs::read_dir(&netns)
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "a netns file was left"
    );
    let bad = env.berth(&["run", "--rm", "-p", "80-82:90-91", "bb", "true"]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("invalid ranges"), "{}", bad.stderr);
    drop(holder);
}

#[test]
fn killed_shim_leaves_no_netns_rule_or_lease() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.235.0.0/24", "crashnet"]);
    let port = free_port();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "victim",
        "--network",
        "crashnet",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "bb",
        "sleep",
        "60",
    ]);
    let id = id.trim();
    let netns = env.root.parent().unwrap().join("run/netns").join(id);
    assert!(netns.exists());
    assert!(nft_mentions_port(port));
    // The shim is the process whose command line is `berth shim ID`.
    let shim: i32 = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (text.contains(" shim ") && text.contains(id))
                .then(|| e.file_name().to_string_lossy().parse().ok())
                .flatten()
        })
        .expect("the container's shim");
    // SAFETY: kill(2) on the shim this test started.
    unsafe { libc::kill(shim, libc::SIGKILL) };
    common::wait_for(
        || !Path::new(&format!("/proc/{shim}")).exists(),
        "the shim to die",
    );
    env.ok(&["ps", "-a"]);
    assert!(!netns.exists(), "netns file left after repair");
    assert!(!nft_mentions_port(port), "DNAT rule left after repair");
    // The stopped container keeps its lease until it is removed; then the network can go.
    assert_ne!(env.berth(&["network", "rm", "crashnet"]).code, 0);
    env.ok(&["rm", "victim"]);
    env.ok(&["network", "rm", "crashnet"]);
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.236.0.0/24", "front"]);
    env.ok(&["network", "create", "--subnet", "10.236.1.0/24", "back"]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "front",
        "bb",
        "sleep",
        "60",
    ]);
    web(&env, "db", &["--network", "back"]);
    let (code, _) = fetch(&env, "front", "http://10.236.1.1/");
    assert_ne!(code, 0);
    env.ok(&[
        "network",
        "connect",
        "--alias",
        "api",
        "--ip",
        "10.236.1.77",
        "back",
        "app",
    ]);
    let addrs = env.ok(&["exec", "app", "ip", "-4", "-o", "addr"]);
    assert!(
        addrs.contains("eth1") && addrs.contains("inet 10.236.1.77/24"),
        "{addrs}"
    );
    assert_eq!(
        env.ok(&["exec", "app", "wget", "-qO-", "http://db/"]),
        "hello from db\n"
    );
    let hosts = env.ok(&["exec", "db", "cat", "/etc/hosts"]);
    assert!(
        hosts
            .lines()
            .any(|l| l.starts_with("10.236.1.77\tapp ") && l.ends_with(" api")),
        "{hosts}"
    );
    let dup = env.berth(&["network", "connect", "back", "app"]);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    env.ok(&["network", "disconnect", "back", "app"]);
    let addrs = env.ok(&["exec", "app", "ip", "-4", "-o", "addr"]);
    assert!(!addrs.contains("10.236.1.77"), "{addrs}");
    let hosts = env.ok(&["exec", "db", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("10.236.1.77"), "{hosts}");
    let again = env.berth(&["network", "disconnect", "back", "app"]);
    assert!(
        again.stderr.contains("is not connected"),
        "{}",
        again.stderr
    );
    env.ok(&["rm", "-f", "app", "db"]);
    env.ok(&["network", "rm", "front", "back"]);
}

#[test]
fn prune_reclaims_bridges_of_vanished_state_roots() {
    let env = required_env();
    let gone = common::required_env();
    gone.ok(&["network", "create", "--subnet", "10.237.0.0/24", "orphan"]);
    let bridge = bridge_of(&gone, "orphan");
    assert!(Path::new(&format!("/sys/class/net/{bridge}")).exists());
    // The other root disappears without cleaning up (as a killed test's would).
    std::fs::remove_file(gone.root.join("berth.db")).unwrap();
    let table = tables_naming(&bridge);
    assert!(
        !table.is_empty(),
        "the vanished root's firewall table should exist before prune"
    );
    env.ok(&["network", "prune", "-f"]);
    assert!(
        tables_naming(&bridge).is_empty(),
        "stale firewall table kept"
    );
    assert!(
        !Path::new(&format!("/sys/class/net/{bridge}")).exists(),
        "stale bridge {bridge} kept"
    );
}
