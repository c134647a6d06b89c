//! Test harness: a private BERTH_ROOT/BERTH_RUN per test, a busybox image made with
//! `berth import`, and a teardown that removes containers, mounts and cgroups even when the
//! test fails.
#![allow(dead_code)]

pub mod build;
pub mod http;
pub mod kube;
pub mod local_registry;
pub mod serve;
pub mod terminal;
pub mod token_server;
pub mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Env {
    pub root: PathBuf,
    pub run: PathBuf,
    _dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn berth_bin() -> &'static str {
    env!("CARGO_BIN_EXE_berth")
}

pub fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Says why a test cannot run here and lets it return early, except under CI (`CI` set),
/// where a test that cannot run is a failure, never a pass.
pub fn cannot_run(reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("this test cannot run: {reason} (CI is set, so that is a failure)");
    }
    eprintln!("skipping: {reason}");
}

/// Whether `program` is on PATH; a test that needs it and cannot find it says so through
/// [`cannot_run`] (a failure under CI).
pub fn have(program: &str, why: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        cannot_run(&format!("{program} is not installed ({why})"));
    }
    found
}

/// An [`env`] the test cannot go on without: where it cannot be made (not root, no busybox),
/// the test fails, with the reason [`cannot_run`] gave.
/// Stops the test, failing it, when `ready` is false: each check that made it false said why
/// through [`cannot_run`]. A test never passes for having run nothing.
pub fn require(ready: bool, what: &str) {
    if !ready {
        panic!("this test cannot run without {what} (see the reason above)");
    }
}

pub fn required_env() -> Env {
    env().expect("this test needs root and busybox (see the reason above)")
}

/// A private state root for one test. None (after [`cannot_run`]) when not root or busybox
/// is missing: these tests need both.
pub fn env() -> Option<Env> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || busybox().is_none() {
        cannot_run("needs root and busybox-static");
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("berth-test")
        .tempdir()
        .unwrap();
    let env = Env {
        root: dir.path().join("root"),
        run: dir.path().join("run"),
        _dir: dir,
    };
    Some(env)
}

impl Env {
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.args(args)
            .env("BERTH_ROOT", &self.root)
            .env("BERTH_RUN", &self.run)
            .stdin(Stdio::null());
        c
    }

    pub fn berth(&self, args: &[&str]) -> Run {
        output_within(self.cmd(args), COMMAND_DEADLINE)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.berth(args);
        assert_eq!(r.code, 0, "berth {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    pub fn with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        wait_within(child, COMMAND_DEADLINE, &format!("{args:?}"))
    }

    /// Imports a busybox rootfs as `name`, with extra `--change`s.
    pub fn image(&self, name: &str, changes: &[&str]) -> String {
        let rootfs = self
            .root
            .parent()
            .unwrap()
            .join(format!("rootfs-{}", name.replace([':', '/'], "_")));
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::create_dir_all(rootfs.join("tmp")).unwrap();
        std::fs::copy(busybox().unwrap(), rootfs.join("bin/busybox")).unwrap();
        for cmd in [
            "sh", "echo", "cat", "ls", "ps", "sleep", "hostname", "id", "true", "false", "env",
            "pwd", "grep", "mount", "touch", "wc", "head", "kill", "yes", "tty", "stty", "mkdir",
            "rm", "sed", "tr", "httpd", "nc", "wget", "ip", "ifconfig", "route", "nslookup",
        ] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(cmd)).unwrap();
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            rootfs.join("etc/group"),
            "root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n",
        )
        .unwrap();
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg("-")
            .arg(".")
            .output()
            .unwrap();
        assert!(tar.status.success());
        let mut args = vec!["import"];
        for c in changes {
            args.push("--change");
            args.push(c);
        }
        args.push("-");
        args.push(name);
        let r = self.with_stdin(&args, &tar.stdout);
        assert_eq!(r.code, 0, "import failed: {}", r.stderr);
        std::fs::remove_dir_all(&rootfs).ok();
        r.stdout.trim().to_string()
    }

    /// Mount points left under this test's directories.
    pub fn mounts(&self) -> Vec<String> {
        let base = self.root.parent().unwrap().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&base))
            .collect()
    }

    pub fn container_ids(&self) -> Vec<String> {
        self.berth(&["ps", "-aq", "--no-trunc"])
            .stdout
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The cgroup directories a container would have.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(format!("/sys/fs/cgroup/berth/{id}"))];
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in entries.flatten() {
            dirs.push(e.path().join("berth").join(id));
        }
    }
    dirs.into_iter().filter(|d| d.exists()).collect()
}

impl Drop for Env {
    fn drop(&mut self) {
        let ids = self.container_ids();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.berth(&args);
        }
        // The containers' namespaces are gone, and their veths with them: the test's networks
        // and its default bridge can go (never a veth: see crates/net).
        if self.root.join("berth.db").exists() {
            let _ = self.berth(&["network", "prune", "-f", "--include-default-bridge"]);
        }
        for m in self.mounts().into_iter().rev() {
            let c = std::ffi::CString::new(m).unwrap();
            // SAFETY: umount2 on a path string we own.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        for id in ids {
            for d in cgroup_dirs(&id) {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// No single berth command in a test may take longer than this: a hung command fails its test
/// instead of hanging the whole suite (and CI) until the job's time runs out.
pub const COMMAND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);

/// `Command::output` with a deadline: the child is killed and the test fails when it passes.
pub fn output_within(mut cmd: Command, deadline: std::time::Duration) -> Run {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_within(child, deadline, &what)
}

/// Waits for a spawned child (stdout/stderr piped) for at most `deadline`, then kills it and panics.
pub fn wait_within(
    mut child: std::process::Child,
    deadline: std::time::Duration,
    what: &str,
) -> Run {
    use std::io::Read;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {deadline:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    // A detached grandchild (a shim) may hold the pipes open: never wait on it for long.
    let stdout = join_within(out_reader);
    let stderr = join_within(err_reader);
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn join_within(h: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let start = std::time::Instant::now();
    while !h.is_finished() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            return Vec::new();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    h.join().unwrap_or_default()
}

pub fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// A port nobody listens on now (the kernel's pick, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Retries `attempt` until it succeeds or `within` passes; the last failure is in the panic.
pub fn eventually<T>(
    within: std::time::Duration,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(e) if start.elapsed() > within => panic!("{what}: still failing: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(250)),
        }
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
