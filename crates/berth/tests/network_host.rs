//! Networking seen from outside berth: published ports reached from another network namespace
//! through a host address, `--network container:NAME`, and berth's bridges beside a running
//! dockerd (whose FORWARD policy is DROP). Real traffic only.
//!
//! Safety on this host: no veth is ever deleted explicitly; the test's own namespace is
//! released with `ip netns del` and the kernel removes the pair.
mod common;

use std::process::Command;

use common::{Env, env};

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

fn sh(cmd: &str) -> common::Run {
    common::output_within(
        {
            let mut c = Command::new("sh");
            c.args(["-c", cmd]);
            c
        },
        std::time::Duration::from_secs(60),
    )
}

fn sh_ok(cmd: &str) -> String {
    let r = sh(cmd);
    assert_eq!(r.code, 0, "{cmd}: {}", r.stderr);
    r.stdout
}

/// A port nobody listens on now (the kernel's pick, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A network namespace of the test's own with a veth pair to the host in a private /30:
/// `host` on the host's end, `inner` inside. Dropping it deletes the namespace only (the
/// kernel removes the pair with it).
struct OutsideNs {
    name: String,
    host: String,
}

impl OutsideNs {
    fn new() -> OutsideNs {
        let seed = std::process::id()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos());
        let taken = sh_ok("ip -4 -o addr show");
        // A 10.250.x.y/30 no interface of the host is in.
        let (mut x, mut y) = ((seed % 250) as u8, ((seed >> 8) % 60) as u8 * 4);
        while taken.contains(&format!("10.250.{x}.")) {
            x = x.wrapping_add(1) % 250;
            y = (y + 4) % 240;
        }
        let tag = format!("{:06x}", seed & 0xffffff);
        let ns = OutsideNs {
            name: format!("berth-t-{tag}"),
            host: format!("10.250.{x}.{}", y + 1),
        };
        let inner = format!("10.250.{x}.{}", y + 2);
        let (h, n) = (format!("bth{tag}"), format!("btn{tag}"));
        sh_ok(&format!("ip netns add {}", ns.name));
        // From here on Drop releases the namespace, pair included.
        sh_ok(&format!(
            "ip link add {h} type veth peer name {n} netns {name} && \
             ip addr add {host}/30 dev {h} && ip link set {h} up && \
             ip -n {name} addr add {inner}/30 dev {n} && ip -n {name} link set {n} up && \
             ip -n {name} link set lo up",
            name = ns.name,
            host = ns.host,
        ));
        ns
    }

    /// GET / from inside the namespace (busybox wget); the body, or "" on failure.
    fn fetch(&self, url: &str) -> String {
        let bb = common::busybox().unwrap();
        for _ in 0..50 {
            let r = sh(&format!(
                "ip netns exec {} timeout 5 {} wget -qO- {url}",
                self.name,
                bb.display()
            ));
            if r.code == 0 {
                return r.stdout;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    }
}

impl Drop for OutsideNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn published_port_answers_on_a_host_address_from_another_namespace() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    let outside = OutsideNs::new();
    let port = free_port();
    web(&env, "far", &["-p", &format!("{port}:80")]);
    let url = format!("http://{}:{port}/", outside.host);
    assert_eq!(outside.fetch(&url).trim(), "hello from far");
    // Bound to another address only: not reachable through this one.
    let other = free_port();
    web(&env, "near", &["-p", &format!("127.0.0.1:{other}:80")]);
    let r = sh(&format!(
        "ip netns exec {} timeout 5 {} wget -qO- http://{}:{other}/",
        outside.name,
        common::busybox().unwrap().display(),
        outside.host
    ));
    assert_ne!(
        r.code, 0,
        "a 127.0.0.1-only port answered on {}",
        outside.host
    );
    env.ok(&["rm", "-f", "far", "near"]);
    assert_eq!(outside.fetch(&url), "", "the port outlived its container");
}

#[test]
fn container_network_mode_shares_the_namespace_and_its_files() {
    let Some(env) = env() else { return };
    env.image("bb", &[]);
    web(&env, "owner", &["--hostname", "ownerhost"]);
    let ip = env
        .ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "owner"])
        .trim()
        .to_string();
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "bb",
        "sh",
        "-c",
        "hostname; ip -4 -o addr show eth0; grep -c ownerhost /etc/hosts; \
         for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && break; sleep 0.2; done",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"ownerhost"), "{out}");
    assert!(lines[1].contains(&format!("inet {ip}/")), "{out}");
    assert_ne!(lines[2], "0", "the owner's /etc/hosts is not shared: {out}");
    assert_eq!(lines.last(), Some(&"hello from owner"), "{out}");
    // The joiner sees the owner's files, as Docker's inspect says.
    env.ok(&[
        "create",
        "--name",
        "joiner",
        "--network",
        "container:owner",
        "bb",
        "true",
    ]);
    let paths = |name: &str| {
        env.ok(&[
            "inspect",
            "-f",
            "{{.HostsPath}} {{.ResolvConfPath}} {{.HostnamePath}}",
            name,
        ])
    };
    assert_eq!(paths("joiner"), paths("owner"));
    env.ok(&["rm", "joiner"]);
    // What would describe a namespace the container does not own is refused up front.
    for (flag, value, message) in [
        (
            "--hostname",
            "x",
            "conflicting options: hostname and the network mode",
        ),
        (
            "-p",
            "8080:80",
            "conflicting options: port publishing and the container type network mode",
        ),
        (
            "--add-host",
            "a:1.2.3.4",
            "conflicting options: custom host-to-IP mapping and the network mode",
        ),
    ] {
        let r = env.berth(&[
            "run",
            "--rm",
            "--network",
            "container:owner",
            flag,
            value,
            "bb",
            "true",
        ]);
        assert_eq!(r.code, 125, "{flag}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{flag}: {}", r.stderr);
    }
    let r = env.berth(&["run", "--rm", "--network", "container:ghost", "bb", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("No such container: ghost"),
        "{}",
        r.stderr
    );
    assert_eq!(
        env.container_ids().len(),
        1,
        "a refused run left a container"
    );
    // A stopped owner has no namespace to join.
    env.ok(&["stop", "-t", "1", "owner"]);
    let r = env.berth(&["run", "--rm", "--network", "container:owner", "bb", "true"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("cannot join network of a non running container"),
        "{}",
        r.stderr
    );
    env.ok(&["rm", "-f", "owner"]);
}
