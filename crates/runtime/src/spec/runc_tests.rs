//! Runs generated specs under a real OCI runtime (`runc`), as root. Skipped (passes) when not
//! root or runc/busybox are missing.

use std::path::{Path, PathBuf};

use super::*;
use crate::capabilities::{cap_number, grantable_capabilities};
use std::process::Command;

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Builds a busybox bundle, runs `script` with the spec that `tweak` adjusts, returns stdout.
fn run(name: &str, script: &str, tweak: impl FnOnce(&mut SpecInput)) -> Option<String> {
    let (Some(runc), Some(busybox)) = (which("runc"), which("busybox")) else {
        eprintln!("runc or busybox missing; skipped");
        return None;
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root; skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::copy(&busybox, rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let id = format!("berth-spec-{name}-{}", std::process::id());
    let mut input = SpecInput {
        rootfs: rootfs.clone(),
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/".into(),
        hostname: "spectest".into(),
        cgroup_path: format!("/berth-spec-test/{id}"),
        private_network: true,
        ..Default::default()
    };
    tweak(&mut input);
    let spec = build_spec(&input).unwrap();
    spec.save(bundle.join("config.json")).unwrap();
    let state = dir.path().join("runc-state");
    let out = Command::new(&runc)
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .output()
        .unwrap();
    let _ = Command::new(&runc)
        .arg("--root")
        .arg(&state)
        .args(["delete", "-f", &id])
        .output();
    // Remove the (then empty) parent cgroup in every hierarchy; fails harmlessly while a
    // concurrent test still uses it.
    if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
        for c in ctrls.flatten() {
            let _ = std::fs::remove_dir(c.path().join("berth-spec-test"));
        }
    }
    let _ = std::fs::remove_dir("/sys/fs/cgroup/berth-spec-test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(out.status.success(), "runc failed: {stderr}");
    Some(stdout)
}

#[test]
fn runc_runs_the_default_spec() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let script = "grep -E '^Cap(Eff|Bnd)' /proc/self/status; \
                  grep 'open files' /proc/self/limits; \
                  hostname; cat /etc/hosts; \
                  ls /dev | tr '\\n' ' '; echo; \
                  touch /tmp/x && echo tmp-ok; \
                  touch /etc/hosts 2>/dev/null || echo hosts-ro; \
                  touch /sys/x 2>/dev/null || echo sys-ro; \
                  grep -c . /proc/kcore 2>/dev/null; echo kcore-$?";
    let Some(stdout) = run("default", script, |i| {
        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 1000,
            hard: 2000,
        }];
        i.tmpfs = vec![("/tmp".into(), "size=1m".into())];
        i.binds = vec![BindMount {
            source: hosts.clone(),
            destination: "/etc/hosts".into(),
            readonly: true,
        }];
        i.resources = Resources {
            memory: Some(64 << 20),
            pids_limit: Some(50),
            nano_cpus: Some(500_000_000),
            ..Default::default()
        };
    }) else {
        return;
    };
    // Docker's 14 default capabilities are the mask 0xa80425fb.
    assert!(stdout.contains("CapEff:\t00000000a80425fb"), "{stdout}");
    assert!(stdout.contains("CapBnd:\t00000000a80425fb"), "{stdout}");
    assert!(
        stdout.lines().any(|l| {
            l.starts_with("Max open files") && l.contains("1000") && l.contains("2000")
        })
    );
    assert!(stdout.contains("spectest"));
    assert!(stdout.contains("127.0.0.1 localhost"));
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue",
    ] {
        assert!(stdout.contains(d), "/dev/{d} missing: {stdout}");
    }
    assert!(stdout.contains("tmp-ok"));
    assert!(stdout.contains("hosts-ro"));
    assert!(stdout.contains("sys-ro"));
    assert!(
        !stdout.contains("kcore-0"),
        "/proc/kcore is readable: {stdout}"
    );
}

#[test]
fn runc_runs_a_privileged_spec() {
    let script = "grep -E '^CapEff' /proc/self/status; ls /dev | grep -c .; \
                  touch /sys/kernel/x 2>&1 | grep -q 'Read-only' && echo sys-ro || echo sys-rw";
    let Some(stdout) = run("privileged", script, |i| i.privileged = true) else {
        return;
    };
    let want: u64 = grantable_capabilities()
        .iter()
        .map(|c| 1u64 << cap_number(c).unwrap())
        .sum();
    assert!(
        stdout.contains(&format!("CapEff:\t{want:016x}")),
        "{stdout}"
    );
    assert!(stdout.contains("sys-rw"), "{stdout}");
}
