//! A bounded kill -9 torture (issue 10): 72 berth commands (`run` detached and `--rm`, with
//! and without a published port, a named volume or a user network; `rm -f`, `build` with RUN
//! and COPY, `import`, `volume create`/`rm`, `network create`/`rm`, `commit`, `tag`, `rmi`),
//! each SIGKILLed after a random delay, each followed by the next berth commands (at times an
//! `rm -f` at once), with the invariants checked after every round and at the end:
//! - the state database passes SQLite's `PRAGMA integrity_check`;
//! - the images and the named volume made before the torture are intact (the image still runs
//!   and prints its marker, the volume still holds its file, served by a container started
//!   before the torture through a published port);
//! - killing a CLI process never stops a running container (the containers started before a
//!   kill keep their init), and every container is either running (its init alive) or cleanly
//!   recorded (no process, no mount);
//! - an image or volume a killed command left behind is whole (it runs, it has its directory);
//! - every shim of the state root holds a recorded container; after a successful `rm -f`
//!   nothing of the container is left;
//! - after `rm -f` of everything and the prunes: no mount, cgroup, bridge, veth, nftables table,
//!   process, container directory, database row or content-store garbage of the test's state
//!   root is left. Leaked bridges are listed with the round that leaked them.
//!
//! The run is replayable: `TORTURE_SEED=N` (printed on failure) gives the same commands, the
//! same order and the same kill delays (what a kill interrupts still depends on timing).
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Env, cgroup_dirs, have, required_env};

/// How many commands are killed (`TORTURE_KILL_POINTS=N` for a longer soak).
const KILL_POINTS: usize = 72;

fn kill_points() -> usize {
    std::env::var("TORTURE_KILL_POINTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(KILL_POINTS)
}

/// Every how many rounds the kept image, volume and sentinel are checked in full (they run
/// containers, so not after every round).
const FULL_CHECK_EVERY: usize = 6;

/// Torture containers left running at most (targets for the `rm -f` kill points).
const MAX_RUNNING: usize = 3;

/// What the image made before the torture holds at /marker, and the volume at /f.
const MARKER: &str = "kept image marker";
const VOLUME_TEXT: &str = "kept volume text";

/// splitmix64: small, good enough, and the same sequence on every machine for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn seed() -> u64 {
    match std::env::var("TORTURE_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("TORTURE_SEED={s:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// The commands killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `run -d NAME IMG sleep`
    RunDetached,
    /// `run -d -p 127.0.0.1::80`
    RunPublished,
    /// `run -d -v VOLUME:/data`, the kept volume or a new one
    RunVolume,
    /// `run -d --network NET`
    RunNetwork,
    /// `run --rm` attached
    RunRm,
    /// `run --rm -d -p 127.0.0.1::80`
    RunRmDetachedPublished,
    /// `rm -f` of a running container
    RmForce,
    /// `build --no-cache` of a Dockerfile with RUN and COPY
    Build,
    /// `import FILE NAME`
    Import,
    VolumeCreate,
    VolumeRm,
    NetworkCreate,
    NetworkRm,
    /// `commit` of an exited container
    Commit,
    Tag,
    /// `rmi` of an image's only name (the image is deleted and the store collected)
    Rmi,
}

const OPS: [Op; 16] = [
    Op::RunDetached,
    Op::RunPublished,
    Op::RunVolume,
    Op::RunNetwork,
    Op::RunRm,
    Op::RunRmDetachedPublished,
    Op::RmForce,
    Op::Build,
    Op::Import,
    Op::VolumeCreate,
    Op::VolumeRm,
    Op::NetworkCreate,
    Op::NetworkRm,
    Op::Commit,
    Op::Tag,
    Op::Rmi,
];

impl Op {
    /// The kill delay is drawn from 0..window: about what the command takes in a debug build
    /// here (measured: tag, volume create/rm ~10 ms; rmi, import, commit ~15-30 ms; network
    /// create ~40 ms, rm -f ~20-60 ms, run -d ~55-90 ms, network rm ~80 ms; a build's RUN and
    /// COPY steps run from ~100 ms to ~330 ms), so that most kills land inside it.
    fn window_ms(self) -> u64 {
        match self {
            Op::Tag => 12,
            Op::VolumeCreate | Op::VolumeRm => 15,
            Op::Rmi => 25,
            Op::Import | Op::Commit => 35,
            Op::NetworkCreate => 45,
            Op::RmForce => 60,
            Op::NetworkRm | Op::RunDetached | Op::RunVolume | Op::RunNetwork => 90,
            Op::RunPublished | Op::RunRmDetachedPublished => 90,
            Op::RunRm => 150,
            Op::Build => 350,
        }
    }
}

/// The schedule: every operation twice (so each is hit whatever the seed), then random ones,
/// shuffled.
fn schedule(rng: &mut Rng) -> Vec<Op> {
    let mut ops: Vec<Op> = OPS.iter().chain(OPS.iter()).copied().collect();
    while ops.len() < kill_points() {
        ops.push(OPS[rng.below(OPS.len() as u64) as usize]);
    }
    for i in (1..ops.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        ops.swap(i, j);
    }
    ops
}

/// A container as `inspect` shows it.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    status: String,
    pid: i32,
}

struct Torture {
    env: Env,
    seed: u64,
    rng: Rng,
    /// One line per round and per finding, printed on failure.
    log: Vec<String>,
    /// Every container id the state root ever had (build steps included).
    ids: BTreeSet<String>,
    /// Every bridge of the state root seen, and every port (veth) seen on one.
    bridges: BTreeSet<String>,
    veths: BTreeSet<String>,
    /// The state root's nftables table.
    table: String,
    /// Torture containers left running: name -> init pid.
    running: BTreeMap<String, i32>,
    /// The sentinel's id and init pid, and its published host port.
    sentinel: (String, i32, u16),
    /// Names and ids of the images made before the torture.
    kept_images: Vec<(String, String)>,
    /// The content store's image records, blobs and unpacked layers before the torture.
    store_before: BTreeSet<String>,
    /// Leaks found along the way (networks and ports belong to others: reported, at the end,
    /// with the step that leaked them).
    leaks: Vec<String>,
    serial: usize,
    started: Instant,
    context: PathBuf,
    tarball: PathBuf,
}

impl Torture {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n\ntorture seed {seed} (replay: TORTURE_SEED={seed} cargo test -p berth --test torture)\nrounds:\n{}",
            self.log.join("\n"),
            seed = self.seed
        );
    }

    fn note(&mut self, line: String) {
        let line = format!("[{:>6} ms] {line}", self.started.elapsed().as_millis());
        eprintln!("{line}");
        self.log.push(line);
    }

    /// `berth ARGS`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let r = self.env.berth(args);
        if r.code != 0 {
            self.fail(&format!(
                "berth {args:?} exited {}: {}{}",
                r.code, r.stdout, r.stderr
            ));
        }
        r.stdout
    }

    fn name(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}", self.serial)
    }

    /// The state database, read-only: SQLite's own check of every page and index.
    fn check_database(&self) {
        let result: Vec<String> = open_db(&self.env.root)
            .and_then(|db| first_column(&db, "PRAGMA integrity_check"))
            .unwrap_or_else(|e| vec![format!("integrity_check failed: {e}")]);
        if result != ["ok"] {
            self.fail(&format!("the state database is damaged: {result:?}"));
        }
    }

    /// The first column (text) of the rows `sql` selects from the state database.
    fn rows(&self, sql: &str) -> Vec<String> {
        open_db(&self.env.root)
            .and_then(|db| first_column(&db, sql))
            .unwrap_or_else(|e| self.fail(&format!("{sql}: {e}")))
    }

    /// Every shim of the state root holds a container recorded with it: a shim serving a
    /// container nobody can list is an orphan. Within a few seconds: a shim that lost its
    /// claim, or one finishing an `--rm` container, exits by itself.
    fn check_shims(&self) {
        let mut orphans = Vec::new();
        let accounted = wait_until(Duration::from_secs(10), || {
            let held: BTreeSet<String> = self
                .rows("SELECT CAST(shim_pid AS TEXT) FROM containers WHERE shim_pid != 0")
                .into_iter()
                .collect();
            orphans = processes_of(&self.env.root, &BTreeSet::new())
                .into_iter()
                .filter(|(pid, cmdline)| {
                    cmdline.split(' ').nth(1) == Some("shim") && !held.contains(&pid.to_string())
                })
                .collect();
            orphans.is_empty()
        });
        if !accounted {
            self.fail(&format!("shims that hold no container: {orphans:?}"));
        }
    }

    /// Remembers every container, bridge and veth of the state root seen now, so the final
    /// check knows what to look for even once the records are gone.
    fn observe(&mut self) {
        for id in self.rows("SELECT id FROM containers") {
            self.ids.insert(id);
        }
        for bridge in bridges_of(&self.env.root) {
            self.bridges.insert(bridge);
        }
        for bridge in self.bridges.clone() {
            for veth in ports_of(&bridge) {
                self.veths.insert(veth);
            }
        }
    }

    /// A container's id, status and init pid; None when there is no such container.
    fn inspect(&self, name: &str) -> Option<Seen> {
        let r = self.env.berth(&[
            "inspect",
            "-f",
            "{{.Id}} {{.State.Status}} {{.State.Pid}}",
            name,
        ]);
        if r.code != 0 {
            if !r.stderr.contains("No such") {
                self.fail(&format!("inspect {name}: {}{}", r.stdout, r.stderr));
            }
            return None;
        }
        let mut f = r.stdout.split_whitespace();
        let (Some(id), Some(status), Some(pid)) = (f.next(), f.next(), f.next()) else {
            self.fail(&format!("inspect {name} printed {:?}", r.stdout));
        };
        Some(Seen {
            id: id.to_string(),
            status: status.to_string(),
            pid: pid.parse().unwrap(),
        })
    }

    /// A container is running (its init alive, in its cgroup) or cleanly recorded (no
    /// process, no rootfs mount), within a few seconds: a shim starting it, or recording its
    /// exit and tearing it down, is given that long. Returns what inspect says last.
    fn consistent(&self, name: &str) -> Option<Seen> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.inspect(name)?;
            let problem = match seen.status.as_str() {
                "running" | "paused" => {
                    if seen.pid <= 0 || !Path::new(&format!("/proc/{}", seen.pid)).exists() {
                        Some("its init is gone".to_string())
                    } else if !cgroup_procs(&seen.id).contains(&seen.pid) {
                        Some("its init is not in its cgroup".to_string())
                    } else {
                        None
                    }
                }
                "created" | "exited" | "dead" => {
                    let rootfs = self
                        .env
                        .run
                        .join("containers")
                        .join(&seen.id)
                        .join("rootfs");
                    let procs = cgroup_procs(&seen.id);
                    if !procs.is_empty() {
                        Some(format!("it has processes {procs:?}"))
                    } else if self.mounted(&rootfs.to_string_lossy()) {
                        Some("its rootfs is mounted".to_string())
                    } else {
                        None
                    }
                }
                // Restarting is only for a restart policy, which no torture container has.
                other => Some(format!("it is {other}")),
            };
            match problem {
                None => return Some(seen),
                Some(p) if Instant::now() >= deadline => {
                    self.fail(&format!("{name} is recorded {seen:?} but {p}"))
                }
                Some(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn mounted(&self, path: &str) -> bool {
        self.env.mounts().iter().any(|m| m == path)
    }

    /// After a successful `rm -f`: nothing of the container is left.
    fn check_removed(&mut self, name: &str, id: &str, step: &str) {
        // Known to the guard even if this check fails before the round's end.
        self.ids.insert(id.to_string());
        if self.inspect(name).is_some() {
            self.fail(&format!("{name} is still there after {step}"));
        }
        let mut left = Vec::new();
        let run_dir = self.env.run.join("containers").join(id);
        for m in self.env.mounts() {
            if m.starts_with(&*run_dir.to_string_lossy()) || m.contains(id) {
                left.push(format!("mount {m}"));
            }
        }
        for d in cgroup_dirs(id) {
            left.push(format!("cgroup {}", d.display()));
        }
        for dir in [
            self.env.root.join("containers").join(id),
            run_dir.clone(),
            self.env.run.join("netns").join(id),
        ] {
            if dir.exists() {
                left.push(format!("{}", dir.display()));
            }
        }
        let procs = cgroup_procs(id);
        if !procs.is_empty() {
            left.push(format!("processes {procs:?}"));
        }
        if !left.is_empty() {
            self.fail(&format!("{step} of {name} ({id}) left {left:?}"));
        }
    }

    /// `rm -f NAME` must succeed and leave nothing.
    fn remove(&mut self, name: &str, step: &str) {
        let Some(seen) = self.inspect(name) else {
            return;
        };
        self.ok(&["rm", "-f", name]);
        self.running.remove(name);
        self.check_removed(name, &seen.id, step);
    }

    /// Spawns `berth ARGS` and SIGKILLs it after `delay_ms` (unless it finished first).
    /// Returns what happened, for the log.
    fn kill_after(&self, args: &[&str], delay_ms: u64) -> String {
        let mut child = self
            .env
            .cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(delay_ms);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return format!(
                    "finished ({}) after {} ms, before the kill at {delay_ms} ms",
                    status.code().map_or("signal".into(), |c| c.to_string()),
                    start.elapsed().as_millis()
                );
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(1)));
        }
        // SIGKILL, then reap it: no zombie, and the next command starts after it is gone.
        let _ = child.kill();
        let _ = child.wait();
        format!("killed at {} ms", start.elapsed().as_millis())
    }

    /// The invariants after every round: the next command works (and repairs), the database
    /// is sound, the sentinel and every torture container left running still run the same
    /// init, every container is consistent.
    fn check_round(&mut self) {
        let ps = self.ok(&[
            "ps",
            "-a",
            "--no-trunc",
            "--format",
            "{{.ID}}\t{{.Names}}\t{{.State}}",
        ]);
        self.check_database();
        self.check_shims();
        let (sentinel, sentinel_pid, _) = self.sentinel.clone();
        match self.inspect("sentinel") {
            Some(s) if s.id == sentinel && s.status == "running" && s.pid == sentinel_pid => {}
            other => self.fail(&format!(
                "the sentinel started before the torture is not running its init {sentinel_pid} any more: {other:?}"
            )),
        }
        for (name, pid) in self.running.clone() {
            match self.inspect(&name) {
                Some(s) if s.status == "running" && s.pid == pid => {}
                other => self.fail(&format!(
                    "{name}, running with init {pid} before this round, is now {other:?}"
                )),
            }
        }
        for line in ps.lines() {
            let name = line.split('\t').nth(1).unwrap_or_default().to_string();
            if !name.is_empty() {
                self.consistent(&name);
            }
        }
        // Every name in the database names a whole image, every volume has its directory.
        for tag in self.rows("SELECT name FROM tags") {
            let r = self.env.berth(&["image", "inspect", "-f", "{{.Id}}", &tag]);
            if r.code != 0 {
                self.fail(&format!(
                    "the name {tag} is recorded but its image is not: {}",
                    r.stderr
                ));
            }
        }
        for volume in self.ok(&["volume", "ls", "-q"]).lines() {
            if !self.volume_data(volume).is_dir() {
                self.fail(&format!("volume {volume} is listed without its directory"));
            }
        }
        self.observe();
    }

    /// The kept images run and print their marker, the kept volume holds its file, and the
    /// sentinel serves it through its published port.
    fn check_kept(&self) {
        for (name, id) in &self.kept_images {
            let r = self.env.berth(&["image", "inspect", "-f", "{{.Id}}", name]);
            if r.code != 0 || r.stdout.trim() != id {
                self.fail(&format!(
                    "image {name} ({id}) made before the torture is now {:?} {}",
                    r.stdout, r.stderr
                ));
            }
        }
        let out = self.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "keep:1",
            "cat",
            "/marker",
        ]);
        if out.trim() != MARKER {
            self.fail(&format!("keep:1 prints {out:?} at /marker"));
        }
        self.ok(&["run", "--rm", "--network", "none", "bb", "true"]);
        let on_disk = std::fs::read_to_string(self.env.root.join("volumes/kv/_data/f"));
        if on_disk.as_deref().map(str::trim).ok() != Some(VOLUME_TEXT) {
            self.fail(&format!("the kept volume's file is now {on_disk:?}"));
        }
        let port = self.sentinel.2;
        match http_get(port, "/f") {
            Ok(body) if body.contains(VOLUME_TEXT) => {}
            other => self.fail(&format!(
                "the sentinel does not serve the kept volume's file on 127.0.0.1:{port}: {other:?}"
            )),
        }
    }

    /// A torture container by name: consistent; then either kept running (a target for a
    /// later `rm -f`) or removed.
    fn settle_container(&mut self, name: &str, step: &str, may_keep: bool) {
        let Some(seen) = self.consistent(name) else {
            return;
        };
        if may_keep
            && seen.status == "running"
            && self.running.len() < MAX_RUNNING
            && self.rng.chance(60)
        {
            self.running.insert(name.to_string(), seen.pid);
            return;
        }
        self.remove(name, step);
    }

    /// An image a killed command left under `name` is whole: it runs. Then it goes.
    fn settle_image(&mut self, name: &str, check: &[&str], expect: &str) {
        let r = self.env.berth(&["image", "inspect", "-f", "{{.Id}}", name]);
        if r.code != 0 {
            if !r.stderr.contains("No such image") {
                self.fail(&format!("image inspect {name}: {}", r.stderr));
            }
            return;
        }
        let mut args = vec!["run", "--rm", "--network", "none", name];
        args.extend_from_slice(check);
        let out = self.env.berth(&args);
        if out.code != 0 || out.stdout != expect {
            self.fail(&format!(
                "image {name} left by a killed command is not whole: {args:?} exited {} with {:?} {:?}",
                out.code, out.stdout, out.stderr
            ));
        }
        self.ok(&["rmi", name]);
    }

    fn bridge_gone(&mut self, bridge: &str, step: &str) {
        // The kernel deletes a removed container's veth with its namespace, a moment later.
        if !wait_until(Duration::from_secs(5), || !link_exists(bridge)) {
            let leak = format!(
                "{step}: bridge {bridge} left (ports {:?})",
                ports_of(bridge)
            );
            self.note(format!("LEAK {leak}"));
            self.leaks.push(leak);
        }
    }

    fn round(&mut self, round: usize, op: Op) {
        let delay = self.rng.below(op.window_ms());
        let prefix = format!("round {round}: {op:?}");
        match op {
            Op::RunDetached
            | Op::RunPublished
            | Op::RunVolume
            | Op::RunNetwork
            | Op::RunRmDetachedPublished => {
                let name = self.name("t");
                let mut args: Vec<String> = vec!["run".into(), "-d".into()];
                let mut new_volume = None;
                match op {
                    Op::RunPublished => args.extend(["-p".into(), "127.0.0.1::80".into()]),
                    Op::RunVolume => {
                        let volume = if self.rng.chance(50) {
                            "kv".to_string()
                        } else {
                            let v = self.name("tv");
                            new_volume = Some(v.clone());
                            v
                        };
                        args.extend(["-v".into(), format!("{volume}:/data")]);
                    }
                    Op::RunNetwork => args.extend(["--network".into(), "tnet".into()]),
                    Op::RunRmDetachedPublished => {
                        args.extend(["--rm".into(), "-p".into(), "127.0.0.1::80".into()])
                    }
                    _ => {}
                }
                args.extend(["--name".into(), name.clone(), "bb".into(), "sleep".into()]);
                args.push(if op == Op::RunRmDetachedPublished {
                    "0.3".into()
                } else {
                    "1000".into()
                });
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let what = self.kill_after(&argv, delay);
                self.note(format!("{prefix}: berth {} {what}", args.join(" ")));
                let step = format!("{prefix}: the cleanup after the killed run");
                if self.rng.chance(40) {
                    self.remove_at_once(&name, &format!("{prefix}: rm -f right after the kill"));
                } else if op == Op::RunRmDetachedPublished {
                    self.settle_auto_removed(&name, &step);
                } else {
                    // A new volume is checked and removed below: its container goes first.
                    self.settle_container(&name, &step, new_volume.is_none());
                }
                if let Some(volume) = new_volume {
                    self.settle_volume(&volume, &prefix);
                }
            }
            Op::RunRm => {
                let name = self.name("t");
                let args = [
                    "run",
                    "--rm",
                    "--name",
                    &name,
                    "bb",
                    "sh",
                    "-c",
                    "sleep 0.3",
                ];
                let what = self.kill_after(&args, delay);
                self.note(format!("{prefix}: berth {} {what}", args.join(" ")));
                if self.rng.chance(40) {
                    self.remove_at_once(&name, &format!("{prefix}: rm -f right after the kill"));
                } else {
                    self.settle_auto_removed(&name, &format!("{prefix}: the cleanup"));
                }
            }
            Op::RmForce => {
                if self.running.is_empty() {
                    let name = self.name("t");
                    self.ok(&["run", "-d", "--name", &name, "bb", "sleep", "1000"]);
                    let seen = self.inspect(&name).unwrap();
                    self.running.insert(name, seen.pid);
                }
                let targets: Vec<String> = self.running.keys().cloned().collect();
                let target = targets[self.rng.below(targets.len() as u64) as usize].clone();
                let id = self.inspect(&target).unwrap().id;
                let what = self.kill_after(&["rm", "-f", &target], delay);
                self.note(format!("{prefix}: berth rm -f {target} {what}"));
                // Killed midway, the container may still run or be stopped: either is fine,
                // half of each is not.
                self.running.remove(&target);
                if self.consistent(&target).is_some() {
                    self.ok(&["rm", "-f", &target]);
                }
                self.check_removed(&target, &id, &format!("{prefix}: rm -f after the kill"));
            }
            Op::Build => {
                let tag = format!("tb:{}", self.name(""));
                let context = self.context.to_string_lossy().into_owned();
                let args = ["build", "--no-cache", "-t", &tag, &context];
                let what = self.kill_after(&args, delay);
                self.note(format!("{prefix}: berth {} {what}", args.join(" ")));
                self.settle_image(&tag, &["cat", "/r", "/f"], "ran\ncopied\n");
                // The next build of the same context works, and its image is whole.
                self.ok(&["build", "--no-cache", "-q", "-t", &tag, &context]);
                self.settle_image(&tag, &["cat", "/r", "/f"], "ran\ncopied\n");
            }
            Op::Import => {
                let tag = format!("ti:{}", self.name(""));
                let tarball = self.tarball.to_string_lossy().into_owned();
                let args = ["import", &tarball, &tag];
                let what = self.kill_after(&args, delay);
                self.note(format!("{prefix}: berth {} {what}", args.join(" ")));
                self.settle_image(&tag, &["cat", "/etc/passwd"], &passwd());
            }
            Op::VolumeCreate => {
                let volume = self.name("tv");
                let what = self.kill_after(&["volume", "create", &volume], delay);
                self.note(format!("{prefix}: berth volume create {volume} {what}"));
                // Creating it again works whatever the kill left, and gives a whole volume.
                self.ok(&["volume", "create", &volume]);
                self.settle_volume(&volume, &prefix);
            }
            Op::VolumeRm => {
                let volume = self.name("tv");
                self.ok(&["volume", "create", &volume]);
                std::fs::write(self.volume_data(&volume).join("f"), "x").unwrap();
                let what = self.kill_after(&["volume", "rm", &volume], delay);
                self.note(format!("{prefix}: berth volume rm {volume} {what}"));
                self.settle_volume(&volume, &prefix);
            }
            Op::NetworkCreate => {
                let network = self.name("tn");
                let what = self.kill_after(&["network", "create", &network], delay);
                self.note(format!("{prefix}: berth network create {network} {what}"));
                self.settle_network(&network, None, &prefix);
            }
            Op::NetworkRm => {
                let network = self.name("tn");
                self.ok(&["network", "create", &network]);
                let bridge = self
                    .ok(&["network", "inspect", "-f", "{{.BerthBridge}}", &network])
                    .trim()
                    .to_string();
                self.observe();
                let what = self.kill_after(&["network", "rm", &network], delay);
                self.note(format!(
                    "{prefix}: berth network rm {network} (bridge {bridge}) {what}"
                ));
                self.settle_network(&network, Some(bridge), &prefix);
            }
            Op::Commit => {
                let name = self.name("t");
                self.ok(&[
                    "run",
                    "--name",
                    &name,
                    "--network",
                    "none",
                    "bb",
                    "sh",
                    "-c",
                    "echo committed > /c",
                ]);
                let tag = format!("tc:{}", self.name(""));
                let args = ["commit", &name, &tag];
                let what = self.kill_after(&args, delay);
                self.note(format!("{prefix}: berth {} {what}", args.join(" ")));
                self.settle_image(&tag, &["cat", "/c"], "committed\n");
                self.settle_container(&name, &format!("{prefix}: rm -f"), false);
            }
            Op::Tag => {
                let tag = format!("tt:{}", self.name(""));
                let what = self.kill_after(&["tag", "bb", &tag], delay);
                self.note(format!("{prefix}: berth tag bb {tag} {what}"));
                let r = self.env.berth(&["image", "inspect", "-f", "{{.Id}}", &tag]);
                if r.code == 0 {
                    let bb = &self.kept_images.iter().find(|(n, _)| n == "bb").unwrap().1;
                    if r.stdout.trim() != bb {
                        self.fail(&format!("{tag} names {} instead of bb's {bb}", r.stdout));
                    }
                    self.ok(&["rmi", &tag]);
                }
            }
            Op::Rmi => {
                let tag = format!("tr:{}", self.name(""));
                let tarball = self.tarball.to_string_lossy().into_owned();
                self.ok(&["import", &tarball, &tag]);
                let what = self.kill_after(&["rmi", &tag], delay);
                self.note(format!("{prefix}: berth rmi {tag} {what}"));
                self.settle_image(&tag, &["cat", "/etc/passwd"], &passwd());
            }
        }
        self.check_round();
    }

    /// `rm -f` as the very next command after a killed `run`, whatever state the kill left
    /// (a shim may be starting the container right now): when it succeeds nothing of the
    /// container is left, and no shim goes on with it.
    fn remove_at_once(&mut self, name: &str, step: &str) {
        // Straight from the database: no berth command (and its repair) before the `rm -f`.
        let id = self
            .rows(&format!("SELECT id FROM containers WHERE name = '{name}'"))
            .pop();
        let r = self.env.berth(&["rm", "-f", name]);
        match id {
            Some(id) if r.code == 0 => {
                self.running.remove(name);
                self.check_removed(name, &id, step);
            }
            Some(id) => self.fail(&format!(
                "{step}: rm -f {name} ({id}) exited {}: {}",
                r.code, r.stderr
            )),
            None if r.code == 0 => self.fail(&format!(
                "{step}: rm -f {name} succeeded, but there was no such container"
            )),
            None => {}
        }
    }

    /// An `--rm` container after its CLI was killed: one that started ends and removes itself;
    /// one killed before it started stays created (as Docker's) until `rm -f`.
    fn settle_auto_removed(&mut self, name: &str, step: &str) {
        let mut last = None;
        let gone = wait_until(Duration::from_secs(10), || {
            last = self.consistent(name);
            last.as_ref().is_none_or(|s| s.status == "created")
        });
        if !gone {
            self.fail(&format!(
                "{step}: the --rm container {name} did not remove itself: {last:?}"
            ));
        }
        if let Some(seen) = last {
            self.ok(&["rm", "-f", name]);
            self.check_removed(name, &seen.id, step);
        }
    }

    fn volume_data(&self, volume: &str) -> PathBuf {
        self.env.root.join("volumes").join(volume).join("_data")
    }

    /// A volume a killed command may have left: if listed, it has its directory; `volume rm`
    /// then removes it whole.
    fn settle_volume(&mut self, volume: &str, step: &str) {
        let r = self
            .env
            .berth(&["volume", "inspect", "-f", "{{.Mountpoint}}", volume]);
        if r.code == 0 {
            if !Path::new(r.stdout.trim()).is_dir() {
                self.fail(&format!(
                    "{step}: volume {volume} is listed without its directory {}",
                    r.stdout.trim()
                ));
            }
            self.ok(&["volume", "rm", volume]);
        } else if !r.stderr.contains("no such volume") {
            self.fail(&format!("volume inspect {volume}: {}", r.stderr));
        }
        let r = self.env.berth(&["volume", "inspect", volume]);
        if r.code == 0 {
            self.fail(&format!("{step}: volume {volume} is still there after rm"));
        }
        if self.env.root.join("volumes").join(volume).exists() {
            self.fail(&format!(
                "{step}: volume {volume}'s directory is left after rm"
            ));
        }
    }

    /// A network a killed command may have left: `network rm` removes it, and its bridge goes.
    fn settle_network(&mut self, network: &str, bridge: Option<String>, step: &str) {
        let r = self
            .env
            .berth(&["network", "inspect", "-f", "{{.BerthBridge}}", network]);
        let bridge = if r.code == 0 {
            let b = r.stdout.trim().to_string();
            self.ok(&["network", "rm", network]);
            Some(b)
        } else {
            if !r.stderr.contains("not found") {
                self.fail(&format!("network inspect {network}: {}", r.stderr));
            }
            bridge
        };
        if let Some(bridge) = bridge {
            self.bridge_gone(&bridge, &format!("{step}, then network rm"));
        }
    }

    /// Everything of the state root is gone after removing every container and pruning.
    fn final_cleanup_and_check(&mut self) {
        let ids = self.rows("SELECT id FROM containers");
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            self.ok(&args);
        }
        self.running.clear();
        self.ok(&["network", "prune", "-f", "--include-default-bridge"]);
        self.ok(&["volume", "prune", "-a", "-f"]);
        // The build cache's images go, and the store is collected.
        self.ok(&["builder", "prune", "-f"]);
        self.check_database();
        let mut leaks = self.leaks.clone();
        let store = self.store_contents();
        for lost in self.store_before.difference(&store) {
            leaks.push(format!("LOST from the content store: {lost}"));
        }
        for extra in store.difference(&self.store_before) {
            leaks.push(format!("content store garbage: {extra}"));
        }
        let names: BTreeSet<String> = self.rows("SELECT name FROM tags").into_iter().collect();
        let images: BTreeSet<String> = self.rows("SELECT id FROM images").into_iter().collect();
        let kept: BTreeSet<String> = self.kept_images.iter().map(|(_, id)| id.clone()).collect();
        if images != kept || names.len() != self.kept_images.len() {
            leaks.push(format!(
                "images recorded {images:?} named {names:?}, only {:?} should be",
                self.kept_images
            ));
        }
        for table in [
            "containers",
            "container_mounts",
            "endpoints",
            "ports",
            "networks",
            "volumes",
        ] {
            let count = self.rows(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"));
            if count != ["0"] {
                leaks.push(format!("{count:?} rows left in the table {table}"));
            }
        }
        leaks.extend(self.leftovers());
        if !leaks.is_empty() {
            self.fail(&format!(
                "after rm -f of every container, network prune and volume prune, left:\n  {}",
                leaks.join("\n  ")
            ));
        }
    }

    /// The content store's image records, blobs, unpacked layers and gzip variants, as
    /// "images/HEX", "blobs/sha256/HEX", ... (its tmp dir aside: a killed writer's temp
    /// files go after an hour, as nothing can tell them from a live writer's).
    fn store_contents(&self) -> BTreeSet<String> {
        let store = self.env.root.join("image");
        let mut out = BTreeSet::new();
        for dir in ["images", "blobs/sha256", "layers", "variants"] {
            for e in std::fs::read_dir(store.join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                out.insert(format!("{dir}/{}", e.file_name().to_string_lossy()));
            }
        }
        out
    }

    /// What is left of the state root on the host (for the final check and the guard).
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for m in self.env.mounts() {
            left.push(format!("mount {m}"));
        }
        for id in &self.ids {
            for d in cgroup_dirs(id) {
                left.push(format!("cgroup dir {}", d.display()));
            }
        }
        for bridge in bridges_of(&self.env.root)
            .into_iter()
            .chain(self.bridges.iter().filter(|b| link_exists(b)).cloned())
            .collect::<BTreeSet<_>>()
        {
            left.push(format!("bridge {bridge} (ports {:?})", ports_of(&bridge)));
        }
        for veth in self.veths.iter().filter(|v| link_exists(v)) {
            left.push(format!("veth {veth}"));
        }
        if let Some(rules) = nft_table(&self.table) {
            left.push(format!("nftables table ip {}:\n{rules}", self.table));
        }
        for (pid, what) in processes_of(&self.env.root, &self.ids) {
            left.push(format!("process {pid}: {what}"));
        }
        for dir in [
            self.env.root.join("containers"),
            self.env.run.join("containers"),
            self.env.run.join("netns"),
            self.env.root.join("build"),
            self.env.root.join("volumes"),
        ] {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                // Temp dirs of killed volume creates go after a grace period (a create may
                // still be running); trash of killed removals goes on the next command.
                if name.starts_with(".tmp-") {
                    continue;
                }
                left.push(format!("{}", e.path().display()));
            }
        }
        left
    }
}

/// The guard: whatever happened, the state root's containers, processes, mounts, cgroups,
/// bridges and nftables table go (the Env's own Drop then finds little to do).
impl Drop for Torture {
    fn drop(&mut self) {
        if self.env.root.join("berth.db").exists() {
            let ids = open_db(&self.env.root)
                .and_then(|db| first_column(&db, "SELECT id FROM containers"))
                .unwrap_or_default();
            for id in ids {
                let _ = self.env.berth(&["rm", "-f", &id]);
                self.ids.insert(id);
            }
            let _ = self
                .env
                .berth(&["network", "prune", "-f", "--include-default-bridge"]);
            let _ = self.env.berth(&["volume", "prune", "-a", "-f"]);
        }
        for (pid, _) in processes_of(&self.env.root, &self.ids) {
            // SAFETY: SIGKILL to a process of this test's state root (a shim, a container's
            // process, a berth command), found by its environment or cgroup just now.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for m in self.env.mounts().into_iter().rev() {
            let c = std::ffi::CString::new(m).unwrap();
            // SAFETY: umount2 on a path string we own.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        for id in &self.ids {
            for d in cgroup_dirs(id) {
                wait_until(Duration::from_secs(2), || std::fs::remove_dir(&d).is_ok());
            }
        }
        // Bridges only (never a veth): a veth goes with its namespace, released above.
        for bridge in bridges_of(&self.env.root)
            .into_iter()
            .chain(self.bridges.iter().cloned())
            .collect::<BTreeSet<_>>()
        {
            if link_exists(&bridge) && bridge_is_ours(&bridge, &self.env.root) {
                wait_until(Duration::from_secs(2), || ports_of(&bridge).is_empty());
                let _ = std::process::Command::new("ip")
                    .args(["link", "delete", &bridge, "type", "bridge"])
                    .status();
            }
        }
        if nft_table(&self.table).is_some() {
            let _ = std::process::Command::new("nft")
                .args(["delete", "table", "ip", &self.table])
                .status();
        }
    }
}

/// The state database, read-only.
fn open_db(root: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open_with_flags(
        root.join("berth.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(Duration::from_secs(30))?;
    Ok(db)
}

fn first_column(db: &rusqlite::Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    db.prepare(sql)?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect()
}

fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids in a container's cgroup (v1 pids controller or v2), read from the host.
fn cgroup_procs(id: &str) -> Vec<i32> {
    [
        format!("/sys/fs/cgroup/pids/berth/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/berth/{id}/cgroup.procs"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .unwrap_or_default()
    .split_whitespace()
    .filter_map(|p| p.parse().ok())
    .collect()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// How berth labels the bridges of a state root (crates/net's ifalias "berth root=ROOT").
fn bridge_is_ours(name: &str, root: &Path) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifalias"))
        .is_ok_and(|a| a.trim_end() == format!("berth root={}", root.display()))
}

fn bridges_of(root: &Path) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| bridge_is_ours(n, root))
        .collect()
}

/// The interfaces enslaved to a bridge (containers' host-side veths).
fn ports_of(bridge: &str) -> Vec<String> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The state root's nftables table (crates/engine's `firewall_of`: "berth-" and the first 8
/// hex digits of the root's sha256) as `nft list` prints it; None when there is none.
fn nft_table(table: &str) -> Option<String> {
    let out = std::process::Command::new("nft")
        .args(["list", "table", "ip", table])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn table_of(root: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(root.as_os_str().as_encoded_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    format!("berth-{}", &String::from_utf8_lossy(&out.stdout)[..8])
}

/// Processes of the state root: those with its BERTH_ROOT in their environment (shims, berth
/// commands) and those in the cgroup of one of its containers.
fn processes_of(root: &Path, ids: &BTreeSet<String>) -> Vec<(i32, String)> {
    let needle = format!("BERTH_ROOT={}", root.display());
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let ours_by_env = environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes());
        let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let ours_by_cgroup = cgroup
            .lines()
            .any(|l| ids.iter().any(|id| l.ends_with(&format!("/berth/{id}"))));
        if ours_by_env || ours_by_cgroup {
            let cmdline = std::fs::read(e.path().join("cmdline"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            found.push((pid, cmdline));
        }
    }
    found
}

/// GET of `path` from 127.0.0.1:port; the whole response.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

/// The /etc/passwd `Env::image` writes (what the imported tarball holds too).
fn passwd() -> String {
    "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n".into()
}

#[test]
fn kill_9_anywhere_loses_nothing_and_leaks_nothing() {
    // None only outside CI: without root or busybox, env() says so through cannot_run, which
    // panics (fails this test) when CI is set; the same for `have` below.
    let env = required_env();
    if !have("nft", "published ports and the leak check")
        || !have("ip", "the guard deletes a leaked bridge")
        || !have("sha256sum", "the state root's nftables table name")
    {
        return;
    }
    let seed = seed();
    eprintln!("torture seed {seed} (replay with TORTURE_SEED={seed})");
    let base = env.root.parent().unwrap().to_path_buf();
    let table = table_of(&env.root);
    let mut t = Torture {
        env,
        seed,
        rng: Rng(seed),
        log: Vec::new(),
        ids: BTreeSet::new(),
        bridges: BTreeSet::new(),
        veths: BTreeSet::new(),
        table,
        running: BTreeMap::new(),
        sentinel: (String::new(), 0, 0),
        kept_images: Vec::new(),
        leaks: Vec::new(),
        store_before: BTreeSet::new(),
        serial: 0,
        started: Instant::now(),
        context: base.join("context"),
        tarball: base.join("rootfs.tar"),
    };
    let started = Instant::now();

    // Before the torture: an image, an image committed with a marker, a named volume with a
    // file, a user network, and a sentinel serving the volume's file on a published port.
    t.env.image("bb", &[]);
    t.ok(&[
        "run",
        "--name",
        "maker",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        &format!("echo '{MARKER}' > /marker"),
    ]);
    t.ok(&["commit", "maker", "keep:1"]);
    t.ok(&["rm", "maker"]);
    t.ok(&["volume", "create", "kv"]);
    t.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "kv:/data",
        "bb",
        "sh",
        "-c",
        &format!("echo '{VOLUME_TEXT}' > /data/f"),
    ]);
    t.ok(&["network", "create", "tnet"]);
    for name in ["bb", "keep:1"] {
        let id = t
            .ok(&["image", "inspect", "-f", "{{.Id}}", name])
            .trim()
            .to_string();
        t.kept_images.push((name.to_string(), id));
    }
    let sentinel = t
        .ok(&[
            "run",
            "-d",
            "--name",
            "sentinel",
            "-p",
            "127.0.0.1::80",
            "-v",
            "kv:/data",
            "bb",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/data",
        ])
        .trim()
        .to_string();
    let pid = t.inspect("sentinel").unwrap().pid;
    let port: u16 = t
        .ok(&["port", "sentinel", "80"])
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| t.fail("no published port for the sentinel"));
    t.sentinel = (sentinel, pid, port);
    // The build context (RUN and COPY) and the tarball import reads.
    std::fs::create_dir_all(&t.context).unwrap();
    std::fs::write(t.context.join("f"), "copied\n").unwrap();
    std::fs::write(
        t.context.join("Dockerfile"),
        "FROM bb\nRUN echo ran > /r\nCOPY f /f\n",
    )
    .unwrap();
    make_tarball(&t.tarball);
    t.observe();
    // The first runs unpack the kept images' layers: the store as it is after them.
    t.check_kept();
    t.store_before = t.store_contents();
    t.note(format!(
        "setup done in {} ms",
        started.elapsed().as_millis()
    ));

    let ops = schedule(&mut t.rng);
    for (round, op) in ops.into_iter().enumerate() {
        t.round(round, op);
        if (round + 1) % FULL_CHECK_EVERY == 0 {
            t.check_kept();
        }
    }
    t.check_kept();
    t.note(format!(
        "{} kill points done in {} ms",
        kill_points(),
        started.elapsed().as_millis()
    ));
    t.final_cleanup_and_check();
    eprintln!(
        "torture seed {seed}: passed in {} ms",
        started.elapsed().as_millis()
    );
}

/// A busybox rootfs tarball with the same files `Env::image` imports.
fn make_tarball(path: &Path) {
    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    }
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    let dir = header(tar::EntryType::Directory, 0o755, 0);
    for d in ["bin/", "etc/", "tmp/"] {
        builder
            .append_data(&mut dir.clone(), d, std::io::empty())
            .unwrap();
    }
    let busybox = std::fs::read(common::busybox().unwrap()).unwrap();
    let mut file = header(tar::EntryType::Regular, 0o755, busybox.len() as u64);
    builder
        .append_data(&mut file, "bin/busybox", busybox.as_slice())
        .unwrap();
    for cmd in ["sh", "cat", "true", "sleep", "echo"] {
        let mut link = header(tar::EntryType::Symlink, 0o777, 0);
        builder
            .append_link(&mut link, format!("bin/{cmd}"), "busybox")
            .unwrap();
    }
    let passwd = passwd();
    let mut file = header(tar::EntryType::Regular, 0o644, passwd.len() as u64);
    builder
        .append_data(&mut file, "etc/passwd", passwd.as_bytes())
        .unwrap();
    builder.finish().unwrap();
}
