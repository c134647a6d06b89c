//! Networking seen from outside berth: published ports reached from another network namespace
//! through a host address, `--network container:NAME`, and berth's bridges beside a running
//! dockerd (whose FORWARD policy is DROP). Real traffic only.
//!
//! Safety on this host: no veth is ever deleted explicitly; the test's own namespace is
//! released with `ip netns del` and the kernel removes the pair.
mod common;

use std::process::Command;

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
    let env = required_env();
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

/// Joining a container that is on the host's network is the host's network (no namespace of
/// its own, and none of the sysctls a private one gets, which the runtime refuses there).
#[test]
fn joining_a_host_network_container_is_the_hosts_network() {
    let env = common::required_env();
    env.image("bb", &[]);
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
    let theirs = env.ok(&[
        "run",
        "--rm",
        "--network",
        "container:onhost",
        "bb",
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    let ours: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in theirs.lines() {
        assert!(
            ours.iter().any(|o| o == name),
            "{name} is not the host's: {theirs}"
        );
    }
    env.ok(&["rm", "-f", "onhost"]);
}

#[test]
fn container_network_mode_shares_the_namespace_and_its_files() {
    let env = required_env();
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

/// Whether iptables' filter FORWARD chain exists with a drop policy.
fn forward_drops() -> bool {
    sh("nft list chain ip filter FORWARD")
        .stdout
        .contains("policy drop")
}

fn nft_table_exists(table: &str) -> bool {
    sh(&format!("nft list table ip {table}")).code == 0
}

/// A private dockerd (its own data root, exec root and socket) with its iptables rules on.
/// Drop stops it, then removes what it left: its rules and chains in the filter and nat
/// tables, the FORWARD policy it set, tables it created, and docker0 once nothing is attached.
struct Dockerd {
    child: std::process::Child,
    dir: std::path::PathBuf,
    had_docker0: bool,
    had_filter: bool,
    had_nat: bool,
    forward_dropped: bool,
}

impl Dockerd {
    fn start(dir: &std::path::Path) -> Dockerd {
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let had_docker0 = std::path::Path::new("/sys/class/net/docker0").exists();
        let (had_filter, had_nat) = (nft_table_exists("filter"), nft_table_exists("nat"));
        let forward_dropped = forward_drops();
        let p = |name: &str| dir.join(name).display().to_string();
        let child = Command::new("dockerd")
            .args(["--data-root", &p("docker"), "--exec-root", &p("docker-run")])
            .args(["-H", &format!("unix://{}", p("docker.sock"))])
            .args(["--pidfile", &p("docker.pid")])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Dockerd {
            child,
            dir: dir.to_path_buf(),
            had_docker0,
            had_filter,
            had_nat,
            forward_dropped,
        };
        // Up: its API answers and its chains exist.
        let sock = p("docker.sock");
        for _ in 0..300 {
            let up = sh(&format!(
                "docker -H unix://{sock} version --format '{{{{.Server.Version}}}}'"
            ));
            if up.code == 0 && sh("iptables -S DOCKER-USER").code == 0 {
                return d;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default();
        drop(d);
        panic!("dockerd did not come up within 30 s:\n{log}");
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let mut exited = false;
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                exited = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Its rules: every rule naming a DOCKER chain or docker0, then the chains themselves.
        for table in ["filter", "nat"] {
            let rules = sh(&format!("iptables -t {table} -S")).stdout;
            for rule in rules.lines().filter(|l| l.starts_with("-A ")) {
                if rule.contains("DOCKER") || rule.contains("docker0") {
                    let _ = sh(&format!("iptables -t {table} -D {}", &rule[3..]));
                }
            }
            for chain in rules.lines().filter_map(|l| l.strip_prefix("-N ")) {
                if chain.starts_with("DOCKER") {
                    let _ = sh(&format!(
                        "iptables -t {table} -F {chain}; iptables -t {table} -X {chain}"
                    ));
                }
            }
        }
        if !self.forward_dropped {
            let _ = sh("iptables -P FORWARD ACCEPT");
        }
        // Tables it made, once nothing else has a rule in them.
        for (table, had) in [("filter", self.had_filter), ("nat", self.had_nat)] {
            let rules = sh(&format!("iptables -t {table} -S")).stdout;
            if !had && !rules.lines().any(|l| !l.starts_with("-P ")) {
                let _ = sh(&format!("nft delete table ip {table}"));
            }
        }
        let brif = std::path::Path::new("/sys/class/net/docker0/brif");
        let empty = std::fs::read_dir(brif)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !self.had_docker0 && empty {
            // A bridge (never a veth) with nothing attached, made by the dockerd just stopped.
            let _ = sh("ip link del docker0 type bridge");
        }
        let _ = sh(&format!(
            "grep ' {}' /proc/self/mountinfo | awk '{{print $5}}' | sort -r | xargs -r -n1 umount -l",
            self.dir.display()
        ));
    }
}

/// An httpd serving `body` at :8000 inside the test's namespace (killed on drop).
struct OutsideHttpd {
    child: std::process::Child,
    _root: tempfile::TempDir,
}

impl OutsideHttpd {
    fn start(ns: &OutsideNs, body: &str) -> OutsideHttpd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), body).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(common::busybox().unwrap())
            .args(["httpd", "-f", "-p", "8000", "-h"])
            .arg(dir.path())
            .spawn()
            .unwrap();
        OutsideHttpd { child, _root: dir }
    }
}

impl Drop for OutsideHttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bridges_pass_traffic_beside_dockerd() {
    let env = required_env();
    if sh("command -v dockerd && command -v docker && command -v iptables").code != 0 {
        common::cannot_run("needs dockerd, docker and iptables");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let outside = OutsideNs::new();
    let inner = outside
        .host
        .rsplit_once('.')
        .map(|(a, b)| format!("{a}.{}", b.parse::<u8>().unwrap() + 1))
        .unwrap();
    let _httpd = OutsideHttpd::start(&outside, "hello from outside\n");
    let dir = tempfile::Builder::new()
        .prefix("berth-dockerd")
        .tempdir_in("/tmp")
        .unwrap();
    let dockerd = Dockerd::start(dir.path());
    // Docker 20.10 sets the policy only when it turns forwarding on itself (here it is on
    // already); current Docker always does. Do what it does.
    if !forward_drops() {
        sh_ok("iptables -P FORWARD DROP");
    }
    env.ok(&["network", "create", "--subnet", "10.239.7.0/24", "dnet"]);
    let port = free_port();
    web(
        &env,
        "srv",
        &["--network", "dnet", "-p", &format!("{port}:80")],
    );
    // Container to container across the bridge, by name.
    let across = env.berth(&[
        "run", "--rm", "--network", "dnet", "bb", "sh", "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -qO- http://srv/ && exit 0; sleep 0.2; done; exit 1",
    ]);
    assert_eq!(across.stdout.trim(), "hello from srv", "{}", across.stderr);
    // Outbound through the masquerade: the namespace has no route back to 10.239.7.0/24.
    let out = env.berth(&[
        "run",
        "--rm",
        "--network",
        "dnet",
        "bb",
        "sh",
        "-c",
        &format!("timeout 10 wget -qO- http://{inner}:8000/"),
    ]);
    assert_eq!(out.stdout.trim(), "hello from outside", "{}", out.stderr);
    // A published port, from outside the host.
    assert_eq!(
        outside
            .fetch(&format!("http://{}:{port}/", outside.host))
            .trim(),
        "hello from srv"
    );
    let bridge = env.ok(&["network", "inspect", "-f", "{{.BerthBridge}}", "dnet"]);
    let bridge = bridge.trim();
    assert!(sh_ok("iptables -S").contains(&format!("-i {bridge} -j ACCEPT")));
    env.ok(&["rm", "-f", "srv"]);
    env.ok(&["network", "rm", "dnet"]);
    assert!(
        !sh_ok("iptables -S").contains(bridge),
        "the accept rules outlived the network"
    );
    drop(dockerd);
    assert!(
        !sh_ok("iptables -S").contains("DOCKER"),
        "dockerd's chains were left"
    );
}
