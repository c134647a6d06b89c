//! pull/push/login/logout against Debian's docker-registry (distribution 2.8), started by each
//! test on a free 127.0.0.1 port and killed when the test ends. Skipped when it is not installed.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Env, env};

const REGISTRY: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry; with `htpasswd`, basic auth against that file.
    fn start(htpasswd: Option<&Path>) -> Registry {
        let dir = tempfile::Builder::new().prefix("berth-registry").tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(h) = htpasswd {
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n", h.display()));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let reg = Registry { child, port, _dir: dir };
        common::wait_for(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "the registry to listen");
        reg
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> Option<(Env, PathBuf)> {
    if !Path::new(REGISTRY).exists() {
        eprintln!("skipping: {REGISTRY} is not installed (apt-get install docker-registry)");
        return None;
    }
    let env = env()?;
    let docker_config = env.root.parent().unwrap().join("docker-config");
    Some((env, docker_config))
}

fn berth(env: &Env, docker_config: &Path, args: &[&str]) -> common::Run {
    env.cmd(args).env("DOCKER_CONFIG", docker_config).output().unwrap().into()
}

fn berth_stdin(env: &Env, docker_config: &Path, args: &[&str], input: &str) -> common::Run {
    use std::io::Write;
    let mut child = env
        .cmd(args)
        .env("DOCKER_CONFIG", docker_config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap().into()
}

#[test]
fn push_pull_run_and_unknown_tags() {
    let Some((env, dc)) = setup() else { return };
    let reg = Registry::start(None);
    let name = format!("{}/bb:1", reg.host());
    let id = env.image("bb", &["CMD [\"echo\", \"from the registry\"]"]);
    env.ok(&["tag", "bb", &name]);

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": Pushed"), "{}", r.stdout);
    assert!(r.stdout.contains("1: digest: sha256:") && r.stdout.contains(" size: "), "{}", r.stdout);
    // Again: the registry has every blob.
    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Layer already exists"), "{}", r.stdout);

    env.ok(&["rmi", &name, "bb"]);
    assert!(env.ok(&["images", "-q"]).trim().is_empty());

    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": Pull complete"), "{}", r.stdout);
    assert!(r.stdout.contains("Digest: sha256:"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("Status: Downloaded newer image for {name}")), "{}", r.stdout);
    // Same image id as the one pushed: the config went through unchanged.
    let inspect = env.ok(&["image", "inspect", "-f", "{{.Id}}", &name]);
    assert_eq!(inspect.trim(), id);
    assert_eq!(env.ok(&["run", "--rm", &name]), "from the registry\n");

    // Pulling again fetches nothing.
    let r = berth(&env, &dc, &["pull", &name]);
    assert!(r.stdout.contains("Already exists") && r.stdout.contains("Image is up to date"), "{}", r.stdout);

    // An unknown tag: a clear error, exit 1, no new image or name.
    // Names and ids only: the CREATED column ages while the test runs.
    let images = || env.ok(&["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    let before = images();
    let missing = format!("{}/bb:nope", reg.host());
    let r = berth(&env, &dc, &["pull", &missing]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not found") && r.stderr.contains("manifest unknown"), "{}", r.stderr);
    assert_eq!(images(), before);
    let r = berth(&env, &dc, &["pull", &format!("{}/nosuchrepo:1", reg.host())]);
    assert_eq!(r.code, 1, "{}", r.stderr);

    // `run` of an image that is not there pulls it first.
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["run", "--rm", &name, "echo", "pulled"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "pulled\n");
    assert!(r.stderr.contains(&format!("Unable to find image '{name}' locally")), "{}", r.stderr);
    // ... and `run` of a missing tag fails as Docker does (125), leaving nothing.
    let r = berth(&env, &dc, &["run", "--rm", &missing]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(env.container_ids().is_empty());

    // --all-tags pulls every tag; -q prints only the names.
    env.ok(&["tag", &name, &format!("{}/bb:2", reg.host())]);
    assert_eq!(berth(&env, &dc, &["push", &format!("{}/bb:2", reg.host())]).code, 0);
    env.ok(&["rmi", "-f", &name]);
    let r = berth(&env, &dc, &["pull", "-q", "-a", &format!("{}/bb", reg.host())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("{}/bb:1\n{}/bb:2\n", reg.host(), reg.host()));
}

#[test]
fn basic_auth_login_push_logout() {
    let Some((env, dc)) = setup() else { return };
    let Ok(out) = Command::new("htpasswd").args(["-Bbn", "alice", "s3cret"]).output() else {
        eprintln!("skipping: htpasswd (apache2-utils) is not installed");
        return;
    };
    assert!(out.status.success());
    let htpasswd = env.root.parent().unwrap().join("htpasswd");
    std::fs::write(&htpasswd, &out.stdout).unwrap();
    let reg = Registry::start(Some(&htpasswd));
    let name = format!("{}/private/bb:1", reg.host());
    env.image("bb", &[]);
    env.ok(&["tag", "bb", &name]);

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);

    let r = berth_stdin(&env, &dc, &["login", "-u", "alice", "--password-stdin", &reg.host()], "wrong\n");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert!(!dc.join("config.json").exists() || !std::fs::read_to_string(dc.join("config.json")).unwrap().contains(&reg.host()));

    let r = berth_stdin(&env, &dc, &["login", "-u", "alice", "--password-stdin", &reg.host()], "s3cret\n");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dc.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["auths"][reg.host()]["auth"], "YWxpY2U6czNjcmV0"); // base64("alice:s3cret")
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(dc.join("config.json")).unwrap().permissions().mode() & 0o777, 0o600);

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let r = berth(&env, &dc, &["logout", &reg.host()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("Removing login credentials for {}", reg.host())), "{}", r.stdout);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dc.join("config.json")).unwrap()).unwrap();
    assert!(config["auths"].get(reg.host()).is_none(), "{config}");
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
}
