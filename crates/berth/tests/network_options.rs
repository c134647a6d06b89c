//! Network options and IPv6 dual stack, through the `berth` binary and through the real docker
//! CLI and raw HTTP against `berth serve`, as root, with real traffic (busybox httpd, wget,
//! nc). Each test uses its own subnets (10.24x.0.0/24, fd00:b0e:4x::/64), bridge names and host
//! ports, and checks that nothing (bridge, nft rule) outlives its network.
mod common;

use common::http::http;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use common::serve::Serve;
use common::{Env, required_env};

/// Starts a detached busybox httpd serving "hello from NAME" on port 80 (both families).
fn web(env: &Env, name: &str, extra: &[&str]) -> String {
    let script = format!(
        "mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www"
    );
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "sh", "-c", &script]);
    env.ok(&args).trim().to_string()
}

fn inspect(env: &Env, template: &str, name: &str) -> String {
    env.ok(&["inspect", "-f", template, name])
        .trim()
        .to_string()
}

fn network_inspect(env: &Env, template: &str, name: &str) -> String {
    env.ok(&["network", "inspect", "-f", template, name])
        .trim()
        .to_string()
}

/// Whether a TCP connection from a fresh container on `network` to `host`:80 gets the page
/// within 2 s (`host` may be a bracketed IPv6 address).
fn connects(env: &Env, network: &str, host: &str) -> bool {
    let script = format!("echo 'GET / HTTP/1.0' | nc -w 2 {host} 80");
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

fn ruleset() -> String {
    let out = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A port nobody listens on now (the kernel's pick, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / over TCP from the host to `addr`; the body's last line. Retries refused connections
/// for a few seconds: a detached httpd may not listen yet.
fn http_get(addr: std::net::SocketAddr) -> String {
    // A published port's proxy accepts before the container's server may listen: it then closes
    // the client's connection with nothing said. Such an empty answer is retried too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = http_get_once(addr);
        if !answer.is_empty() || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http_get_once(addr: std::net::SocketAddr) -> String {
    let mut attempts = 0;
    let mut stream = loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("connecting to {addr}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A reset from a proxy whose backend refused is an empty answer, not a failure.
    let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.lines().last().unwrap_or("").to_string()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A name unique to this process (bridges and networks of tests running side by side).
fn unique(prefix: &str) -> String {
    format!("{prefix}{:x}", std::process::id() & 0xffff)
}

#[test]
fn driver_options_are_stored_shown_and_honoured() {
    let env = required_env();
    env.image("bb", &[]);
    let bridge = unique("bo-");
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.241.0.0/24",
        "-o",
        &format!("com.docker.network.bridge.name={bridge}"),
        "-o",
        "com.docker.network.driver.mtu=1400",
        "-o",
        "com.docker.network.bridge.enable_icc=false",
        "-o",
        "com.docker.network.bridge.enable_ip_masquerade=false",
        "-o",
        "org.example.custom=kept",
        "--ipam-opt",
        "org.example.pool=p1",
        "--aux-address",
        "router=10.241.0.2",
        "opts",
    ]);
    // Stored and shown as given.
    let options = network_inspect(&env, "{{json .Options}}", "opts");
    for expected in [
        format!("\"com.docker.network.bridge.name\":\"{bridge}\""),
        "\"com.docker.network.driver.mtu\":\"1400\"".to_string(),
        "\"com.docker.network.bridge.enable_icc\":\"false\"".to_string(),
        "\"com.docker.network.bridge.enable_ip_masquerade\":\"false\"".to_string(),
        "\"org.example.custom\":\"kept\"".to_string(),
    ] {
        assert!(options.contains(&expected), "{expected} not in {options}");
    }
    assert_eq!(
        network_inspect(&env, "{{json .IPAM.Options}}", "opts"),
        "{\"org.example.pool\":\"p1\"}"
    );
    assert_eq!(
        network_inspect(
            &env,
            "{{json (index .IPAM.Config 0).AuxiliaryAddresses}}",
            "opts"
        ),
        "{\"router\":\"10.241.0.2\"}"
    );
    // The bridge has the given name and MTU.
    assert!(link_exists(&bridge), "no bridge {bridge}");
    assert_eq!(network_inspect(&env, "{{.BerthBridge}}", "opts"), bridge);
    web(&env, "iweb", &["--network", "opts"]);
    // The auxiliary address is reserved: the first lease skips it, and nobody may ask for it.
    let ip = inspect(&env, "{{.NetworkSettings.IPAddress}}", "iweb");
    assert_eq!(ip, "10.241.0.3");
    let taken = env.berth(&[
        "run",
        "--rm",
        "--network",
        "opts",
        "--ip",
        "10.241.0.2",
        "bb",
        "true",
    ]);
    assert_eq!(taken.code, 125, "{}", taken.stderr);
    assert!(
        taken.stderr.contains("Address already in use"),
        "{}",
        taken.stderr
    );
    let mtu = env.ok(&[
        "run",
        "--rm",
        "--network",
        "opts",
        "bb",
        "cat",
        "/sys/class/net/eth0/mtu",
    ]);
    assert_eq!(mtu.trim(), "1400");
    assert_eq!(
        std::fs::read_to_string(format!("/sys/class/net/{bridge}/mtu"))
            .unwrap()
            .trim(),
        "1400"
    );
    // enable_icc=false: a neighbour cannot reach the web server, the host (gateway) can.
    assert!(
        !connects(&env, "opts", &ip),
        "containers reached each other with enable_icc=false"
    );
    let from_host = std::process::Command::new("busybox")
        .args(["wget", "-qO-", &format!("http://{ip}/")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&from_host.stdout),
        "hello from iweb\n"
    );
    // enable_ip_masquerade=false: no masquerade rule for the subnet.
    let rules = ruleset();
    assert!(
        !rules.contains("ip saddr 10.241.0.0/24"),
        "masqueraded despite enable_ip_masquerade=false: {rules}"
    );
    // The default network shows its settings as dockerd shows docker0's.
    let defaults = network_inspect(&env, "{{json .Options}}", "bridge");
    for expected in [
        "\"com.docker.network.bridge.default_bridge\":\"true\"",
        "\"com.docker.network.bridge.enable_icc\":\"true\"",
        "\"com.docker.network.bridge.enable_ip_masquerade\":\"true\"",
        "\"com.docker.network.bridge.host_binding_ipv4\":\"0.0.0.0\"",
        "\"com.docker.network.driver.mtu\":\"1500\"",
    ] {
        assert!(defaults.contains(expected), "{expected} not in {defaults}");
    }
    // Docker's names and duplicates.
    let duplicate = env.berth(&["network", "create", "opts"]);
    assert_eq!(duplicate.code, 1);
    assert!(
        duplicate
            .stderr
            .contains("network with name opts already exists"),
        "{}",
        duplicate.stderr
    );
    let bad = env.berth(&["network", "create", "bad/name"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("[a-zA-Z0-9][a-zA-Z0-9_.-]"),
        "{}",
        bad.stderr
    );
    env.ok(&["rm", "-f", "iweb"]);
    env.ok(&["network", "rm", "opts"]);
    assert!(
        !link_exists(&bridge),
        "bridge {bridge} outlived its network"
    );
}

#[test]
fn host_binding_and_internal_networks_decide_where_ports_go() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.244.0.0/24",
        "-o",
        "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
        "local",
    ]);
    let port = free_port();
    web(
        &env,
        "hb",
        &["--network", "local", "-p", &format!("{port}:80")],
    );
    assert_eq!(
        inspect(&env, "{{json .NetworkSettings.Ports}}", "hb"),
        format!("{{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{port}\"}}]}}")
    );
    assert_eq!(http_get(([127, 0, 0, 1], port).into()), "hello from hb");
    assert!(
        ruleset().contains(&format!("ip daddr 127.0.0.1 tcp dport {port} dnat")),
        "the binding is not limited to 127.0.0.1"
    );
    // --internal: containers still reach each other, but nothing is published.
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.244.1.0/24",
        "--ipv6",
        "--subnet",
        "fd00:b0e:44::/64",
        "--internal",
        "inner",
    ]);
    let inner_port = free_port();
    web(
        &env,
        "iw",
        &["--network", "inner", "-p", &format!("{inner_port}:80")],
    );
    let ip = inspect(&env, "{{.NetworkSettings.IPAddress}}", "iw");
    assert!(connects(&env, "inner", &ip), "internal peers cut off");
    assert!(
        connects(&env, "inner", "fd00:b0e:44::2"),
        "internal peers cut off over IPv6"
    );
    let routes = env.ok(&["run", "--rm", "--network", "inner", "bb", "ip", "route"]);
    let routes6 = env.ok(&[
        "run",
        "--rm",
        "--network",
        "inner",
        "bb",
        "ip",
        "-6",
        "route",
    ]);
    assert!(
        !routes.contains("default") && !routes6.contains("default"),
        "an internal network routes out: {routes}{routes6}"
    );
    assert!(
        !ruleset().contains("fd00:b0e:44::/64 oifname"),
        "an internal network is masqueraded"
    );
    assert!(
        !ruleset().contains(&format!("dport {inner_port} ")),
        "a port was published from an internal network"
    );
    assert_eq!(env.ok(&["port", "iw"]), "");
    env.ok(&["rm", "-f", "hb", "iw"]);
    env.ok(&["network", "rm", "local", "inner"]);
}

#[test]
fn endpoint_settings_are_applied_echoed_and_checked() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "10.245.0.0/24",
        "--subnet",
        "fd00:b0e:45::/64",
        "ep",
    ]);
    env.ok(&["network", "create", "--subnet", "10.245.1.0/24", "other"]);
    web(
        &env,
        "fixed",
        &[
            "--network",
            "ep",
            "--ip",
            "10.245.0.50",
            "--ip6",
            "fd00:b0e:45::50",
            "--mac-address",
            "92:d0:c6:0a:29:33",
        ],
    );
    let addresses = env.ok(&["exec", "fixed", "ip", "addr", "show", "eth0"]);
    for expected in ["10.245.0.50/24", "fd00:b0e:45::50/64", "92:d0:c6:0a:29:33"] {
        assert!(
            addresses.contains(expected),
            "{expected} not in {addresses}"
        );
    }
    assert_eq!(
        inspect(
            &env,
            "{{json .NetworkSettings.Networks.ep.IPAMConfig}}",
            "fixed"
        ),
        "{\"IPv4Address\":\"10.245.0.50\",\"IPv6Address\":\"fd00:b0e:45::50\"}"
    );
    assert_eq!(
        inspect(
            &env,
            "{{.NetworkSettings.Networks.ep.MacAddress}} {{.NetworkSettings.Networks.ep.GlobalIPv6Address}}",
            "fixed"
        ),
        "92:d0:c6:0a:29:33 fd00:b0e:45::50"
    );
    // network connect with addresses of both families and a link-local one.
    env.ok(&[
        "network",
        "connect",
        "--ip",
        "10.245.1.60",
        "--link-local-ip",
        "169.254.7.7",
        "other",
        "fixed",
    ]);
    let eth1 = env.ok(&["exec", "fixed", "ip", "addr", "show", "eth1"]);
    assert!(eth1.contains("10.245.1.60/24"), "{eth1}");
    assert!(eth1.contains("169.254.7.7/16"), "{eth1}");
    assert_eq!(
        inspect(
            &env,
            "{{json .NetworkSettings.Networks.other.IPAMConfig}}",
            "fixed"
        ),
        "{\"IPv4Address\":\"10.245.1.60\",\"LinkLocalIPs\":[\"169.254.7.7\"]}"
    );
    // Refusals, with dockerd's words and exit code 125.
    let refused = |args: &[&str], words: &str| {
        let r = env.berth(args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    };
    refused(
        &[
            "run",
            "--rm",
            "--network",
            "ep",
            "--ip",
            "10.9.9.9",
            "bb",
            "true",
        ],
        "no configured subnet or ip-range contain the IP address 10.9.9.9",
    );
    refused(
        &[
            "run",
            "--rm",
            "--network",
            "ep",
            "--ip6",
            "fd00:dead::1",
            "bb",
            "true",
        ],
        "no configured subnet or ip-range contain the IP address fd00:dead::1",
    );
    refused(
        &[
            "run",
            "--rm",
            "--network",
            "ep",
            "--ip",
            "10.245.0.50",
            "bb",
            "true",
        ],
        "Address already in use",
    );
    refused(
        &[
            "run",
            "--rm",
            "--network",
            "ep",
            "--ip6",
            "fd00:b0e:45::50",
            "bb",
            "true",
        ],
        "Address already in use",
    );
    refused(
        &["run", "--rm", "--ip", "172.17.0.99", "bb", "true"],
        "user specified IP address is supported on user defined networks only",
    );
    // A container not started yet shows what it asked for.
    env.ok(&[
        "create",
        "--name",
        "pending",
        "--network",
        "ep",
        "--ip6",
        "fd00:b0e:45::70",
        "bb",
        "true",
    ]);
    assert_eq!(
        inspect(
            &env,
            "{{json .NetworkSettings.Networks.ep.IPAMConfig}}",
            "pending"
        ),
        "{\"IPv4Address\":\"\",\"IPv6Address\":\"fd00:b0e:45::70\"}"
    );
    env.ok(&["rm", "pending"]);
    // --ipv6 without an IPv6 subnet: a unique local /64 of its own.
    env.ok(&["network", "create", "--ipv6", "auto6"]);
    let pools = network_inspect(&env, "{{range .IPAM.Config}}{{.Subnet}};{{end}}", "auto6");
    let v6 = pools.split(';').nth(1).unwrap_or_default();
    assert!(v6.starts_with("fd") && v6.ends_with("::/64"), "{pools}");
    env.ok(&["rm", "-f", "fixed"]);
    env.ok(&["network", "rm", "ep", "other", "auto6"]);
}

#[test]
fn ipv6_dual_stack_talks_publishes_and_cleans_up() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "10.246.0.0/24",
        "--subnet",
        "fd00:b0e:46::/64",
        "dual",
    ]);
    let bridge = network_inspect(&env, "{{.BerthBridge}}", "dual");
    assert_eq!(network_inspect(&env, "{{.EnableIPv6}}", "dual"), "true");
    assert_eq!(
        network_inspect(
            &env,
            "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}};{{end}}",
            "dual"
        ),
        "10.246.0.0/24 10.246.0.1;fd00:b0e:46::/64 fd00:b0e:46::1;"
    );
    let local_port = free_port();
    let any_port = free_port();
    web(
        &env,
        "v6web",
        &[
            "--network",
            "dual",
            "-p",
            &format!("[::1]:{local_port}:80"),
            "-p",
            &format!("{any_port}:80"),
        ],
    );
    assert_eq!(
        inspect(
            &env,
            "{{with .NetworkSettings.Networks.dual}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}",
            "v6web"
        ),
        "fd00:b0e:46::2/64 fd00:b0e:46::1"
    );
    let member = network_inspect(
        &env,
        "{{range .Containers}}{{.IPv4Address}} {{.IPv6Address}}{{end}}",
        "dual",
    );
    assert_eq!(member, "10.246.0.2/24 fd00:b0e:46::2/64");
    // Container to container over IPv6.
    assert!(
        connects(&env, "dual", "fd00:b0e:46::2"),
        "no IPv6 path between containers"
    );
    let routes = env.ok(&[
        "run",
        "--rm",
        "--network",
        "dual",
        "bb",
        "ip",
        "-6",
        "route",
    ]);
    assert!(routes.contains("default via fd00:b0e:46::1"), "{routes}");
    // Published on IPv6: the [::1] binding, and the binding without an address on both.
    let v6_loopback = std::net::Ipv6Addr::LOCALHOST;
    assert_eq!(
        http_get((v6_loopback, local_port).into()),
        "hello from v6web"
    );
    assert_eq!(http_get((v6_loopback, any_port).into()), "hello from v6web");
    assert_eq!(
        http_get(([127, 0, 0, 1], any_port).into()),
        "hello from v6web"
    );
    let ports = env.ok(&["port", "v6web"]);
    for expected in [
        format!("80/tcp -> [::1]:{local_port}"),
        format!("80/tcp -> 0.0.0.0:{any_port}"),
        format!("80/tcp -> [::]:{any_port}"),
    ] {
        assert!(ports.contains(&expected), "{expected} not in {ports}");
    }
    let rules = ruleset();
    assert!(
        rules.contains("ip6 saddr fd00:b0e:46::/64"),
        "no IPv6 masquerade: {rules}"
    );
    assert!(
        rules.contains("dnat ip6 to [fd00:b0e:46::2]:80"),
        "no IPv6 DNAT: {rules}"
    );
    // Everything goes with the container and the network: the rules, and the proxy that
    // serves ::1 (the kernel cannot route ::1 to a bridge).
    env.ok(&["rm", "-f", "v6web"]);
    assert!(
        std::net::TcpStream::connect((v6_loopback, local_port)).is_err(),
        "[::1]:{local_port} still answers after the container went"
    );
    assert!(
        !ruleset().contains("fd00:b0e:46::2"),
        "IPv6 DNAT rules outlived the container"
    );
    env.ok(&["network", "rm", "dual"]);
    assert!(
        !link_exists(&bridge),
        "bridge {bridge} outlived its network"
    );
    let rules = ruleset();
    assert!(
        !rules.contains("fd00:b0e:46") && !rules.contains("10.246.0."),
        "rules outlived the network: {rules}"
    );
}

const DOCKER: &str = "/usr/local/bin/docker";

#[test]
fn api_and_docker_cli_create_dual_stack_networks_with_options_and_endpoints() {
    let env = required_env();
    if !Path::new(DOCKER).is_file() {
        common::cannot_run(&format!("{DOCKER} is not installed"));
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let _server = Serve::start(cmd, socket.clone());
    let docker = |args: &[&str]| {
        let out = std::process::Command::new(DOCKER)
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", env.run.parent().unwrap().join("docker"))
            .output()
            .unwrap();
        common::Run::from(out)
    };
    // Raw API: options, both pools, auxiliary addresses.
    let body = r#"{"Name":"apinet","CheckDuplicate":true,"EnableIPv6":true,
        "Options":{"com.docker.network.driver.mtu":"1450","x.y":"z"},
        "IPAM":{"Driver":"default","Options":{"a":"b"},"Config":[
          {"Subnet":"10.247.0.0/24","Gateway":"10.247.0.254","AuxiliaryAddresses":{"gw2":"10.247.0.2"}},
          {"Subnet":"fd00:b0e:47::/64","IPRange":"fd00:b0e:47::100/120"}]}}"#;
    let (status, reply) = http(&socket, "POST", "/networks/create", body);
    assert_eq!(status, 201, "{reply}");
    let (status, reply) = http(&socket, "POST", "/networks/create", body);
    assert_eq!(status, 409, "{reply}");
    assert!(
        reply.contains("network with name apinet already exists"),
        "{reply}"
    );
    let (status, reply) = http(&socket, "POST", "/networks/create", r#"{"Name":"no good"}"#);
    assert_eq!(status, 400, "{reply}");
    let (_, doc) = http(&socket, "GET", "/networks/apinet", "");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["EnableIPv6"], true);
    assert_eq!(doc["Options"]["com.docker.network.driver.mtu"], "1450");
    assert_eq!(doc["Options"]["x.y"], "z");
    assert_eq!(doc["IPAM"]["Options"]["a"], "b");
    assert_eq!(doc["IPAM"]["Config"][0]["Gateway"], "10.247.0.254");
    assert_eq!(
        doc["IPAM"]["Config"][0]["AuxiliaryAddresses"]["gw2"],
        "10.247.0.2"
    );
    assert_eq!(doc["IPAM"]["Config"][1]["Subnet"], "fd00:b0e:47::/64");
    assert_eq!(doc["IPAM"]["Config"][1]["IPRange"], "fd00:b0e:47::100/120");

    // The docker CLI: create a container, connect it with a MAC and addresses, start it.
    let r = docker(&["create", "--name", "api1", "bb", "sleep", "60"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (status, reply) = http(
        &socket,
        "POST",
        "/networks/apinet/connect",
        r#"{"Container":"api1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.247.0.77","IPv6Address":"fd00:b0e:47::177"},"MacAddress":"02:aa:bb:cc:dd:ee"}}"#,
    );
    assert_eq!(status, 200, "{reply}");
    let r = docker(&["start", "api1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = docker(&["exec", "api1", "ip", "addr", "show", "eth1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for expected in [
        "10.247.0.77/24",
        "fd00:b0e:47::177/64",
        "02:aa:bb:cc:dd:ee",
        "mtu 1450",
    ] {
        assert!(
            r.stdout.contains(expected),
            "{expected} not in {}",
            r.stdout
        );
    }
    let r = docker(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks.apinet.IPAMConfig}} {{.NetworkSettings.Networks.apinet.MacAddress}}",
        "api1",
    ]);
    assert_eq!(
        r.stdout.trim(),
        "{\"IPv4Address\":\"10.247.0.77\",\"IPv6Address\":\"fd00:b0e:47::177\"} 02:aa:bb:cc:dd:ee"
    );
    // The docker CLI's own network flags.
    let r = docker(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "fd00:b0e:48::/64",
        "--subnet",
        "10.248.0.0/24",
        "-o",
        "com.docker.network.bridge.enable_icc=true",
        "clinet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = docker(&[
        "run",
        "-d",
        "--name",
        "api2",
        "--network",
        "clinet",
        "--ip6",
        "fd00:b0e:48::99",
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = docker(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.clinet.GlobalIPv6Address}}",
        "api2",
    ]);
    assert_eq!(r.stdout.trim(), "fd00:b0e:48::99");
    let r = docker(&["network", "create", "clinet"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("network with name clinet already exists"),
        "{}",
        r.stderr
    );
    let r = docker(&["rm", "-f", "api1", "api2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = docker(&["network", "rm", "apinet", "clinet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rules = ruleset();
    assert!(
        !rules.contains("fd00:b0e:47") && !rules.contains("fd00:b0e:48"),
        "rules outlived the networks: {rules}"
    );
}
