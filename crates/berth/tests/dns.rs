//! The embedded DNS (127.0.0.11 on user-defined networks) and container links, through the
//! `berth` binary and the docker CLI against `berth serve`, as root. Each test makes its own
//! networks (subnets 10.251.x.0/24) and removes them with its containers (Env's drop).
//! Names are looked up with busybox's nslookup inside containers, and with the host's dig and
//! getent (glibc's resolver) entered into a container's namespace.
mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Env, required_env};

/// The addresses busybox nslookup printed for a name, in the server's order (the lines after
/// the resolver's own "Address:" line).
fn addresses(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("Address: "))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.contains(':'))
        .collect()
}

fn ip_on(env: &Env, container: &str, network: &str) -> String {
    env.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        container,
    ])
    .trim()
    .to_string()
}

fn sleeper(env: &Env, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "sleep", "300"]);
    env.ok(&args).trim().to_string()
}

/// `nslookup NAME` run in the running container `from` (its resolv.conf's server).
fn lookup(env: &Env, from: &str, name: &str) -> common::Run {
    env.berth(&["exec", from, "nslookup", name])
}

/// A fake upstream resolver on a loopback address of the host's namespace (unreachable from
/// any container's), over UDP and TCP: answers A queries for `outside.example` with
/// 192.0.2.55, NXDOMAIN for anything else. Runs until the test process ends.
struct FakeUpstream {
    address: Ipv4Addr,
}

impl FakeUpstream {
    fn start() -> FakeUpstream {
        // A loopback address of its own (per process and per call, the next one if taken),
        // so that tests running at once never share one.
        static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(100);
        let pid = std::process::id();
        let (address, socket, listener) = loop {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(n < 250, "no free loopback address for the fake upstream");
            let address = Ipv4Addr::new(127, n, (pid >> 8) as u8, (pid as u8).max(1));
            let Ok(socket) = UdpSocket::bind((address, 53)) else {
                continue;
            };
            let Ok(listener) = std::net::TcpListener::bind((address, 53)) else {
                continue;
            };
            break (address, socket, listener);
        };
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut stream in listener.incoming().flatten() {
                let mut length = [0u8; 2];
                if stream.read_exact(&mut length).is_err() {
                    continue;
                }
                let mut query = vec![0u8; u16::from_be_bytes(length) as usize];
                if stream.read_exact(&mut query).is_err() {
                    continue;
                }
                if let Some(reply) = fake_answer(&query) {
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&reply);
                    let _ = stream.write_all(&framed);
                }
            }
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                if let Some(reply) = fake_answer(&buf[..n]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        FakeUpstream { address }
    }
}

/// The fake upstream's answer to one query (header, question, and one A record when it asks
/// `outside.example` type A).
fn fake_answer(query: &[u8]) -> Option<Vec<u8>> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let mut reply = query.get(..question_end)?.to_vec();
    let known = labels.join(".") == "outside.example";
    reply[2] = 0x81; // response, recursion desired
    reply[3] = if known { 0x80 } else { 0x83 }; // recursion available; NOERROR / NXDOMAIN
    reply[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    if known && qtype == 1 {
        reply[7] = 1;
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 55]);
    }
    Some(reply)
}

#[test]
fn embedded_dns_answers_names_aliases_in_turns_and_follows_peers() {
    let env = required_env();
    env.image("bb", &[]);
    let upstream = FakeUpstream::start();
    env.ok(&["network", "create", "--subnet", "10.251.0.0/24", "dnsnet"]);
    sleeper(
        &env,
        "web1",
        &["--network", "dnsnet", "--network-alias", "www"],
    );
    sleeper(
        &env,
        "web2",
        &["--network", "dnsnet", "--network-alias", "www"],
    );
    let upstream_flag = upstream.address.to_string();
    sleeper(
        &env,
        "client",
        &["--network", "dnsnet", "--dns", &upstream_flag],
    );
    let (ip1, ip2) = (ip_on(&env, "web1", "dnsnet"), ip_on(&env, "web2", "dnsnet"));

    // Docker's resolv.conf on a user network: the embedded server only, ndots:0.
    let resolv = env.ok(&["exec", "client", "cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 127.0.0.11\n"), "{resolv}");
    assert!(!resolv.contains(&upstream_flag), "{resolv}");
    assert!(resolv.contains("options ndots:0"), "{resolv}");

    // A container name; its short id; NAME.NETWORK.
    let r = lookup(&env, "client", "web1");
    assert_eq!(
        addresses(&r.stdout),
        std::slice::from_ref(&ip1),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let id1 = env.ok(&["inspect", "-f", "{{.Id}}", "web1"]);
    assert_eq!(
        addresses(&lookup(&env, "client", &id1[..12]).stdout),
        std::slice::from_ref(&ip1)
    );
    assert_eq!(
        addresses(&lookup(&env, "client", "web2.dnsnet").stdout),
        std::slice::from_ref(&ip2)
    );

    // An alias of two containers answers both, first one, then the other (round robin).
    let r = env.berth(&["exec", "client", "sh", "-c", "nslookup www; nslookup www"]);
    let both = addresses(&r.stdout);
    assert_eq!(both.len(), 4, "{}{}", r.stdout, r.stderr);
    let mut sorted = both[..2].to_vec();
    sorted.sort();
    let mut expected = vec![ip1.clone(), ip2.clone()];
    expected.sort();
    assert_eq!(sorted, expected, "{}", r.stdout);
    assert_ne!(both[0], both[2], "the order did not turn: {}", r.stdout);

    // Anything else goes upstream, from the host's namespace (the container cannot reach
    // the upstream on 127.x.y.z itself).
    let r = lookup(&env, "client", "outside.example");
    assert_eq!(
        addresses(&r.stdout),
        ["192.0.2.55"],
        "{}{}",
        r.stdout,
        r.stderr
    );
    let r = lookup(&env, "client", "nowhere.example");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(addresses(&r.stdout).is_empty(), "{}", r.stdout);

    // A container started later is answered at once, and forgotten at once when it goes.
    sleeper(&env, "late", &["--network", "dnsnet"]);
    let late = ip_on(&env, "late", "dnsnet");
    assert_eq!(addresses(&lookup(&env, "client", "late").stdout), [late]);
    env.ok(&["rm", "-f", "late"]);
    let r = lookup(&env, "client", "late");
    assert!(addresses(&r.stdout).is_empty(), "{}", r.stdout);
    // A running container connected later (with an alias) and disconnected again.
    sleeper(&env, "joiner", &[]);
    env.ok(&["network", "connect", "--alias", "svc", "dnsnet", "joiner"]);
    let joiner = ip_on(&env, "joiner", "dnsnet");
    assert_eq!(
        addresses(&lookup(&env, "client", "svc").stdout),
        std::slice::from_ref(&joiner)
    );
    assert_eq!(
        addresses(&lookup(&env, "client", "joiner").stdout),
        [joiner]
    );
    // And it resolves through the embedded server itself now, as with Docker.
    let resolv = env.ok(&["exec", "joiner", "cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 127.0.0.11\n"), "{resolv}");
    // (Its shim binds the server once woken by the connect: a moment after it returns.)
    common::wait_for(
        || addresses(&lookup(&env, "joiner", "web1").stdout) == std::slice::from_ref(&ip1),
        "the connected container to resolve web1",
    );
    env.ok(&["network", "disconnect", "dnsnet", "joiner"]);
    assert!(addresses(&lookup(&env, "client", "svc").stdout).is_empty());
    // A stopped one too.
    env.ok(&["kill", "web2"]);
    common::wait_for(
        || {
            env.ok(&["inspect", "-f", "{{.State.Running}}", "web2"])
                .trim()
                == "false"
        },
        "web2 to stop",
    );
    assert_eq!(addresses(&lookup(&env, "client", "www").stdout), [ip1]);
}

#[test]
fn default_bridge_keeps_the_hosts_resolv_conf() {
    let env = required_env();
    env.image("bb", &[]);
    let resolv = env.ok(&["run", "--rm", "bb", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");
    assert!(!resolv.contains("ndots:0"), "{resolv}");
}

#[test]
fn dig_over_udp_and_tcp_and_reverse_lookups() {
    let env = required_env();
    if !common::have(
        "dig",
        "dig asks the embedded server from the container's namespace",
    ) || !common::have("nsenter", "nsenter enters the container's namespace")
    {
        return;
    }
    env.image("bb", &[]);
    let upstream = FakeUpstream::start().address.to_string();
    env.ok(&["network", "create", "--subnet", "10.251.1.0/24", "dignet"]);
    let id = sleeper(
        &env,
        "db",
        &[
            "--network",
            "dignet",
            "--network-alias",
            "database",
            "--dns",
            &upstream,
        ],
    );
    let ip = ip_on(&env, "db", "dignet");
    let netns = env.run.join("netns").join(&id);
    let dig = |args: &[&str]| {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", netns.display()))
            .args(["dig", "+short", "+tries=1", "+time=3", "@127.0.0.11"])
            .args(args);
        let out = common::output_within(cmd, Duration::from_secs(30));
        out.stdout.trim().to_string()
    };
    assert_eq!(dig(&["db"]), ip);
    assert_eq!(dig(&["+tcp", "database"]), ip);
    assert_eq!(dig(&["DB.dignet."]), ip);
    assert_eq!(dig(&["-x", &ip]), "db.dignet.");
    // Forwarded over the transport it came on.
    assert_eq!(dig(&["outside.example"]), "192.0.2.55");
    assert_eq!(dig(&["+tcp", "outside.example"]), "192.0.2.55");
}

/// glibc's resolver (the host's `getent`, as a glibc-based image would run it) against the
/// embedded server: it sends the A and AAAA questions at once on one socket and needs both
/// answered. It runs in the container's network namespace with the container's resolv.conf
/// bind-mounted over its own, in a private mount namespace.
#[test]
fn getent_through_glibcs_resolver_resolves_names_and_aliases() {
    let env = required_env();
    if !common::have("getent", "glibc's resolver is the client")
        || !common::have("unshare", "a private mount namespace for the resolv.conf")
    {
        return;
    }
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.251.7.0/24", "gnet"]);
    // Names no host file knows.
    let web = format!("gweb{}", std::process::id());
    sleeper(
        &env,
        &web,
        &["--network", "gnet", "--network-alias", "gservice"],
    );
    // Names it does not know go to a fake upstream, which says NXDOMAIN at once.
    let upstream = FakeUpstream::start().address.to_string();
    let client = sleeper(&env, "gclient", &["--network", "gnet", "--dns", &upstream]);
    let ip = ip_on(&env, &web, "gnet");
    let resolv = env.ok(&["inspect", "-f", "{{.ResolvConfPath}}", "gclient"]);
    let netns = env.run.join("netns").join(&client);
    let getent = |name: &str| {
        let script = format!(
            "mount --bind {} /etc/resolv.conf && exec nsenter --net={} getent hosts {name}",
            resolv.trim(),
            netns.display()
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
        common::output_within(cmd, Duration::from_secs(30))
    };
    for name in [web.as_str(), "gservice", &format!("{web}.gnet")] {
        let r = getent(name);
        assert_eq!(r.code, 0, "getent hosts {name}: {}{}", r.stdout, r.stderr);
        let first = r.stdout.split_whitespace().next().unwrap_or_default();
        assert_eq!(first, ip, "getent hosts {name}: {}", r.stdout);
    }
    // An unknown name is not found (exit 2), not a hang or a server failure.
    let r = getent("no-such-container-here");
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}

#[test]
fn links_on_the_default_bridge_give_hosts_env_and_inspect() {
    let env = required_env();
    env.image(
        "bb",
        &["EXPOSE 80", "EXPOSE 53/udp", "ENV IMAGE_VAR=from-image"],
    );
    sleeper(&env, "web", &["-e", "SECRET=s3cret"]);
    let web_ip = ip_on(&env, "web", "bridge");
    let web_id = env.ok(&["inspect", "-f", "{{.Id}}", "web"]);
    let out = env.ok(&[
        "run",
        "--name",
        "client",
        "--link",
        "web:db",
        "bb",
        "sh",
        "-c",
        "env; cat /etc/hosts",
    ]);
    for expected in [
        "DB_NAME=/client/db".to_string(),
        format!("DB_PORT=udp://{web_ip}:53"),
        format!("DB_PORT_80_TCP=tcp://{web_ip}:80"),
        format!("DB_PORT_80_TCP_ADDR={web_ip}"),
        "DB_PORT_80_TCP_PORT=80".to_string(),
        "DB_PORT_80_TCP_PROTO=tcp".to_string(),
        format!("DB_PORT_53_UDP=udp://{web_ip}:53"),
        "DB_ENV_SECRET=s3cret".to_string(),
        "DB_ENV_IMAGE_VAR=from-image".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "no {expected} in:\n{out}"
        );
    }
    assert!(!out.contains("DB_ENV_PATH="), "{out}");
    let hosts_line = format!("{web_ip}\tdb {} web", &web_id[..12]);
    assert!(
        out.lines().any(|l| l == hosts_line),
        "no {hosts_line:?} in:\n{out}"
    );
    // Echoed as Docker's.
    let links = env.ok(&["inspect", "-f", "{{json .HostConfig.Links}}", "client"]);
    assert_eq!(links.trim(), r#"["/web:/client/db"]"#);
    // `rm --link` removes it.
    assert_eq!(env.ok(&["rm", "--link", "client/db"]).trim(), "client/db");
    let links = env.ok(&["inspect", "-f", "{{json .HostConfig.Links}}", "client"]);
    assert_eq!(links.trim(), "null");
    // A missing target is refused at create, as dockerd does.
    let r = env.berth(&["run", "--link", "nosuch:x", "bb", "true"]);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("could not get container for nosuch"),
        "{}",
        r.stderr
    );
    // A stopped target cannot be linked to at start.
    env.ok(&["kill", "web"]);
    common::wait_for(
        || {
            env.ok(&["inspect", "-f", "{{.State.Running}}", "web"])
                .trim()
                == "false"
        },
        "web to stop",
    );
    let r = env.berth(&["run", "--link", "web:db", "bb", "true"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("Cannot link to a non running container: /web AS"),
        "{}",
        r.stderr
    );
}

#[test]
fn links_on_a_user_network_resolve_through_dns() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.251.2.0/24", "linknet"]);
    sleeper(
        &env,
        "web",
        &["--network", "linknet", "-e", "SECRET=s3cret"],
    );
    let web_ip = ip_on(&env, "web", "linknet");
    sleeper(
        &env,
        "linked",
        &["--network", "linknet", "--link", "web:db"],
    );
    sleeper(&env, "unlinked", &["--network", "linknet"]);
    let r = lookup(&env, "linked", "db");
    assert_eq!(addresses(&r.stdout), [web_ip], "{}{}", r.stdout, r.stderr);
    // The alias is the linking container's own: nobody else resolves it.
    let r = lookup(&env, "unlinked", "db");
    assert!(addresses(&r.stdout).is_empty(), "{}", r.stdout);
    // Legacy variables are for the default bridge only.
    let envs = env.ok(&["exec", "linked", "env"]);
    assert!(!envs.contains("DB_"), "{envs}");
    // Shown on the endpoint, as given; HostConfig.Links is for legacy links (null here).
    let shown = env.ok(&[
        "inspect",
        "-f",
        "{{json .HostConfig.Links}} {{json .NetworkSettings.Networks.linknet.Links}}",
        "linked",
    ]);
    assert_eq!(shown.trim(), r#"null ["web:db"]"#);
    // There a link is only a name: a missing target is no error (as dockerd).
    env.ok(&[
        "create",
        "--network",
        "linknet",
        "--link",
        "nosuch:x",
        "bb",
        "true",
    ]);
    // Links and the host's network do not mix.
    let r = env.berth(&["run", "--network", "host", "--link", "web:db", "bb", "true"]);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("conflicting options: host type networking can't be used with links"),
        "{}",
        r.stderr
    );
}

#[test]
fn docker_cli_run_link_and_rm_link_through_serve() {
    let env = required_env();
    if !std::path::Path::new("/usr/local/bin/docker").is_file() {
        common::cannot_run("/usr/local/bin/docker is not installed");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &["EXPOSE 8080"]);
    let (cmd, socket) = env.serve_command();
    let _serve = common::serve::Serve::start(cmd, socket.clone());
    let config = env.run.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let docker = |args: &[&str]| {
        let mut c = Command::new("/usr/local/bin/docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", &config);
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let r = docker(&["run", "-d", "--name", "web", "bb", "sleep", "300"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let web_ip = ip_on(&env, "web", "bridge");
    let r = docker(&[
        "run",
        "--name",
        "client",
        "--link",
        "web:api",
        "bb",
        "sh",
        "-c",
        "env; cat /etc/hosts",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("API_PORT_8080_TCP=tcp://{web_ip}:8080")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("API_NAME=/client/api"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{web_ip}\tapi "))),
        "{}",
        r.stdout
    );
    let r = docker(&["inspect", "-f", "{{json .HostConfig.Links}}", "client"]);
    assert_eq!(r.stdout.trim(), r#"["/web:/client/api"]"#, "{}", r.stderr);
    let r = docker(&["rm", "--link", "/client/api"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = docker(&["inspect", "-f", "{{json .HostConfig.Links}}", "client"]);
    assert_eq!(r.stdout.trim(), "null");
    // `rm --link` of a bare name removes no container.
    let r = docker(&["rm", "--link", "client"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("cannot remove the default link name of the container"),
        "{}",
        r.stderr
    );
    assert_eq!(docker(&["inspect", "client"]).code, 0);
    let r = docker(&["run", "--rm", "--link", "nosuch:x", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("could not get container for nosuch"),
        "{}",
        r.stderr
    );
}

/// Answer time of the embedded server, measured from inside a container's namespace (no
/// assertion on speed: the figures are printed; run with --nocapture to see them).
#[test]
fn embedded_dns_answer_time() {
    let env = required_env();
    if !common::have(
        "nsenter",
        "the measuring loop runs in the container's namespace",
    ) {
        return;
    }
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.251.3.0/24", "benchnet"]);
    for i in 0..4 {
        sleeper(&env, &format!("peer{i}"), &["--network", "benchnet"]);
    }
    let id = sleeper(&env, "asker", &["--network", "benchnet"]);
    let netns = env.run.join("netns").join(&id);
    // One process in the namespace sends the queries one after the other.
    let script = r#"
import socket, struct, time
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05peer2\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
times = []
for i in range(500):
    t = time.perf_counter(); s.sendto(q, ("127.0.0.11", 53)); r = s.recv(512); times.append(time.perf_counter() - t)
    assert r[7] == 1, r
times.sort()
print("n=%d median=%.0fus p99=%.0fus max=%.0fus" % (len(times), times[len(times)//2]*1e6, times[int(len(times)*0.99)]*1e6, times[-1]*1e6))
"#;
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", netns.display()))
        .args(["python3", "-c", script]);
    let start = Instant::now();
    let out = common::output_within(cmd, Duration::from_secs(60));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    println!(
        "embedded DNS, 5 containers on the network: {} (whole loop {:?})",
        out.stdout.trim(),
        start.elapsed()
    );
}

/// Port 53 stays the container's own (the server is reached through a DNAT in its namespace,
/// as Docker's): a DNS or web server of its own binds 0.0.0.0:53 and names still resolve.
#[test]
fn a_container_may_serve_port_53_itself() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["network", "create", "--subnet", "10.251.4.0/24", "portnet"]);
    sleeper(&env, "web", &["--network", "portnet"]);
    let web_ip = ip_on(&env, "web", "portnet");
    let r = env.berth(&[
        "run",
        "--rm",
        "--network",
        "portnet",
        "bb",
        "sh",
        "-c",
        "httpd -p 53 -h / && nslookup web",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(addresses(&r.stdout), [web_ip], "{}", r.stdout);
}

/// docker-compose 1.29 through `berth serve`: a service scaled to two answers its name with
/// both containers' addresses, in turns, and the aliases of compose's `links:` resolve on
/// the project's network.
#[test]
fn compose_scaled_service_balances_through_dns() {
    let env = required_env();
    let compose_bin = "/usr/bin/docker-compose";
    if !std::path::Path::new(compose_bin).is_file() {
        common::cannot_run("docker-compose is not installed");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let _serve = common::serve::Serve::start(cmd, socket.clone());
    let dir = env.run.parent().unwrap().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        "version: '3'\nservices:\n  web:\n    image: bb\n    command: sleep 300\n  client:\n    image: bb\n    command: sleep 300\n    links:\n      - web:backend\n",
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let mut c = Command::new(compose_bin);
        c.arg("--no-ansi")
            .args(["-p", "dnsproj"])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", dir.join(".docker"));
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let r = compose(&["up", "-d", "--scale", "web=2"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mut webs: Vec<String> = ["dnsproj_web_1", "dnsproj_web_2"]
        .iter()
        .map(|name| ip_on(&env, name, "dnsproj_default"))
        .collect();
    webs.sort();
    let r = env.berth(&[
        "exec",
        "dnsproj_client_1",
        "sh",
        "-c",
        "nslookup web; nslookup web; nslookup backend; nslookup web_2",
    ]);
    let found = addresses(&r.stdout);
    assert_eq!(found.len(), 6, "{}{}", r.stdout, r.stderr);
    let mut first = found[..2].to_vec();
    first.sort();
    assert_eq!(first, webs, "{}", r.stdout);
    assert_ne!(found[0], found[2], "the order did not turn: {}", r.stdout);
    // compose links the alias to one of the service's containers (the first it lists), and
    // each container by its short name.
    assert!(webs.contains(&found[4]), "{}", r.stdout);
    let web2 = ip_on(&env, "dnsproj_web_2", "dnsproj_default");
    assert_eq!(found[5], web2, "{}", r.stdout);
    let r = compose(&["down", "-t", "0"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}
