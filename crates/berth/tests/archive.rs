//! `berth save` / `berth load`: docker-archive and OCI layout archives, as root.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{env, required_env};

fn sh(cmd: &str) -> String {
    let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sha256_file(p: &Path) -> String {
    sh(&format!("sha256sum '{}'", p.display()))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn tmp(env: &common::Env, name: &str) -> PathBuf {
    env.root.parent().unwrap().join(name)
}

#[test]
fn save_then_load_into_a_fresh_store_runs() {
    let a = required_env();
    let b = required_env();
    let id = a.image("app:1", &["CMD [\"echo\", \"from the archive\"]"]);
    a.ok(&["tag", "app:1", "app:2"]);
    let file = tmp(&a, "app.tar");
    a.ok(&["save", "-o", file.to_str().unwrap(), "app:1", "app:2"]);

    // Both the OCI layout and docker's manifest.json are there.
    let list = sh(&format!("tar -tf '{}'", file.display()));
    for f in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(list.lines().any(|l| l == f), "{f} missing from {list}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&sh(&format!("tar -xOf '{}' manifest.json", file.display()))).unwrap();
    let hex = id.strip_prefix("sha256:").unwrap();
    assert_eq!(manifest[0]["Config"], format!("blobs/sha256/{hex}"));
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!(["app:1", "app:2"])
    );
    let index: serde_json::Value =
        serde_json::from_str(&sh(&format!("tar -xOf '{}' index.json", file.display()))).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/app:1"
    );
    assert_eq!(
        index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"],
        "2"
    );

    let out = b.ok(&["load", "-i", file.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: app:1\nLoaded image: app:2\n");
    let images = b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert!(images.contains("app:1 "), "{images}");
    assert!(images.contains("app:2 "), "{images}");
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]).trim(), id);
    assert_eq!(b.ok(&["run", "--rm", "app:2"]), "from the archive\n");

    // Through stdin/stdout too; loading again is harmless.
    let saved = a
        .cmd(&["save", "app:1"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(saved.status.success());
    let r = b.with_stdin(&["load", "-q"], &saved.stdout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "Loaded image: app:1\n");

    // Saved by id: no name, and docker's "Loaded image ID" line.
    let c = env().unwrap();
    let byid = tmp(&a, "byid.tar");
    a.ok(&["image", "save", "-o", byid.to_str().unwrap(), &hex[..12]]);
    assert_eq!(
        c.ok(&["image", "load", "-i", byid.to_str().unwrap()]),
        format!("Loaded image ID: {id}\n")
    );
}

#[test]
fn loads_a_plain_oci_layout() {
    let a = required_env();
    let b = required_env();
    a.image("oci:1", &["CMD [\"echo\", \"oci\"]"]);
    let file = tmp(&a, "oci.tar");
    a.ok(&[
        "save",
        "--format",
        "oci",
        "-o",
        file.to_str().unwrap(),
        "oci:1",
    ]);
    // Without docker's files it is a plain OCI layout (as skopeo writes one); "./" prefixes too.
    let dir = tmp(&a, "oci");
    std::fs::create_dir(&dir).unwrap();
    sh(&format!(
        "tar -C '{0}' -xf '{1}' && rm '{0}/manifest.json' '{0}/repositories'",
        dir.display(),
        file.display()
    ));
    let plain = tmp(&a, "plain.tar");
    sh(&format!(
        "tar -C '{}' -cf '{}' .",
        dir.display(),
        plain.display()
    ));
    assert_eq!(
        b.ok(&["load", "-i", plain.to_str().unwrap()]),
        "Loaded image: oci:1\n"
    );
    assert_eq!(b.ok(&["run", "--rm", "oci:1"]), "oci\n");
}

#[test]
fn loads_the_legacy_docker_archive_layout() {
    let a = required_env();
    let b = required_env();
    a.image("src", &[]);
    let file = tmp(&a, "src.tar");
    a.ok(&["save", "-o", file.to_str().unwrap(), "src"]);
    let src = tmp(&a, "src");
    std::fs::create_dir(&src).unwrap();
    sh(&format!(
        "tar -C '{}' -xf '{}'",
        src.display(),
        file.display()
    ));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("manifest.json")).unwrap()).unwrap();
    let layer = src.join(manifest[0]["Layers"][0].as_str().unwrap());

    // Docker < 25: "<hex>.json" configs and "<dir>/layer.tar", here gzip'd, with a second
    // image whose layer is a symlink to the first one's.
    let dir = tmp(&a, "legacy");
    std::fs::create_dir_all(dir.join("l1")).unwrap();
    std::fs::create_dir_all(dir.join("l2")).unwrap();
    std::fs::copy(&layer, dir.join("l1/layer.tar")).unwrap();
    let diff_id = sha256_file(&dir.join("l1/layer.tar"));
    sh(&format!(
        "gzip -n '{0}/l1/layer.tar' && mv '{0}/l1/layer.tar.gz' '{0}/l1/layer.tar'",
        dir.display()
    ));
    std::os::unix::fs::symlink("../l1/layer.tar", dir.join("l2/layer.tar")).unwrap();
    let config = |cmd: &str| {
        format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["echo","{cmd}"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff_id}"]}}}}"#
        )
    };
    std::fs::write(dir.join("c.json"), config("legacy")).unwrap();
    let c1 = sha256_file(&dir.join("c.json"));
    std::fs::rename(dir.join("c.json"), dir.join(format!("{c1}.json"))).unwrap();
    std::fs::write(dir.join("c.json"), config("untagged")).unwrap();
    let c2 = sha256_file(&dir.join("c.json"));
    std::fs::rename(dir.join("c.json"), dir.join(format!("{c2}.json"))).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        format!(
            r#"[{{"Config":"{c1}.json","RepoTags":["docker.io/library/legacy:v1","me/legacy:v1"],"Layers":["l1/layer.tar"]}},
                {{"Config":"{c2}.json","RepoTags":null,"Layers":["l2/layer.tar"]}}]"#
        ),
    )
    .unwrap();
    let tar = tmp(&a, "legacy.tar");
    sh(&format!(
        "tar -C '{}' -cf '{}' manifest.json {c1}.json {c2}.json l1 l2",
        dir.display(),
        tar.display()
    ));

    let out = b.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(
        out,
        format!(
            "Loaded image: legacy:v1\nLoaded image: me/legacy:v1\nLoaded image ID: sha256:{c2}\n"
        )
    );
    assert_eq!(b.ok(&["run", "--rm", "legacy:v1"]), "legacy\n");
    assert_eq!(b.ok(&["run", "--rm", &c2[..12]]), "untagged\n");
}

#[test]
fn corrupt_truncated_or_bogus_archives_change_nothing() {
    let a = required_env();
    let b = required_env();
    let id = a.image("good", &[]);
    let file = tmp(&a, "good.tar");
    a.ok(&["save", "-o", file.to_str().unwrap(), "good"]);
    b.image("other", &[]);
    let before_ids = b.ok(&["images", "-q", "--no-trunc"]);
    let before = b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    let blobs_before = std::fs::read_dir(b.root.join("image/blobs/sha256"))
        .unwrap()
        .count();

    // Flip one byte in the layer blob.
    let dir = tmp(&a, "x");
    std::fs::create_dir(&dir).unwrap();
    sh(&format!(
        "tar -C '{}' -xf '{}'",
        dir.display(),
        file.display()
    ));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let layer_name = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let layer = dir.join(&layer_name);
    let mut data = std::fs::read(&layer).unwrap();
    data[1000] ^= 0x20;
    std::fs::write(&layer, &data).unwrap();
    let bad = tmp(&a, "bad.tar");
    sh(&format!(
        "tar -C '{}' -cf '{}' .",
        dir.display(),
        bad.display()
    ));
    let r = b.berth(&["load", "-i", bad.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    let digest = layer_name.strip_prefix("blobs/sha256/").unwrap();
    assert!(
        r.stderr.contains(digest) && r.stderr.contains("corrupt"),
        "{}",
        r.stderr
    );

    // Truncated in the middle of a blob.
    let whole = std::fs::read(&file).unwrap();
    let r = b.with_stdin(&["load"], &whole[..whole.len() / 2]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalid image archive"), "{}", r.stderr);

    // Not a tar at all; an empty input.
    let r = b.with_stdin(
        &["load"],
        b"this is not an image archive, not even a tar file",
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    let r = b.with_stdin(&["load"], b"");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);

    // A config that does not match its layers (diff_ids) is refused too.
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    std::fs::write(&layer, std::fs::read(dir.join(&config_name)).unwrap()).unwrap();
    let hex = sha256_file(&layer);
    std::fs::rename(&layer, dir.join(format!("blobs/sha256/{hex}"))).unwrap();
    std::fs::write(dir.join("manifest.json"), format!(r#"[{{"Config":"{config_name}","RepoTags":["good:latest"],"Layers":["blobs/sha256/{hex}"]}}]"#)).unwrap();
    sh(&format!(
        "rm '{0}/index.json' && tar -C '{0}' -cf '{1}' .",
        dir.display(),
        bad.display()
    ));
    let r = b.berth(&["load", "-i", bad.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("diff_ids"), "{}", r.stderr);

    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]), before_ids);
    assert_eq!(
        b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
        before
    );
    assert!(!before_ids.contains(&id));
    assert_eq!(
        std::fs::read_dir(b.root.join("image/blobs/sha256"))
            .unwrap()
            .count(),
        blobs_before
    );
    assert_eq!(
        std::fs::read_dir(b.root.join("image/tmp")).unwrap().count(),
        0,
        "spool left behind"
    );
}

#[test]
fn save_refuses_a_terminal_and_unknown_images() {
    let env = required_env();
    env.image("bb", &[]);
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty with valid out-pointers.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0);
    // SAFETY: openpty returned two fresh fds we now own.
    let (master, slave) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::os::fd::OwnedFd::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    };
    let out = env
        .cmd(&["save", "bb"])
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    drop(master);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cowardly refusing to save to a terminal")
    );

    let file = tmp(&env, "x.tar");
    let r = env.berth(&["save", "-o", file.to_str().unwrap(), "bb", "nosuchimage"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nosuchimage"), "{}", r.stderr);
    assert!(!file.exists(), "a failed save left {}", file.display());
    assert!(std::fs::read_dir(file.parent().unwrap()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("berth-tmp")
    }));
}

/// A private dockerd (Debian's docker.io), stopped on drop.
struct Dockerd {
    child: std::process::Child,
    sock: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        if !common::have(
            "dockerd",
            "docker.io: the round trip against a real dockerd",
        ) {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("berth-dockerd")
            .tempdir()
            .unwrap();
        let sock = dir.path().join("docker.sock");
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(["--iptables=false", "--bridge=none", "--storage-driver=vfs"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Dockerd {
            child,
            sock,
            _dir: dir,
        };
        common::wait_for(|| d.docker(&["version"]).status.success(), "dockerd");
        Some(d)
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[test]
fn docker_loads_what_berth_saves_and_back() {
    let a = required_env();
    let b = required_env();
    let Some(docker) = Dockerd::start() else {
        panic!("this test cannot run here: the reason is said above");
    };
    let id = a.image("round/trip:1", &["CMD [\"echo\", \"round trip\"]"]);
    let file = tmp(&a, "rt.tar");
    a.ok(&["save", "-o", file.to_str().unwrap(), "round/trip:1"]);
    let out = docker.docker(&["load", "-i", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Loaded image: round/trip:1"));
    let inspect = docker.docker(&["image", "inspect", "-f", "{{.Id}}", "round/trip:1"]);
    assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), id);

    let back = tmp(&a, "back.tar");
    let out = docker.docker(&["save", "-o", back.to_str().unwrap(), "round/trip:1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        b.ok(&["load", "-i", back.to_str().unwrap()]),
        "Loaded image: round/trip:1\n"
    );
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]).trim(), id);
    assert_eq!(b.ok(&["run", "--rm", "round/trip:1"]), "round trip\n");
}

#[test]
fn skopeo_reads_the_oci_archive_and_berth_reads_skopeos() {
    let a = required_env();
    let b = required_env();
    if Command::new("skopeo").arg("--version").output().is_err() {
        common::cannot_run("skopeo not installed");
        panic!("this test cannot run here: the reason is said above");
    }
    let id = a.image("sk:1", &["CMD [\"echo\", \"via skopeo\"]"]);
    let file = tmp(&a, "sk.tar");
    a.ok(&[
        "save",
        "--format",
        "oci",
        "-o",
        file.to_str().unwrap(),
        "sk:1",
    ]);
    let out = tmp(&a, "from-skopeo.tar");
    sh(&format!(
        "skopeo copy oci-archive:'{}' docker-archive:'{}':copied/by:skopeo",
        file.display(),
        out.display()
    ));
    assert_eq!(
        b.ok(&["load", "-i", out.to_str().unwrap()]),
        "Loaded image: copied/by:skopeo\n"
    );
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]).trim(), id);
    assert_eq!(b.ok(&["run", "--rm", "copied/by:skopeo"]), "via skopeo\n");
}
