//! pull/push/login/logout against Debian's docker-registry (distribution 2.8), started by each
//! test on a free 127.0.0.1 port and killed when the test ends. Skipped when it is not installed.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::token_server::{self, TokenServer};
use common::{Env, required_env};

const REGISTRY: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry; with `htpasswd`, basic auth against that file.
    fn start(htpasswd: Option<&Path>) -> Registry {
        match htpasswd {
            Some(h) => Registry::start_with(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                h.display()
            )),
            None => Registry::start_with(""),
        }
    }

    /// Starts a registry that wants bearer tokens from `tokens`.
    fn start_with_tokens(tokens: &TokenServer) -> Registry {
        Registry::start_with(&format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            tokens.realm(),
            token_server::SERVICE,
            token_server::ISSUER,
            tokens.cert.display()
        ))
    }

    /// Starts a registry with `auth` (a YAML `auth:` section, or empty for none).
    fn start_with(auth: &str) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry")
            .tempdir()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        config.push_str(auth);
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
        let reg = Registry {
            child,
            port,
            _dir: dir,
        };
        common::wait_for(
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the registry to listen",
        );
        reg
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps a blob's bytes (distribution's filesystem driver layout).
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self._dir.path().join(format!(
            "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> (Env, PathBuf) {
    if !Path::new(REGISTRY).exists() {
        common::cannot_run(&format!(
            "{REGISTRY} is not installed (apt-get install docker-registry)"
        ));
        common::require(false, REGISTRY);
    }
    let env = required_env();
    let docker_config = env.root.parent().unwrap().join("docker-config");
    (env, docker_config)
}

fn berth(env: &Env, docker_config: &Path, args: &[&str]) -> common::Run {
    let mut cmd = env.cmd(args);
    cmd.env("DOCKER_CONFIG", docker_config);
    common::output_within(cmd, common::COMMAND_DEADLINE)
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
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}

#[test]
fn push_pull_run_and_unknown_tags() {
    let (env, dc) = setup();
    let reg = Registry::start(None);
    let name = format!("{}/bb:1", reg.host());
    let id = env.image("bb", &["CMD [\"echo\", \"from the registry\"]"]);
    env.ok(&["tag", "bb", &name]);

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": Pushed"), "{}", r.stdout);
    assert!(
        r.stdout.contains("1: digest: sha256:") && r.stdout.contains(" size: "),
        "{}",
        r.stdout
    );
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
    assert!(
        r.stdout
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{}",
        r.stdout
    );
    // Same image id as the one pushed: the config went through unchanged.
    let inspect = env.ok(&["image", "inspect", "-f", "{{.Id}}", &name]);
    assert_eq!(inspect.trim(), id);
    assert_eq!(
        env.ok(&["run", "--network", "none", "--rm", &name]),
        "from the registry\n"
    );

    // Pulling again fetches nothing.
    let r = berth(&env, &dc, &["pull", &name]);
    assert!(
        r.stdout.contains("Already exists") && r.stdout.contains("Image is up to date"),
        "{}",
        r.stdout
    );

    // An unknown tag: a clear error, exit 1, no new image or name.
    // Names and ids only: the CREATED column ages while the test runs.
    let images = || {
        env.ok(&[
            "images",
            "--no-trunc",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ])
    };
    let before = images();
    let missing = format!("{}/bb:nope", reg.host());
    let r = berth(&env, &dc, &["pull", &missing]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not found") && r.stderr.contains("manifest unknown"),
        "{}",
        r.stderr
    );
    assert_eq!(images(), before);
    let r = berth(
        &env,
        &dc,
        &["pull", &format!("{}/nosuchrepo:1", reg.host())],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);

    // `run` of an image that is not there pulls it first.
    env.ok(&["rmi", &name]);
    let r = berth(
        &env,
        &dc,
        &["run", "--network", "none", "--rm", &name, "echo", "pulled"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "pulled\n");
    assert!(
        r.stderr
            .contains(&format!("Unable to find image '{name}' locally")),
        "{}",
        r.stderr
    );
    // ... and `run` of a missing tag fails as Docker does (125), leaving nothing.
    let r = berth(&env, &dc, &["run", "--network", "none", "--rm", &missing]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(env.container_ids().is_empty());

    // --all-tags pulls every tag; -q prints only the names.
    env.ok(&["tag", &name, &format!("{}/bb:2", reg.host())]);
    assert_eq!(
        berth(&env, &dc, &["push", &format!("{}/bb:2", reg.host())]).code,
        0
    );
    env.ok(&["rmi", "-f", &name]);
    let r = berth(
        &env,
        &dc,
        &["pull", "-q", "-a", &format!("{}/bb", reg.host())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("{}/bb:1\n{}/bb:2\n", reg.host(), reg.host())
    );
}

#[test]
fn basic_auth_login_push_logout() {
    let (env, dc) = setup();
    let Ok(out) = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
    else {
        common::cannot_run("htpasswd (apache2-utils) is not installed");
        panic!("this test cannot run here: the reason is said above");
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

    let r = berth_stdin(
        &env,
        &dc,
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        "wrong\n",
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert!(
        !dc.join("config.json").exists()
            || !std::fs::read_to_string(dc.join("config.json"))
                .unwrap()
                .contains(&reg.host())
    );

    let r = berth_stdin(
        &env,
        &dc,
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        "s3cret\n",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dc.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["auths"][reg.host()]["auth"], "YWxpY2U6czNjcmV0"); // base64("alice:s3cret")
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dc.join("config.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let r = berth(&env, &dc, &["logout", &reg.host()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("Removing login credentials for {}", reg.host())),
        "{}",
        r.stdout
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dc.join("config.json")).unwrap()).unwrap();
    assert!(config["auths"].get(reg.host()).is_none(), "{config}");
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Deterministic incompressible bytes (xorshift), so layers are big on the wire too.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One layer for [`load_layers`]: a tar holding `/<file>` with `len` bytes of noise from `seed`.
struct Layer {
    file: &'static str,
    seed: u64,
    len: usize,
    gzip: bool,
}

/// Makes a multi-layer image with `berth load` (a legacy docker-archive whose layers are given,
/// some gzip'd), with one history entry per layer plus an empty-layer CMD step. Returns the
/// layers' uncompressed tar sizes.
fn load_layers(env: &Env, name: &str, layers: &[Layer]) -> Vec<u64> {
    let dir = env
        .root
        .parent()
        .unwrap()
        .join(format!("archive-{}", name.replace([':', '/'], "_")));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut diff_ids, mut history, mut entries, mut sizes) = (vec![], vec![], vec![], vec![]);
    for (i, layer) in layers.iter().enumerate() {
        let content = dir.join(format!("content{i}"));
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join(layer.file), noise(layer.seed, layer.len)).unwrap();
        let tar = dir.join(format!("l{i}/layer.tar"));
        std::fs::create_dir_all(tar.parent().unwrap()).unwrap();
        // Fixed metadata: the same file gives the same layer digest in every image.
        sh(&format!(
            "tar -C '{}' --mtime=@0 --owner=0 --group=0 --numeric-owner -cf '{}' {}",
            content.display(),
            tar.display(),
            layer.file
        ));
        sizes.push(std::fs::metadata(&tar).unwrap().len());
        diff_ids.push(format!(
            "\"sha256:{}\"",
            sh(&format!("sha256sum '{}'", tar.display()))
                .split_whitespace()
                .next()
                .unwrap()
        ));
        if layer.gzip {
            sh(&format!(
                "gzip -n -1 '{0}' && mv '{0}.gz' '{0}'",
                tar.display()
            ));
        }
        history.push(format!(r#"{{"created":"2026-01-0{}T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:{} in / "}}"#, i + 1, layer.file));
        entries.push(format!("\"l{i}/layer.tar\""));
    }
    history.push(r#"{"created":"2026-02-01T00:00:00Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}"#.into());
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}},"history":[{}]}}"#,
        diff_ids.join(","),
        history.join(",")
    );
    std::fs::write(dir.join("config.json"), config).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        format!(
            r#"[{{"Config":"config.json","RepoTags":["{name}"],"Layers":[{}]}}]"#,
            entries.join(",")
        ),
    )
    .unwrap();
    let archive = dir.with_extension("tar");
    sh(&format!(
        "cd '{}' && tar -cf '{}' manifest.json config.json l*",
        dir.display(),
        archive.display()
    ));
    env.ok(&["load", "-i", archive.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&archive).unwrap();
    sizes
}

fn layer_ids(env: &Env, name: &str) -> Vec<String> {
    let out = env.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", name]);
    serde_json::from_str(&out).unwrap()
}

/// The lines of `out` about one layer (`<12 hex>: <status>`), statuses only.
fn statuses(out: &str, short: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{short}: ")))
        .map(str::to_string)
        .collect()
}

fn base_layer() -> Layer {
    Layer {
        file: "base.bin",
        seed: 1,
        len: 300_000,
        gzip: false,
    }
}

#[test]
fn parallel_pull_push_mounts_history_and_df() {
    let (env, dc) = setup();
    let reg = Registry::start(None);
    let sizes = load_layers(
        &env,
        "multi:1",
        &[
            base_layer(),
            Layer {
                file: "one.bin",
                seed: 2,
                len: 1_500_000,
                gzip: true,
            },
            Layer {
                file: "two.bin",
                seed: 3,
                len: 1_200_000,
                gzip: false,
            },
            Layer {
                file: "three.bin",
                seed: 4,
                len: 900_000,
                gzip: true,
            },
            Layer {
                file: "four.bin",
                seed: 5,
                len: 700_000,
                gzip: false,
            },
        ],
    );
    let sibling_sizes = load_layers(
        &env,
        "sibling:1",
        &[
            base_layer(),
            Layer {
                file: "own.bin",
                seed: 6,
                len: 400_000,
                gzip: true,
            },
        ],
    );
    let history_before = env.ok(&[
        "history",
        "-H=false",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        "multi:1",
    ]);
    let multi = format!("{}/team/multi:1", reg.host());
    let sibling = format!("{}/other/sibling:1", reg.host());
    env.ok(&["tag", "multi:1", &multi]);
    env.ok(&["tag", "sibling:1", &sibling]);

    let r = berth(&env, &dc, &["push", &multi]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.matches(": Preparing\n").count(), 5, "{}", r.stdout);
    assert_eq!(r.stdout.matches(": Pushed\n").count(), 5, "{}", r.stdout);
    assert!(
        !r.stdout.contains("Pushing"),
        "no byte counts off a terminal: {}",
        r.stdout
    );
    // The sibling's base layer is in the registry under team/multi: mounted, not uploaded.
    let r = berth(&env, &dc, &["push", &sibling]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.matches(": Mounted from team/multi\n").count(),
        1,
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches(": Pushed\n").count(), 1, "{}", r.stdout);
    let r = berth(&env, &dc, &["push", &sibling]);
    assert_eq!(
        r.stdout.matches(": Layer already exists\n").count(),
        2,
        "{}",
        r.stdout
    );

    // A fresh store pulls all five layers, three at a time: the rest wait their turn.
    let fresh = common::required_env();
    let r = berth(&fresh, &dc, &["pull", &multi]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let layers = layer_ids(&env, "multi:1");
    let blobs: Vec<String> = {
        let manifest = fresh.ok(&["image", "inspect", "-f", "{{.Id}}", &multi]);
        assert!(manifest.starts_with("sha256:"));
        // The layer blob digests, from the registry's point of view: pushed as stored.
        let out = sh(&format!(
            "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://{}/v2/team/multi/manifests/1",
            reg.host()
        ));
        let m: serde_json::Value = serde_json::from_str(&out).unwrap();
        // Loaded as plain tars, the layers went up gzip'd (and so came down gzip'd).
        for l in m["layers"].as_array().unwrap() {
            assert_eq!(
                l["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip",
                "{out}"
            );
        }
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(blobs.len(), 5);
    let waiting = blobs
        .iter()
        .filter(|b| statuses(&r.stdout, &b[7..19]).contains(&"Waiting".to_string()))
        .count();
    assert_eq!(waiting, 2, "{}", r.stdout);
    for b in &blobs {
        let s = statuses(&r.stdout, &b[7..19]);
        let s: Vec<&str> = s
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "Waiting")
            .collect();
        assert_eq!(
            s,
            [
                "Pulling fs layer",
                "Verifying Checksum",
                "Download complete",
                "Pull complete"
            ],
            "{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("Downloading"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("Status: Downloaded newer image for {multi}")),
        "{}",
        r.stdout
    );
    assert_eq!(layer_ids(&fresh, &multi), layers);
    // History survives the round trip, with uncompressed sizes for the gzip'd layers too.
    let history_after = fresh.ok(&[
        "history",
        "-H=false",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        &multi,
    ]);
    assert_eq!(history_after, history_before);
    let shown: Vec<u64> = history_after
        .lines()
        .filter_map(|l| l.rsplit('|').next()?.parse().ok())
        .filter(|s| *s > 0)
        .collect();
    let mut expected = sizes.clone();
    expected.reverse();
    assert_eq!(shown, expected);
    assert!(
        fresh
            .ok(&["history", &multi])
            .lines()
            .nth(1)
            .unwrap()
            .contains("0B"),
        "the CMD step is an empty layer"
    );

    // The sibling shares the base layer: it already exists.
    let r = berth(&fresh, &dc, &["pull", &sibling]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        statuses(&r.stdout, &blobs[0][7..19]),
        ["Already exists"],
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout.matches(": Pull complete\n").count(),
        1,
        "{}",
        r.stdout
    );

    // system df: each layer counted once, uncompressed.
    let total: u64 = sizes.iter().sum::<u64>() + sibling_sizes[1];
    let df = fresh.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Size}}",
    ]);
    let expected = format!("Images 2 {}", human(total));
    assert_eq!(df.lines().next().unwrap(), expected, "{df}");
    // Removing the sibling frees only its own layer; then the rest.
    fresh.ok(&["rmi", &sibling]);
    let out = fresh.ok(&["image", "prune", "-af"]);
    assert!(
        out.ends_with(&format!(
            "Total reclaimed space: {}\n",
            human(total - sibling_sizes[1])
        )),
        "{out}"
    );
}

/// docker's go-units HumanSize for the sizes these tests use (kB/MB, 3 significant digits).
fn human(bytes: u64) -> String {
    let (v, unit) = if bytes >= 1_000_000 {
        (bytes as f64 / 1e6, "MB")
    } else {
        (bytes as f64 / 1e3, "kB")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{v:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{unit}")
}

#[test]
fn corrupt_or_truncated_blobs_change_nothing() {
    let (env, dc) = setup();
    let reg = Registry::start(None);
    load_layers(
        &env,
        "img:1",
        &[
            base_layer(),
            Layer {
                file: "a.bin",
                seed: 7,
                len: 800_000,
                gzip: true,
            },
            Layer {
                file: "b.bin",
                seed: 8,
                len: 600_000,
                gzip: false,
            },
        ],
    );
    let name = format!("{}/img:1", reg.host());
    env.ok(&["tag", "img:1", &name]);
    assert_eq!(berth(&env, &dc, &["push", &name]).code, 0);
    let out = sh(&format!(
        "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://{}/v2/img/manifests/1",
        reg.host()
    ));
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    let digests: Vec<String> = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();

    let fresh = common::required_env();
    fresh.image("other", &[]);
    let store_files = |e: &Env| {
        sh(&format!(
            "cd '{}' && find image/blobs/sha256 image/layers image/tmp image/images -maxdepth 1 | sort",
            e.root.display()
        ))
    };
    let before = (
        fresh.ok(&["images", "-q", "--no-trunc"]),
        store_files(&fresh),
    );

    // Same length, different bytes: the digest check fails.
    let victim = reg.blob_file(&digests[1]);
    let good = std::fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&victim, &bad).unwrap();
    let r = berth(&fresh, &dc, &["pull", &name]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("downloading {}", digests[1])),
        "{}",
        r.stderr
    );
    assert_eq!(
        (
            fresh.ok(&["images", "-q", "--no-trunc"]),
            store_files(&fresh)
        ),
        before,
        "{}",
        r.stdout
    );
    std::fs::write(&victim, &good).unwrap();

    // Cut short: the stream ends early, the digest (or the tar) check fails.
    let victim = reg.blob_file(&digests[2]);
    let good = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &good[..good.len() / 3]).unwrap();
    let r = berth(&fresh, &dc, &["pull", &name]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("downloading {}", digests[2])),
        "{}",
        r.stderr
    );
    assert_eq!(
        (
            fresh.ok(&["images", "-q", "--no-trunc"]),
            store_files(&fresh)
        ),
        before
    );
    std::fs::write(&victim, &good).unwrap();

    // Repaired: the pull goes through.
    let r = berth(&fresh, &dc, &["pull", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(layer_ids(&fresh, &name), layer_ids(&env, "img:1"));
}

#[test]
fn token_auth_login_push_pull() {
    let (env, dc) = setup();
    let tokens = TokenServer::start(env.root.parent().unwrap(), "bob", "t0ken-pass");
    let reg = Registry::start_with_tokens(&tokens);
    let name = format!("{}/bob/bb:1", reg.host());
    env.image("bb", &["CMD [\"echo\", \"behind a token\"]"]);
    env.ok(&["tag", "bb", &name]);

    // Anonymous: the token server hands out a token that grants nothing.
    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);

    let r = berth_stdin(
        &env,
        &dc,
        &["login", "-u", "bob", "--password-stdin", &reg.host()],
        "wrong\n",
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("unauthorized: incorrect username or password"),
        "{}",
        r.stderr
    );
    let stored = std::fs::read_to_string(dc.join("config.json")).unwrap_or_default();
    assert!(!stored.contains(&reg.host()), "{stored}");

    let r = berth_stdin(
        &env,
        &dc,
        &["login", "-u", "bob", "--password-stdin", &reg.host()],
        "t0ken-pass\n",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);

    let r = berth(&env, &dc, &["push", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": Pushed"), "{}", r.stdout);
    env.ok(&["rmi", &name, "bb"]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": Pull complete"), "{}", r.stdout);
    assert_eq!(
        env.ok(&["run", "--network", "none", "--rm", &name]),
        "behind a token\n"
    );
    assert!(tokens.requests.load(std::sync::atomic::Ordering::Relaxed) >= 3);

    // Logged out: pulling is refused again, with a clear error and nothing stored.
    assert_eq!(berth(&env, &dc, &["logout", &reg.host()]).code, 0);
    env.ok(&["rmi", &name]);
    let r = berth(&env, &dc, &["pull", &name]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert!(env.ok(&["images", "-q"]).is_empty());
}

#[test]
fn docker_login_push_pull_through_berth_serve() {
    let (env, server_config) = setup();
    let docker = Path::new("/usr/local/bin/docker");
    if !docker.is_file() {
        common::cannot_run("the docker CLI is not installed");
        common::require(false, "the docker CLI");
    }
    let Ok(out) = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
    else {
        common::cannot_run("htpasswd (apache2-utils) is not installed");
        panic!("this test cannot run here: the reason is said above");
    };
    let htpasswd = env.root.parent().unwrap().join("htpasswd");
    std::fs::write(&htpasswd, &out.stdout).unwrap();
    let reg = Registry::start(Some(&htpasswd));
    env.image("bb", &[]);
    let name = format!("{}/private/bb:1", reg.host());
    env.ok(&["tag", "bb", &name]);
    // The server has no stored credentials: whatever works came in the client's header.
    let (mut cmd, socket) = env.serve_command();
    cmd.env("DOCKER_CONFIG", &server_config);
    let serve = common::serve::Serve::start(cmd, socket);
    let client_config = env.root.parent().unwrap().join("client-config");
    let docker_cmd = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(docker)
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", serve.socket.display()))
            .env("DOCKER_CONFIG", &client_config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        common::wait_within(child, common::COMMAND_DEADLINE, &format!("docker {args:?}"))
    };
    let r = docker_cmd(&["push", &name], "");
    assert_ne!(r.code, 0, "pushed without credentials: {}", r.stdout);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("unauthorized"),
        "{}{}",
        r.stdout,
        r.stderr
    );

    let r = docker_cmd(
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        "wrong\n",
    );
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    let r = docker_cmd(
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        "s3cret\n",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);
    assert!(
        !server_config.join("config.json").exists(),
        "the server stored the client's credentials"
    );

    let r = docker_cmd(&["push", &name], "");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("digest: sha256:"), "{}", r.stdout);
    env.ok(&["rmi", &name]);
    let r = docker_cmd(&["pull", &name], "");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .contains(&name)
    );
}
