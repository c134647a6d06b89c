//! Networking under concurrency and kill -9, through the `berth` binary as root: the firewall
//! table must end as the database says however many processes change it at once (a stale DNAT
//! rule would expose an unrelated container that later gets the same address), a `network rm`
//! or `network create` killed at any point must leave nothing the next command cannot repair,
//! and 100 parallel `run --rm` must leave no row, rule, veth, netns, mount or cgroup.
//!
//! These tests need root, busybox-static and nft. Without them they skip, except under CI
//! (`CI` set), where they fail: a safety test must never pass by not running.
mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, Run};

/// A test's state root, plus the cleanup berth's own may miss when a test fails midway (or the
/// code under test leaks): the root's bridges (never a veth) and its firewall table.
struct Net {
    env: Option<Env>,
    /// The root's nftables table (berth-<8 hex of sha256(root)>).
    table: String,
}

impl std::ops::Deref for Net {
    type Target = Env;
    fn deref(&self) -> &Env {
        self.env.as_ref().expect("the environment")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let Some(env) = self.env.take() else { return };
        let root = env.root.clone();
        let gate = root.parent().unwrap().join("nft-gate");
        // Containers (their namespaces, so their veths), networks, mounts, cgroups.
        drop(env);
        // An nft started through this test's gate that outlived its caller (the defect the
        // lock test looks for) would write the table again after it is deleted: let it end.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !started_through(&gate).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        for bridge in bridges_of(&root) {
            let _ = Command::new("ip")
                .args(["link", "delete", &bridge, "type", "bridge"])
                .stderr(Stdio::null())
                .status();
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .stderr(Stdio::null())
            .status();
        let chain = format!("BERTH{}", self.table.trim_start_matches("berth"));
        let iptables = |args: &[&str]| {
            Command::new("iptables")
                .arg("-w")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if iptables(&["-S", &chain]) {
            while iptables(&["-D", "FORWARD", "-j", &chain]) {}
            iptables(&["-F", &chain]);
            iptables(&["-X", &chain]);
        }
    }
}

/// Live processes (not zombies) whose PATH leads through `gate`: berth processes and nft runs
/// this test started with the gate in front.
fn started_through(gate: &Path) -> Vec<i32> {
    let needle = format!("{}", gate.display());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
                .unwrap_or(true);
            !zombie
                && environ.split(|b| *b == 0).any(|var| {
                    var.starts_with(b"PATH=") && String::from_utf8_lossy(var).contains(&needle)
                })
        })
        .collect()
}

/// The environment, or None to skip; under CI a missing prerequisite fails the test instead.
fn setup() -> Net {
    common::require(
        common::have("nft", "nftables: the port and network rules"),
        "nft",
    );
    let env = common::required_env();
    let table = format!(
        "berth-{}",
        &sha256_hex(env.root.as_os_str().as_encoded_bytes())[..8]
    );
    Net {
        env: Some(env),
        table,
    }
}

fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The bridges whose alias names `root` (what berth writes on the bridges it makes).
fn bridges_of(root: &Path) -> Vec<String> {
    let want = format!("berth root={}", root.display());
    std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("bridge").exists())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("ifalias")).is_ok_and(|a| a.trim_end() == want)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The root's firewall table as `nft` prints it ("" when there is none).
fn table_text(net: &Net) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", &net.table])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dnat_lines(net: &Net) -> Vec<String> {
    table_text(net)
        .lines()
        .filter(|l| l.contains("dnat"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Runs the commands, at most `width` at a time; their results in order.
fn run_parallel(cmds: Vec<Command>, width: usize) -> Vec<Run> {
    let queue = std::sync::Mutex::new(cmds.into_iter().enumerate().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..width {
            s.spawn(|| {
                loop {
                    let Some((i, cmd)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let run = common::output_within(cmd, common::COMMAND_DEADLINE);
                    results.lock().unwrap().push((i, run));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The state database, read directly (what no command shows: the ports table).
fn count_rows(net: &Net, table: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        net.root.join("berth.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// GET / from `addr`; the body's last line, or None when nothing answers within a second.
fn http_get(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    Some(reply.lines().last().unwrap_or("").to_string())
}

/// An `nft` that runs first in the PATH of berth and its shims: while `hold` exists, every call
/// from a shim (whose teardown drops its ports and applies the table) waits; once it goes, they
/// proceed after a random 0-99 ms (so applies land in any order), or after the seconds in
/// `delay` if that file exists. With `jitter`, every call from a shim first waits a random
/// 0-99 ms (an nft slowed by a busy host). Other callers pass.
struct NftGate {
    dir: PathBuf,
}

impl NftGate {
    fn new(base: &Path) -> NftGate {
        let real = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.join("nft"))
            .find(|p| p.is_file())
            .expect("nft in PATH");
        let dir = base.join("nft-gate");
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\n\
             [ -e '{d}/log' ] && echo \"$(date +%s.%N) enter $$ ppid=$PPID $(tr '\\0' ' ' < /proc/$PPID/cmdline | cut -c1-60) $*\" >> '{d}/calls'\n\
             if [ -e '{d}/jitter' ] && tr '\\0' ' ' < /proc/$PPID/cmdline | grep -q ' shim '; then\n\
             \x20 n=$(od -An -N1 -tu1 /dev/urandom)\n\
             \x20 sleep 0.0$(( n % 10 ))$(( n / 10 % 10 ))\n\
             fi\n\
             if [ -e '{d}/hold' ] && tr '\\0' ' ' < /proc/$PPID/cmdline | grep -q ' shim '; then\n\
             \x20 : > '{d}/waiting.'$$\n\
             \x20 while [ -e '{d}/hold' ]; do sleep 0.01; done\n\
             \x20 if [ -e '{d}/delay' ]; then sleep \"$(cat '{d}/delay')\"; else\n\
             \x20   n=$(od -An -N1 -tu1 /dev/urandom)\n\
             \x20   sleep 0.0$(( n % 10 ))$(( n / 10 % 10 ))\n\
             \x20 fi\n\
             fi\n\
             if [ -e '{d}/log' ]; then\n\
             \x20 cat > '{d}/in.'$$; echo \"$(date +%s.%N) start $$ ppid=$PPID $(tr '\\0' ' ' < /proc/$PPID/cmdline | cut -c1-60) dnat=$(grep -o dnat '{d}/in.'$$ | wc -l)\" >> '{d}/calls'\n\
             \x20 '{real}' \"$@\" < '{d}/in.'$$ 2> '{d}/err.'$$; rc=$?\n\
             \x20 echo \"$(date +%s.%N) end $$ rc=$rc\" >> '{d}/calls'; rm -f '{d}/in.'$$\n\
             \x20 if [ $rc -ne 0 ]; then {{ echo \"nft $* (pid $$, exit $rc):\"; cat '{d}/err.'$$; }} >> '{d}/failures'; fi\n\
             \x20 cat '{d}/err.'$$ >&2; rm -f '{d}/err.'$$; exit $rc\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            d = dir.display(),
            real = real.display()
        );
        let path = dir.join("nft");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        NftGate { dir }
    }

    fn path_env(&self) -> std::ffi::OsString {
        let mut dirs = vec![self.dir.clone()];
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        std::env::join_paths(dirs).unwrap()
    }

    /// Runs nft as a child rather than exec'ing it (so a caller's death no longer kills it)
    /// and keeps what every failing call printed, for [`NftGate::failures`].
    fn log_failures(&self) {
        std::fs::write(self.dir.join("log"), "").unwrap();
    }

    /// What failing nft calls printed (with `log_failures`).
    fn failures(&self) -> String {
        std::fs::read_to_string(self.dir.join("failures")).unwrap_or_default()
    }

    fn jitter(&self) {
        std::fs::write(self.dir.join("jitter"), "").unwrap();
    }

    fn delay_after_release(&self, seconds: &str) {
        std::fs::write(self.dir.join("delay"), seconds).unwrap();
    }

    fn hold(&self) {
        std::fs::write(self.dir.join("hold"), "").unwrap();
    }

    fn release(&self) {
        let _ = std::fs::remove_file(self.dir.join("hold"));
    }

    /// How many nft calls are (or were) held.
    fn waiting(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("waiting."))
            .count()
    }
}

impl Drop for NftGate {
    fn drop(&mut self) {
        self.release();
    }
}

/// (a) 30 concurrent `rm -f` of published containers, with their shims' firewall applies held
/// and then let go in random order (what happened by chance on a busy host, every time): no
/// DNAT rule may survive, and new containers given the old addresses must not answer on the
/// old host ports.
#[test]
fn concurrent_removals_leave_no_dnat_rule_to_a_reused_address() {
    const N: usize = 30;
    let net = setup();
    net.image("bb", &[]);
    let gate = NftGate::new(net.root.parent().unwrap());
    gate.log_failures();
    let with_gate = |args: &[&str]| {
        let mut cmd = net.cmd(args);
        cmd.env("PATH", gate.path_env());
        cmd
    };
    net.ok(&["network", "create", "--subnet", "10.238.0.0/24", "safenet"]);
    let serve = |text: &str| {
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 8080 -h /www")
    };
    let old_script = serve("old");
    let created = run_parallel(
        (0..N)
            .map(|_| {
                with_gate(&[
                    "run",
                    "-d",
                    "--network",
                    "safenet",
                    "-p",
                    "127.0.0.1::8080",
                    "bb",
                    "sh",
                    "-c",
                    &old_script,
                ])
            })
            .collect(),
        6,
    );
    let ids: Vec<String> = created
        .iter()
        .map(|r| {
            assert_eq!(r.code, 0, "run -d -p failed: {}", r.stderr);
            r.stdout.trim().to_string()
        })
        .collect();
    // Each container's address and host port.
    let mut args = vec!["inspect"];
    args.extend(ids.iter().map(String::as_str));
    let docs: serde_json::Value = serde_json::from_str(&net.ok(&args)).unwrap();
    let old: Vec<(String, u16)> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let settings = &d["NetworkSettings"];
            let ip = settings["Networks"]["safenet"]["IPAddress"]
                .as_str()
                .unwrap()
                .to_string();
            let port = settings["Ports"]["8080/tcp"][0]["HostPort"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (ip, port)
        })
        .collect();
    let ports: HashSet<u16> = old.iter().map(|(_, p)| *p).collect();
    assert_eq!(ports.len(), N, "host ports given twice: {old:?}");
    assert_eq!(dnat_lines(&net).len(), 2 * N, "{}", table_text(&net));
    // The probe works: an old container answers on its host port.
    let probe = |port: u16| http_get(SocketAddr::from(([127, 0, 0, 1], port)));
    let answered = (0..100).find_map(|_| {
        let got = probe(old[0].1).filter(|body| body == "old");
        if got.is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        got
    });
    assert_eq!(
        answered.as_deref(),
        Some("old"),
        "published port never answered"
    );

    gate.hold();
    let removals = std::thread::scope(|s| {
        let removing = s.spawn(|| {
            run_parallel(
                ids.iter().map(|id| with_gate(&["rm", "-f", id])).collect(),
                N,
            )
        });
        // Let the held applies go once nothing moves any more: every shim that could get to
        // its apply is held (with the applies serialised, one is held and the others wait
        // for their turn). `rm -f` gives its shim 10 s.
        let start = Instant::now();
        let (mut seen, mut since) = ((0, 0), Instant::now());
        while start.elapsed() < Duration::from_secs(7) {
            std::thread::sleep(Duration::from_millis(50));
            let now = (gate.waiting(), count_rows(&net, "ports"));
            if now != seen {
                (seen, since) = (now, Instant::now());
            }
            if seen.0 >= N || (seen.0 > 0 && since.elapsed() > Duration::from_secs(1)) {
                break;
            }
        }
        gate.release();
        eprintln!(
            "released {} held nft runs after {:.1} s",
            seen.0,
            start.elapsed().as_secs_f64()
        );
        removing.join().unwrap()
    });
    for r in &removals {
        assert_eq!(r.code, 0, "rm -f failed: {}", r.stderr);
    }
    assert_eq!(net.ok(&["ps", "-aq"]), "");
    assert_eq!(count_rows(&net, "ports"), 0);
    // What went wrong, all of it: a rule left, and what it exposes.
    let mut problems = Vec::new();
    let left = dnat_lines(&net);
    if !left.is_empty() {
        problems.push(format!(
            "DNAT rules outlived their containers:\n{}\nlast apply: {}\nnft calls:\n{}\nfailed nft calls:\n{}",
            left.join("\n"),
            std::fs::read_to_string(net.run.join("firewall.applied")).unwrap_or_default(),
            std::fs::read_to_string(gate.dir.join("calls")).unwrap_or_default()
                + &String::from_utf8_lossy(
                    &Command::new("sh")
                        .args(["-c", "ps -eo pid,ppid,stat,wchan:32,args | grep -E 'berth (shim|rm)|nft|cat' | grep -v grep; for p in $(pgrep -f nft-gate/nft); do i=$(readlink /proc/$p/fd/0); echo \"wrapper $p stdin $i held by:\"; for f in /proc/[0-9]*/fd/*; do [ \"$(readlink $f 2>/dev/null)\" = \"$i\" ] && echo \"  $f $(tr '\\0' ' ' < ${f%/fd/*}/cmdline | cut -c1-80)\"; done; done"])
                        .output()
                        .map(|o| o.stdout)
                        .unwrap_or_default(),
                ),
            gate.failures()
        ));
    }

    // New containers take the old addresses (and so their MACs) and listen on 8080.
    let new_script = serve("new");
    let started = run_parallel(
        old.iter()
            .map(|(ip, _)| {
                with_gate(&[
                    "run",
                    "-d",
                    "--network",
                    "safenet",
                    "--ip",
                    ip,
                    "bb",
                    "sh",
                    "-c",
                    &new_script,
                ])
            })
            .collect(),
        6,
    );
    for r in &started {
        assert_eq!(r.code, 0, "run -d --ip failed: {}", r.stderr);
    }
    for (ip, port) in &old {
        let direct = SocketAddr::from((ip.parse::<std::net::Ipv4Addr>().unwrap(), 8080));
        common::wait_for(
            || http_get(direct).is_some_and(|b| b == "new"),
            &format!("the new container at {ip} to serve"),
        );
        if let Some(body) = probe(*port) {
            problems.push(format!(
                "127.0.0.1:{port}, published by the removed container that had {ip}, reaches the new container there (it answered {body:?})"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut rm = vec!["rm", "-f"];
    let new_ids: Vec<String> = started
        .iter()
        .map(|r| r.stdout.trim().to_string())
        .collect();
    rm.extend(new_ids.iter().map(String::as_str));
    net.ok(&rm);
    net.ok(&["network", "rm", "safenet"]);
}

/// The pid of the process that started `pid` (from /proc/PID/stat).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A shim killed -9 while it holds the firewall lock, its apply in flight: the lock is free at
/// once (nothing waits on the dead), and its apply of a now stale table never lands after the
/// next command applied the truth.
#[test]
fn killed_lock_holder_wedges_nothing_and_its_apply_never_lands() {
    let net = setup();
    net.image("bb", &[]);
    let gate = NftGate::new(net.root.parent().unwrap());
    net.ok(&["network", "create", "--subnet", "10.238.3.0/24", "locknet"]);
    // Held until released, then 0.5 s more: long after the next command's repair.
    gate.delay_after_release("0.5");
    gate.hold();
    let mut run = net.cmd(&[
        "run",
        "-d",
        "--name",
        "holder",
        "--network",
        "locknet",
        "-p",
        "127.0.0.1::8080",
        "bb",
        "sleep",
        "60",
    ]);
    let run = run
        .env("PATH", gate.path_env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The shim publishes the port: it takes the lock and is held in nft.
    common::wait_for(|| gate.waiting() == 1, "the shim's apply to be held");
    let held: i32 = std::fs::read_dir(&gate.dir)
        .unwrap()
        .flatten()
        .find_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix("waiting.")?
                .parse()
                .ok()
        })
        .unwrap();
    let shim = parent_of(held).expect("the held nft's parent");
    let cmdline = std::fs::read(format!("/proc/{shim}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("shim"),
        "the held nft was not started by a shim"
    );
    // SAFETY: kill(2) on the shim this test's `run` started.
    unsafe { libc::kill(shim, libc::SIGKILL) };
    // Dead: gone, or a zombie its parent (the waiting `run`) has not reaped yet.
    common::wait_for(
        || {
            std::fs::read_to_string(format!("/proc/{shim}/stat"))
                .map(|stat| {
                    stat.rsplit_once(") ")
                        .is_some_and(|(_, rest)| rest.starts_with('Z'))
                })
                .unwrap_or(true)
        },
        "the shim to die",
    );
    let lock = std::fs::File::open(net.run.join("firewall.lock")).expect("the firewall lock");
    // SAFETY: flock on a file this test opened.
    let free = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&lock),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    assert_eq!(free, 0, "the dead shim's lock is still held");
    drop(lock);
    gate.release();
    drop(common::wait_within(run, common::COMMAND_DEADLINE, "run -d"));
    // The next command repairs (the container was never started) and applies the truth.
    let start = Instant::now();
    net.ok(&["ps", "-a"]);
    // Past when the dead shim's apply would have landed, had it outlived the shim.
    std::thread::sleep(Duration::from_millis(1500));
    let left = dnat_lines(&net);
    assert!(
        left.is_empty(),
        "the dead shim's apply landed after the repair:\n{}",
        left.join("\n")
    );
    assert_eq!(count_rows(&net, "ports"), 0);
    // Nothing waits on the dead: a published run goes through.
    net.ok(&[
        "run",
        "--rm",
        "--network",
        "locknet",
        "-p",
        "127.0.0.1::8080",
        "bb",
        "true",
    ]);
    assert!(start.elapsed() < Duration::from_secs(20), "wedged");
    assert!(dnat_lines(&net).is_empty());
    net.ok(&["rm", "-f", "holder"]);
    net.ok(&["network", "rm", "locknet"]);
}

/// How a trial's `network rm` or `network create` was stopped.
fn kill_after(mut child: std::process::Child, delay: Duration) {
    std::thread::sleep(delay);
    // SAFETY: kill(2) on the child this test spawned (a zombie at worst until waited for).
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

/// Whether a bridge named `name` exists, and its addresses (`ip -4 -o addr show dev`).
fn link_addresses(name: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", name])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Links holding an address of `prefix` (e.g. "10.238.1.").
fn links_with_address(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("inet {prefix}")))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .collect()
}

/// (b) `network rm` killed -9 at 0-57 ms, 20 times: after the next command the network is
/// either whole (killed before it started) or gone, bridge and row alike; after `network
/// prune`, no bridge of this root but the default one is left, and the subnet can be taken
/// again.
#[test]
fn killed_network_rm_leaves_no_bridge_and_frees_the_subnet() {
    let net = setup();
    const SUBNET: &str = "10.238.1.0/24";
    let default_bridge = net.table.clone();
    let mut outcomes = (0, 0);
    for trial in 0..20u64 {
        let created = net.berth(&["network", "create", "--subnet", SUBNET, "doomed"]);
        assert_eq!(
            created.code, 0,
            "trial {trial}: the subnet could not be taken again: {}",
            created.stderr
        );
        let bridge = net
            .ok(&["network", "inspect", "-f", "{{.BerthBridge}}", "doomed"])
            .trim()
            .to_string();
        assert!(link_addresses(&bridge).is_some(), "no bridge {bridge}");
        let child = net
            .cmd(&["network", "rm", "doomed"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        kill_after(child, Duration::from_millis(trial * 3));
        // The next command repairs.
        let listed = net.ok(&["network", "ls", "-q", "--filter", "name=doomed"]);
        let row = !listed.trim().is_empty();
        let has_bridge = link_addresses(&bridge).is_some();
        assert_eq!(
            row,
            has_bridge,
            "trial {trial} (killed at {} ms): row {row}, bridge {bridge} {has_bridge}",
            trial * 3
        );
        if row {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
        net.ok(&["network", "prune", "-f"]);
        assert_eq!(
            net.ok(&["network", "ls", "-q", "--filter", "name=doomed"]),
            "",
            "trial {trial}: prune kept the network"
        );
        let left: Vec<String> = bridges_of(&net.root)
            .into_iter()
            .filter(|b| *b != default_bridge)
            .collect();
        assert!(
            left.is_empty(),
            "trial {trial} (killed at {} ms): bridges left after prune: {left:?}",
            trial * 3
        );
        let holders = links_with_address("10.238.1.");
        assert!(
            holders.is_empty(),
            "trial {trial}: {holders:?} still hold {SUBNET}"
        );
    }
    eprintln!(
        "network rm killed: {} before it began, {} after",
        outcomes.0, outcomes.1
    );
    net.ok(&["network", "create", "--subnet", SUBNET, "doomed"]);
    net.ok(&["network", "rm", "doomed"]);
}

/// `network create` killed -9 at 0-55 ms: after the next command there is no bridge without a
/// network; a network that was recorded works (its bridge made or completed on first use),
/// and its removal leaves nothing.
#[test]
fn killed_network_create_leaves_no_bridge_without_a_network() {
    let net = setup();
    net.image("bb", &[]);
    const SUBNET: &str = "10.238.2.0/24";
    let default_bridge = net.table.clone();
    for trial in 0..12u64 {
        let child = net
            .cmd(&["network", "create", "--subnet", SUBNET, "halfway"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        kill_after(child, Duration::from_millis(trial * 5));
        let listed = net.ok(&["network", "ls", "-q", "--filter", "name=halfway"]);
        let others: Vec<String> = bridges_of(&net.root)
            .into_iter()
            .filter(|b| *b != default_bridge)
            .collect();
        if listed.trim().is_empty() {
            // Not recorded: nothing of it may exist.
            assert!(
                others.is_empty(),
                "trial {trial}: bridges without a network: {others:?}"
            );
            continue;
        }
        let bridge = net
            .ok(&["network", "inspect", "-f", "{{.BerthBridge}}", "halfway"])
            .trim()
            .to_string();
        // Recorded: a container on it gets a working bridge (gateway address, up).
        let out = net.ok(&[
            "run",
            "--rm",
            "--network",
            "halfway",
            "bb",
            "ip",
            "-4",
            "-o",
            "addr",
        ]);
        assert!(out.contains("inet 10.238.2."), "trial {trial}: {out}");
        let addrs = link_addresses(&bridge).unwrap_or_default();
        assert!(
            addrs.contains("inet 10.238.2.1/24"),
            "trial {trial}: bridge {bridge} has {addrs:?}"
        );
        net.ok(&["network", "rm", "halfway"]);
        assert!(
            link_addresses(&bridge).is_none(),
            "trial {trial}: bridge {bridge} outlived its network"
        );
    }
    net.ok(&["network", "prune", "-f"]);
    let left: Vec<String> = bridges_of(&net.root)
        .into_iter()
        .filter(|b| *b != default_bridge)
        .collect();
    assert!(left.is_empty(), "bridges left: {left:?}");
    assert!(links_with_address("10.238.2.").is_empty());
}

/// (c) 100 `run --rm` at once on one state root, half publishing a port: every one succeeds,
/// and afterwards no container row, port row, lease, DNAT rule, veth, netns, mount or cgroup is
/// left.
#[test]
fn hundred_parallel_runs_leave_nothing_behind() {
    const N: usize = 100;
    const WIDTH: usize = 16;
    let net = setup();
    net.image("bb", &[]);
    // The shims' nft runs take a random 0-99 ms longer (a busy host), so that their applies
    // interleave as they do under load.
    let gate = NftGate::new(net.root.parent().unwrap());
    gate.jitter();
    let start = Instant::now();
    let runs = run_parallel(
        (0..N)
            .map(|i| {
                let mut cmd = if i % 2 == 0 {
                    net.cmd(&["run", "--rm", "-p", "127.0.0.1::8080", "bb", "true"])
                } else {
                    net.cmd(&["run", "--rm", "bb", "true"])
                };
                cmd.env("PATH", gate.path_env());
                cmd
            })
            .collect(),
        WIDTH,
    );
    eprintln!(
        "{N} runs, {WIDTH} at a time: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code != 0)
        .map(|(i, r)| format!("run {i}: exit {}: {}", r.code, r.stderr.trim()))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    assert_eq!(net.ok(&["ps", "-aq"]), "", "containers left");
    assert_eq!(count_rows(&net, "containers"), 0);
    assert_eq!(count_rows(&net, "ports"), 0, "port rows left");
    assert_eq!(count_rows(&net, "endpoints"), 0, "leases left");
    let left = dnat_lines(&net);
    assert!(left.is_empty(), "DNAT rules left:\n{}", left.join("\n"));
    let netns = net.run.join("netns");
    let pinned: Vec<String> = std::fs::read_dir(&netns)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(pinned.is_empty(), "netns files left: {pinned:?}");
    assert_eq!(net.mounts(), Vec::<String>::new(), "mounts left");
    // The veths go with their namespaces, a moment after.
    let bridge = net.table.clone();
    common::wait_for(
        || {
            std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
                .map(|d| d.count() == 0)
                .unwrap_or(true)
        },
        "the veths on the default bridge to go",
    );
    // Every container that existed (the event log names them) has no cgroup left.
    let db = rusqlite::Connection::open_with_flags(
        net.root.join("berth.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let ids: Vec<String> = db
        .prepare("SELECT DISTINCT actor FROM events WHERE type = 'container' AND action = 'create'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), N, "create events");
    let cgroups: Vec<PathBuf> = ids.iter().flat_map(|id| common::cgroup_dirs(id)).collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
}
