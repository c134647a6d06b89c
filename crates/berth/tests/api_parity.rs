//! Docker parity of the API surface and the registry-facing commands (issue 12, "a Rust client
//! first", registries, info/version): each test drives `berth serve` as a client would (raw
//! HTTP, the docker CLI, bollard) or the `berth` CLI, against a local docker-registry where a
//! registry is needed.

mod common;

use common::http::request;
use std::path::Path;
use std::process::{Command, Stdio};

use common::local_registry::LocalRegistry;
use common::serve::Serve;
use common::{COMMAND_DEADLINE, Env, Run, output_within};

const DOCKER: &str = "/usr/local/bin/docker";

fn get(socket: &Path, path: &str) -> (u16, String) {
    let (status, _, body) = request(socket, "GET", path, &[], b"");
    (status, body)
}

fn serve(env: &Env) -> Serve {
    let (cmd, socket) = env.serve_command();
    Serve::start(cmd, socket)
}

fn have_docker() -> bool {
    if Path::new(DOCKER).is_file() {
        return true;
    }
    common::cannot_run(&format!("{DOCKER} is not installed"));
    false
}

fn docker(server: &Serve, env: &Env, args: &[&str]) -> Run {
    let config = env.root.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let mut c = Command::new(DOCKER);
    c.args(args)
        .env("DOCKER_HOST", format!("unix://{}", server.socket.display()))
        .env("DOCKER_CONFIG", &config)
        .stdin(Stdio::null());
    output_within(c, COMMAND_DEADLINE)
}

/// Removes the test's containers even when it fails.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

fn registry(env: &Env) -> Option<LocalRegistry> {
    LocalRegistry::start(&env.root.parent().unwrap().join("registry"))
}

/// Tags the local image `local` as `name` and pushes it; returns the pushed digest.
fn push(env: &Env, local: &str, name: &str) -> String {
    env.ok(&["tag", local, name]);
    let out = env.ok(&["push", name]);
    let digest = out
        .split("digest: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in the push's output: {out}"));
    digest.to_string()
}

#[test]
fn registry_auth_with_null_fields_reads_as_empty_on_pull_and_push() {
    let env = common::required_env();
    let Some(registry) = registry(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let name = format!("127.0.0.1:{}/nulls/bb", registry.port);
    push(&env, "bb", &format!("{name}:1"));
    env.ok(&["rmi", &format!("{name}:1")]);
    let server = serve(&env);
    // What bollard 0.21 sends, base64url: every field, null when unset
    // ({"username":null,"password":null,"auth":null,"email":null,"serveraddress":null,...}).
    let auth = "eyJ1c2VybmFtZSI6bnVsbCwicGFzc3dvcmQiOm51bGwsImF1dGgiOm51bGwsImVtYWlsIjpudWxsLCJzZXJ2ZXJhZGRyZXNzIjpudWxsLCJpZGVudGl0eXRva2VuIjpudWxsLCJyZWdpc3RyeXRva2VuIjpudWxsfQ==";
    let headers = [("X-Registry-Auth", auth)];
    let (status, _, body) = request(
        &server.socket,
        "POST",
        &format!("/images/create?fromImage={name}&tag=1"),
        &headers,
        b"",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Downloaded newer image"), "{body}");
    env.ok(&["tag", "bb", &format!("{name}:2")]);
    let (status, _, body) = request(
        &server.socket,
        "POST",
        &format!("/images/{name}/push?tag=2"),
        &headers,
        b"",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("2: digest: sha256:"), "{body}");

    // bollard itself, with credentials whose fields are unset.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let socket = server.socket.display().to_string();
    let pulled: Result<Vec<_>, _> = rt.block_on(async {
        use futures_util::StreamExt;
        let docker =
            bollard::Docker::connect_with_unix(&socket, 60, bollard::API_DEFAULT_VERSION).unwrap();
        let options = bollard::query_parameters::CreateImageOptionsBuilder::new()
            .from_image(&name)
            .tag("2")
            .build();
        let credentials = bollard::auth::DockerCredentials::default();
        docker
            .create_image(Some(options), None, Some(credentials))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    });
    let pulled = pulled.expect("bollard's pull with unset credential fields");
    assert!(
        pulled
            .iter()
            .any(|p| p.status.as_deref().is_some_and(|s| s.contains("Status:"))),
        "{pulled:?}"
    );
}

#[test]
fn archive_upload_accepts_gzip_bzip2_and_xz_tars() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let id = env.ok(&["create", "--network", "none", "--name", "up", "bb", "true"]);
    let id = id.trim();
    let server = serve(&env);
    let dir = env.root.parent().unwrap().join("upload");
    for (flag, kind) in [("-z", "gzip"), ("-j", "bzip2"), ("-J", "xz")] {
        let content = dir.join(kind);
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join(format!("from-{kind}.txt")), kind).unwrap();
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&content)
            .arg(flag)
            .args(["-cf", "-", "."])
            .output()
            .unwrap();
        assert!(tar.status.success(), "tar {flag}");
        let (status, _, body) = request(
            &server.socket,
            "PUT",
            &format!("/containers/{id}/archive?path=/tmp"),
            &[("Content-Type", "application/x-tar")],
            &tar.stdout,
        );
        assert_eq!(status, 200, "{kind}: {body}");
        let out = dir.join(format!("out-{kind}.txt"));
        env.ok(&[
            "cp",
            &format!("up:/tmp/from-{kind}.txt"),
            out.to_str().unwrap(),
        ]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), kind);
    }
}

#[test]
fn changes_of_an_untouched_container_answer_null() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let id = env.ok(&["create", "--network", "none", "bb", "true"]);
    let server = serve(&env);
    let (status, body) = get(
        &server.socket,
        &format!("/v1.41/containers/{}/changes", id.trim()),
    );
    assert_eq!((status, body.trim()), (200, "null"));
}

#[test]
fn api_versions_outside_the_served_range_are_refused_as_dockerd() {
    let env = common::required_env();
    let server = serve(&env);
    let (status, body) = get(&server.socket, "/v1.12/version");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"),
        "{body}"
    );
    let (status, body) = get(&server.socket, "/v1.99/containers/json");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("client version 1.99 is too new. Maximum supported API version is 1.41"),
        "{body}"
    );
    let (status, body) = get(&server.socket, "/v1.24/containers/json");
    assert_eq!((status, body.trim()), (200, "[]"));
    let (status, body) = get(&server.socket, "/version");
    assert_eq!(status, 200);
    let version: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(version["ApiVersion"], "1.41");
    assert_eq!(version["MinAPIVersion"], "1.24");
    if have_docker() {
        let r = docker(
            &server,
            &env,
            &["version", "--format", "{{.Server.APIVersion}}"],
        );
        assert_eq!((r.code, r.stdout.trim()), (0, "1.41"), "{}", r.stderr);
    }
}

#[test]
fn swarm_endpoints_answer_503_as_dockerd_outside_a_swarm() {
    let env = common::required_env();
    let server = serve(&env);
    let message = "This node is not a swarm manager. Use \\\"docker swarm init\\\" or \\\"docker swarm join\\\" to connect this node to swarm and try again.";
    for path in ["/v1.41/swarm", "/nodes", "/v1.41/services", "/tasks"] {
        let (status, body) = get(&server.socket, path);
        assert_eq!(status, 503, "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    }
    let (status, _, body) = request(&server.socket, "POST", "/swarm/leave", &[], b"");
    assert_eq!(status, 503);
    assert!(body.contains("This node is not part of a swarm"), "{body}");
    if have_docker() {
        let r = docker(&server, &env, &["node", "ls"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains("This node is not a swarm manager. Use \"docker swarm init\""),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn pull_failures_before_any_layer_are_http_errors_and_load_of_junk_is_dockers() {
    let env = common::required_env();
    let Some(registry) = registry(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    let server = serve(&env);
    let (status, _, body) = request(
        &server.socket,
        "POST",
        &format!(
            "/images/create?fromImage=127.0.0.1:{}/no/such&tag=latest",
            registry.port
        ),
        &[],
        b"",
    );
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains(&format!("127.0.0.1:{}/no/such", registry.port))
            && body.contains("not found"),
        "{body}"
    );
    // Nothing listens on port 1: unreachable, a 500.
    let (status, _, body) = request(
        &server.socket,
        "POST",
        "/images/create?fromImage=127.0.0.1:1/x&tag=latest",
        &[],
        b"",
    );
    assert_eq!(status, 500, "{body}");
    assert!(!body.contains("Pulling from"), "{body}");

    let (status, _, body) = request(
        &server.socket,
        "POST",
        "/images/load?quiet=1",
        &[("Content-Type", "application/x-tar")],
        b"this is not a tar archive at all",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"errorDetail\""), "{body}");
    if have_docker() {
        let junk = env.root.parent().unwrap().join("junk.tar");
        std::fs::write(&junk, b"junk").unwrap();
        let r = docker(&server, &env, &["load", "-i", junk.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    }
}

#[test]
fn info_counts_every_image_record() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let context = env.root.parent().unwrap().join("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM bb\nRUN echo a > /a\nRUN echo b > /b\nENV X=1\n",
    )
    .unwrap();
    env.ok(&["build", "-q", "-t", "built", context.to_str().unwrap()]);
    let server = serve(&env);
    let (_, all) = get(&server.socket, "/images/json?all=1");
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap();
    let (_, top) = get(&server.socket, "/images/json");
    let top: Vec<serde_json::Value> = serde_json::from_str(&top).unwrap();
    assert!(all.len() > top.len(), "the build left intermediate images");
    let (_, info) = get(&server.socket, "/info");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["Images"], all.len(), "{info}");
}

#[test]
fn search_lists_a_registrys_repositories_through_the_api_and_the_cli() {
    let env = common::required_env();
    let Some(registry) = registry(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let host = format!("127.0.0.1:{}", registry.port);
    push(&env, "bb", &format!("{host}/team/busybox:1"));
    push(&env, "bb", &format!("{host}/team/busybox-extra:1"));
    push(&env, "bb", &format!("{host}/other/tool:1"));
    let out = env.ok(&["search", &format!("{host}/busybox")]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for header in ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"] {
        assert!(lines[0].contains(header), "{out}");
    }
    assert!(
        lines[1].starts_with(&format!("{host}/team/busybox ")),
        "{out}"
    );
    let out = env.ok(&[
        "search",
        "--limit",
        "1",
        "--format",
        "{{.Name}}:{{.StarCount}}",
        &format!("{host}/tool"),
    ]);
    assert_eq!(out, format!("{host}/other/tool:0\n"));
    let r = env.berth(&["search", "--filter", "bogus=1", &format!("{host}/tool")]);
    assert_ne!(r.code, 0);

    let server = serve(&env);
    let (status, body) = get(
        &server.socket,
        &format!("/images/search?term={host}/busybox-extra&limit=5"),
    );
    assert_eq!(status, 200, "{body}");
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found[0]["name"], format!("{host}/team/busybox-extra"));
    assert_eq!(found[0]["is_official"], false);
    assert_eq!(found.as_array().unwrap().len(), 1, "{body}");
    if have_docker() {
        let r = docker(
            &server,
            &env,
            &["search", "--format", "{{.Name}}", &format!("{host}/team")],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout,
            format!("{host}/team/busybox\n{host}/team/busybox-extra\n")
        );
    }
}

#[test]
fn distribution_inspect_and_manifest_inspect_answer_from_the_registry() {
    let env = common::required_env();
    let Some(registry) = registry(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let name = format!("127.0.0.1:{}/dist/bb:1", registry.port);
    let digest = push(&env, "bb", &name);
    let server = serve(&env);
    let (status, body) = get(&server.socket, &format!("/distribution/{name}/json"));
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["Descriptor"]["digest"], digest, "{body}");
    assert!(doc["Descriptor"]["size"].as_u64().unwrap() > 0, "{body}");
    assert!(
        doc["Descriptor"]["mediaType"]
            .as_str()
            .unwrap()
            .contains("manifest"),
        "{body}"
    );
    assert_eq!(doc["Platforms"][0]["os"], "linux", "{body}");
    let (status, body) = get(
        &server.socket,
        &format!("/distribution/127.0.0.1:{}/dist/none:1/json", registry.port),
    );
    assert_eq!(status, 404, "{body}");

    let out = env.ok(&["manifest", "inspect", &name]);
    // Tab-indented, keys in the registry's order, as `docker manifest inspect` prints it.
    assert!(out.starts_with("{\n\t\""), "{out}");
    assert!(out.contains("\n\t\"schemaVersion\": 2"), "{out}");
    let manifest: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1, "{out}");
}

#[test]
fn daemon_json_mirrors_serve_docker_io_pulls_and_show_in_info() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    let Some(registry) = registry(&env) else {
        panic!("this test cannot run here: the reason is said above");
    };
    let host = format!("127.0.0.1:{}", registry.port);
    env.image("bb", &["CMD [\"echo\", \"hello from the mirror\"]"]);
    push(&env, "bb", &format!("{host}/library/busybox:latest"));
    push(&env, "bb", &format!("{host}/library/hello-world:latest"));
    env.ok(&["rmi", "bb"]);
    std::fs::create_dir_all(&env.root).unwrap();
    std::fs::write(
        env.root.join("daemon.json"),
        format!(
            r#"{{"registry-mirrors": ["http://{host}"], "insecure-registries": ["10.99.0.0/16", "myregistry.test:5000"]}}"#
        ),
    )
    .unwrap();
    let out = env.ok(&["pull", "busybox"]);
    assert!(
        out.contains("Status: Downloaded newer image for busybox:latest"),
        "{out}"
    );
    let r = env.berth(&["run", "--rm", "--network", "none", "hello-world"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "hello from the mirror\n"),
        "{}",
        r.stderr
    );
    // A registry whose name resolves to loopback is inside dockerd's default insecure CIDR
    // (127.0.0.0/8): spoken to over plain HTTP, as the local registry needs.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hostname = hostname.trim();
    let loopback = std::net::ToSocketAddrs::to_socket_addrs(&(hostname, 0))
        .is_ok_and(|mut a| a.all(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST));
    if loopback && !hostname.is_empty() {
        let out = env.ok(&[
            "pull",
            &format!("{hostname}:{}/library/busybox", registry.port),
        ]);
        assert!(out.contains("Status: Downloaded newer image"), "{out}");
    }
    // Mirrors are docker.io's only: another registry is never asked through them.
    let r = env.berth(&["pull", "quay.io/library/busybox"]);
    assert_ne!(r.code, 0);

    // Registry questions about docker.io names go to the mirror too.
    let manifest = env.ok(&["manifest", "inspect", "busybox"]);
    assert!(manifest.contains("\"schemaVersion\": 2"), "{manifest}");
    // A search without a registry searches the mirror's catalog, by Docker Hub's names.
    let found = env.ok(&["search", "--format", "{{.Name}} {{.IsOfficial}}", "hello"]);
    assert_eq!(found, "hello-world [OK]\n");

    let info = env.ok(&["info"]);
    assert!(
        info.contains(&format!(" Registry Mirrors:\n  http://{host}/\n")),
        "{info}"
    );
    assert!(
        info.contains(
            " Insecure Registries:\n  myregistry.test:5000\n  127.0.0.0/8\n  10.99.0.0/16\n"
        ),
        "{info}"
    );
    let config = env.ok(&["info", "--format", "{{json .RegistryConfig}}"]);
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["Mirrors"][0], format!("http://{host}/"));
    let server = serve(&env);
    if have_docker() {
        let r = docker(&server, &env, &["info"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout
                .contains(&format!(" Registry Mirrors:\n  http://{host}/\n")),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("  myregistry.test:5000\n"),
            "{}",
            r.stdout
        );
    }
    drop(server);

    std::fs::write(
        env.root.join("daemon.json"),
        "{\n  \"registry-mirrors\": [\"http://x\"],\n}\n",
    )
    .unwrap();
    let r = env.berth(&["pull", "busybox"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let r = env.berth(&["info"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let file = env.root.join("daemon.json");
    assert!(
        r.stderr.contains(&format!("{}:3:1", file.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn info_and_version_print_dockers_layout_and_templates() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&["create", "--network", "none", "bb", "true"]);
    let version = env.ok(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(version.trim(), env!("CARGO_PKG_VERSION"));
    let version = env.ok(&["version"]);
    for wanted in [
        "Client:\n Version:",
        "\nServer: berth\n Engine:\n",
        "API version:      1.41 (minimum version 1.24)",
        "OS/Arch:",
    ] {
        assert!(version.contains(wanted), "{wanted:?} in {version}");
    }
    assert_eq!(
        env.ok(&["info", "--format", "{{.Driver}}"]).trim(),
        "overlay2"
    );
    let info = env.ok(&["system", "info"]);
    for wanted in [
        "\nServer:\n Containers: 1\n  Running: 0\n  Paused: 0\n  Stopped: 1\n Images: 1\n",
        " Storage Driver: overlay2\n",
        " Cgroup Driver: cgroupfs\n",
        " Cgroup Version: ",
        " Runtimes: berth runc vm\n",
        " Default Runtime: berth\n VM accelerator: ",
        " Security Options:\n  seccomp\n   Profile: default\n",
        " Kernel Version: ",
        " CPUs: ",
        " Total Memory: ",
        " Insecure Registries:\n  127.0.0.0/8\n",
    ] {
        assert!(info.contains(wanted), "{wanted:?} in {info}");
    }
    assert_eq!(info, env.ok(&["info"]));
}
