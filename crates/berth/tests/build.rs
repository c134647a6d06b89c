//! `berth build`: real builds from a busybox image imported by the test, checked by running the
//! result (files, env, user, workdir, cmd), plus the cache, .dockerignore, ADD of archives,
//! multi-stage builds, errors with FILE:LINE, whiteouts, and cleanup after a killed build.
mod common;

use std::process::Command;

use common::build::{build, build_ok, context};
use common::{Env, required_env};

fn run_out(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    env.ok(&all)
}

fn inspect(env: &Env, image: &str) -> serde_json::Value {
    let out = env.ok(&["image", "inspect", image]);
    serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
}

/// Nothing a build step made is left: no containers, no mounts, no scratch dirs.
fn assert_clean(env: &Env) {
    assert_eq!(
        env.container_ids(),
        Vec::<String>::new(),
        "build containers left behind"
    );
    assert_eq!(env.mounts(), Vec::<String>::new(), "mounts left behind");
    let scratch = env.root.join("build");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch dirs left: {left:?}");
}

#[test]
fn files_env_user_workdir_and_cmd_end_up_in_the_image() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[
            ("a.txt", "hello\n"),
            ("dir/x", "inner\n"),
            (
                "Dockerfile",
                "FROM bb\nARG WHO=world\nENV GREETING=\"hello $WHO\" MODE=${MODE:-dev}\nLABEL team=core\nWORKDIR /app\nCOPY a.txt dir ./\nRUN echo building; echo \"$GREETING $WHO\" > /app/greet\nEXPOSE 8080/tcp\nUSER alice\nSTOPSIGNAL SIGTERM\nCMD [\"cat\", \"/app/greet\"]\n",
            ),
        ],
    );
    let progress = build_ok(
        &env,
        &[
            "-t",
            "app:1",
            "-t",
            "app:2",
            "--build-arg",
            "WHO=berth",
            "--label",
            "extra=yes",
        ],
        &ctx,
    );
    assert!(
        progress.contains("#4 0.") && progress.contains(" building"),
        "RUN output is streamed: {progress}"
    );
    assert!(
        progress.contains("naming to docker.io/library/app:1 done"),
        "{progress}"
    );
    assert_eq!(
        run_out(&env, &["app:1"]),
        "hello berth berth\n",
        "CMD and the build arg in RUN"
    );
    assert_eq!(
        run_out(&env, &["app:2", "cat", "/app/a.txt", "/app/x"]),
        "hello\ninner\n",
        "COPY of a file and a dir's contents"
    );
    assert_eq!(
        run_out(
            &env,
            &[
                "app:1",
                "sh",
                "-c",
                "pwd; id -u; echo $GREETING $MODE; echo ${WHO:-unset}"
            ]
        ),
        "/app\n1000\nhello berth dev\nunset\n"
    );
    let img = inspect(&env, "app:1");
    let c = &img["Config"];
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["User"], "alice");
    assert_eq!(c["Cmd"], serde_json::json!(["cat", "/app/greet"]));
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert_eq!(c["Labels"]["team"], "core");
    assert_eq!(c["Labels"]["extra"], "yes");
    assert!(c["ExposedPorts"]["8080/tcp"].is_object());
    // One layer for the base, then WORKDIR, COPY and RUN.
    assert_eq!(
        img["RootFS"]["Layers"].as_array().unwrap().len(),
        4,
        "{img}"
    );
    assert_clean(&env);
}

#[test]
fn history_records_steps_and_metadata_only_steps_have_no_layer() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb\nENV A=1\nRUN echo hi > /f\nCMD [\"sh\"]\n",
        )],
    );
    build_ok(&env, &["-t", "h"], &ctx);
    let config_path = {
        let id = env
            .ok(&["image", "inspect", "-f", "{{.Id}}", "h"])
            .trim()
            .to_string();
        env.root
            .join("image/blobs/sha256")
            .join(id.trim_start_matches("sha256:"))
    };
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config_path).unwrap()).unwrap();
    let history = config["history"].as_array().unwrap();
    let created_by: Vec<&str> = history
        .iter()
        .map(|h| h["created_by"].as_str().unwrap_or(""))
        .collect();
    let n = created_by.len();
    assert_eq!(created_by[n - 3], "/bin/sh -c #(nop) ENV A=1");
    assert_eq!(created_by[n - 2], "RUN /bin/sh -c echo hi > /f");
    assert_eq!(created_by[n - 1], "/bin/sh -c #(nop) CMD [\"sh\"]");
    assert_eq!(history[n - 3]["empty_layer"], true);
    assert!(history[n - 2].get("empty_layer").is_none_or(|v| v == false));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    // The RUN layer is stored gzip-compressed; its diff_id is the digest of the plain tar.
    let id = env
        .ok(&["image", "inspect", "-f", "{{.Id}}", "h"])
        .trim()
        .to_string();
    let store = env.root.join("image");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join("images").join(id.trim_start_matches("sha256:"))).unwrap(),
    )
    .unwrap();
    let blob = |digest: &str| {
        store
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(record["manifest"].as_str().unwrap())).unwrap())
            .unwrap();
    let layer = &manifest["layers"][1];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let plain = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc '{}' | sha256sum",
            blob(layer["digest"].as_str().unwrap()).display()
        ))
        .output()
        .unwrap();
    let plain_digest = format!(
        "sha256:{}",
        String::from_utf8_lossy(&plain.stdout)
            .split_whitespace()
            .next()
            .unwrap()
    );
    assert_eq!(
        plain_digest,
        config["rootfs"]["diff_ids"][1].as_str().unwrap()
    );
    assert_ne!(plain_digest, layer["digest"].as_str().unwrap());
}

#[test]
fn multi_stage_copies_from_earlier_stages_and_builds_only_what_the_target_needs() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "ARG BASE=bb\nFROM $BASE AS builder\nRUN mkdir /out && echo artifact > /out/bin.txt\n\nFROM bb AS broken\nRUN exit 9\n\nFROM bb AS other\nRUN echo other > /other.txt\n\nFROM scratch AS final\nCOPY --from=builder /out/bin.txt /bin.txt\nCOPY --from=2 /other.txt /o/\nCOPY --from=bb /bin/busybox /bin/busybox\nCMD [\"/bin/busybox\", \"cat\", \"/bin.txt\", \"/o/other.txt\"]\n",
        )],
    );
    let progress = build_ok(&env, &["-t", "ms"], &ctx);
    assert!(
        !progress.contains("exit 9"),
        "the unused stage was built: {progress}"
    );
    assert_eq!(run_out(&env, &["ms"]), "artifact\nother\n");
    // --target builds the named stage.
    build_ok(&env, &["-t", "only-builder", "--target", "builder"], &ctx);
    assert_eq!(
        run_out(&env, &["only-builder", "cat", "/out/bin.txt"]),
        "artifact\n"
    );
    let r = build(&env, &["--target", "nope"], &ctx);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("target stage \"nope\" could not be found"),
        "{}",
        r.stderr
    );
    assert_clean(&env);
}

#[test]
fn rebuild_hits_the_cache_and_a_changed_file_misses_it() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[
            ("a.txt", "one\n"),
            ("b.txt", "bee\n"),
            (
                "Dockerfile",
                "FROM bb\nRUN echo first > /first\nCOPY b.txt /b.txt\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\n",
            ),
        ],
    );
    build_ok(&env, &["-t", "c1"], &ctx);
    let id1 = inspect(&env, "c1")["Id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let second = build_ok(&env, &["-t", "c2"], &ctx);
    let cached_time = started.elapsed();
    assert_eq!(second.matches("CACHED").count(), 4, "{second}");
    assert_eq!(
        inspect(&env, "c2")["Id"],
        id1.as_str(),
        "a fully cached build gives the same image"
    );
    eprintln!("fully cached rebuild (whole command, debug build): {cached_time:?}");

    std::fs::write(ctx.join("a.txt"), "two\n").unwrap();
    let third = build_ok(&env, &["-t", "c3"], &ctx);
    let lines: Vec<&str> = third.lines().collect();
    let cached_steps: Vec<&str> = lines
        .iter()
        .filter(|l| l.ends_with("CACHED"))
        .copied()
        .collect();
    assert_eq!(
        cached_steps.len(),
        2,
        "RUN first and COPY b.txt stay cached: {third}"
    );
    assert_eq!(run_out(&env, &["c3", "cat", "/copy"]), "two\n");

    // Removing the images keeps what the cache points at: the rebuild is still cached.
    env.ok(&["rmi", "c1", "c2", "c3"]);
    let after_rmi = build_ok(&env, &["-t", "c3"], &ctx);
    assert_eq!(after_rmi.matches("CACHED").count(), 4, "{after_rmi}");
    assert_eq!(run_out(&env, &["c3", "cat", "/copy"]), "two\n");

    let no_cache = build_ok(&env, &["--no-cache", "-t", "c4"], &ctx);
    assert!(!no_cache.contains("CACHED"), "{no_cache}");

    env.ok(&["builder", "prune", "-f"]);
    let after_prune = build_ok(&env, &["-t", "c5"], &ctx);
    assert!(!after_prune.contains("CACHED"), "{after_prune}");
    assert_eq!(run_out(&env, &["c5", "cat", "/copy"]), "two\n");
    assert_clean(&env);
}

#[test]
fn dockerignore_excludes_files_with_docker_rules() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[
            (
                ".dockerignore",
                "# build junk\n*.log\n!keep.log\nsecret\n**/tmp\n",
            ),
            ("app.txt", "app\n"),
            ("debug.log", "noise\n"),
            ("keep.log", "kept\n"),
            ("secret/key", "hunter2\n"),
            ("src/tmp/x", "tmp\n"),
            ("src/main.c", "int main;\n"),
            ("Dockerfile", "FROM bb\nCOPY . /ctx/\n"),
        ],
    );
    build_ok(&env, &["-t", "ig"], &ctx);
    let listing = run_out(
        &env,
        &["ig", "sh", "-c", "cd /ctx && find . -type f | sort"],
    );
    assert_eq!(
        listing,
        "./.dockerignore\n./Dockerfile\n./app.txt\n./keep.log\n./src/main.c\n"
    );
    // An excluded file cannot be copied explicitly either.
    std::fs::write(ctx.join("Dockerfile"), "FROM bb\nCOPY secret/key /key\n").unwrap();
    let r = build(&env, &[], &ctx);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:2:") && r.stderr.contains("excluded by .dockerignore"),
        "{}",
        r.stderr
    );
}

#[test]
fn add_extracts_local_tar_archives_and_copy_does_not() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(&env, "ctx", &[("payload/dir/hello.txt", "from the tar\n")]);
    let ok = |c: &mut Command| assert!(c.status().unwrap().success());
    ok(Command::new("tar")
        .arg("-C")
        .arg(ctx.join("payload"))
        .arg("-czf")
        .arg(ctx.join("p.tar.gz"))
        .arg("dir"));
    ok(Command::new("tar")
        .arg("-C")
        .arg(ctx.join("payload"))
        .arg("-cf")
        .arg(ctx.join("p.tar"))
        .arg("dir"));
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nADD p.tar.gz /gz/\nADD p.tar /plain\nCOPY p.tar /copied/\n",
    )
    .unwrap();
    build_ok(&env, &["-t", "add"], &ctx);
    assert_eq!(
        run_out(
            &env,
            &["add", "cat", "/gz/dir/hello.txt", "/plain/dir/hello.txt"]
        ),
        "from the tar\nfrom the tar\n"
    );
    assert_eq!(run_out(&env, &["add", "ls", "/copied"]), "p.tar\n");
}

#[test]
fn add_detects_bzip2_and_xz_archives_by_content_not_by_name() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[
            ("payload/dir/hello.txt", "from the tar\n"),
            ("fake.tar.xz", "not an archive\n"),
        ],
    );
    let ok = |c: &mut Command| assert!(c.status().unwrap().success());
    // Names that say nothing about the compression: Docker looks at the bytes.
    for (flag, name) in [("-cjf", "bz.data"), ("-cJf", "xz.data")] {
        ok(Command::new("tar")
            .arg("-C")
            .arg(ctx.join("payload"))
            .arg(flag)
            .arg(ctx.join(name))
            .arg("dir"));
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nADD bz.data /bz/\nADD xz.data /xz/\nADD fake.tar.xz /fake/\n",
    )
    .unwrap();
    build_ok(&env, &["-t", "addc"], &ctx);
    assert_eq!(
        run_out(
            &env,
            &["addc", "cat", "/bz/dir/hello.txt", "/xz/dir/hello.txt"]
        ),
        "from the tar\nfrom the tar\n"
    );
    assert_eq!(
        run_out(&env, &["addc", "cat", "/fake/fake.tar.xz"]),
        "not an archive\n"
    );
}

#[test]
fn from_platform_accepts_the_host_platform_and_refuses_another() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM --platform=linux/amd64 bb AS a\nRUN echo a > /a\n\
             FROM --platform=$TARGETPLATFORM bb AS t\nCOPY --from=a /a /a\n\
             FROM --platform=$BUILDPLATFORM bb\nCOPY --from=t /a /a\n\
             RUN echo $TARGETARCH > /arch\n",
        )],
    );
    build_ok(&env, &["-t", "plat"], &ctx);
    assert_eq!(run_out(&env, &["plat", "cat", "/a"]), "a\n");
    // The platform ARGs are FROM-scope only unless declared, as in Docker.
    assert_eq!(run_out(&env, &["plat", "cat", "/arch"]), "\n");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nFROM --platform=linux/s390x bb\nRUN true\n",
    )
    .unwrap();
    let r = build(&env, &[], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("Dockerfile:2:")
            && r.stderr.contains("wanted linux/s390x, actual: linux/amd64"),
        "{}",
        r.stderr
    );
    assert_clean(&env);
}

#[test]
fn dockerfile_errors_name_the_file_and_line() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[("Dockerfile", "FROM bb\nRUN true\nFROOM bb\n")],
    );
    let r = build(&env, &["-t", "bad"], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("Dockerfile:3:") && r.stderr.contains("FROOM"),
        "{}",
        r.stderr
    );
    std::fs::write(ctx.join("Dockerfile"), "FROM bb\n\nCOPY missing.txt /\n").unwrap();
    let r = build(&env, &[], &ctx);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:3:") && r.stderr.contains("missing.txt"),
        "{}",
        r.stderr
    );
    // Several here-documents in one RUN are built (tests/build_mounts.rs); a document that is
    // never terminated is still an error naming its line.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nRUN <<FILE1 cat > /file1\none\n",
    )
    .unwrap();
    let r = build(&env, &[], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Dockerfile:"), "{}", r.stderr);
    std::fs::write(ctx.join("other.Dockerfile"), "RUN true\n").unwrap();
    let file = ctx.join("other.Dockerfile").to_string_lossy().into_owned();
    let r = build(&env, &["-f", &file], &ctx);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("other.Dockerfile:1:"), "{}", r.stderr);
    let r = build(&env, &[], &ctx.join("nope"));
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        env.ok(&["images", "-q"]).lines().count() == 1,
        "no image made by a failed build"
    );
    assert_clean(&env);
}

#[test]
fn a_failing_run_fails_the_build_with_its_exit_code_and_leaves_nothing() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb\nRUN echo before\nRUN echo oops >&2; exit 3\nRUN echo never\n",
        )],
    );
    let r = build(&env, &["-t", "fails"], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("oops"),
        "stderr of the step is shown: {}",
        r.stderr
    );
    assert!(r.stderr.contains("Dockerfile:3: The command '/bin/sh -c echo oops >&2; exit 3' returned a non-zero code: 3"), "{}", r.stderr);
    assert!(!r.stderr.contains("never"));
    assert_ne!(
        env.berth(&["image", "inspect", "fails"]).code,
        0,
        "no image is tagged"
    );
    assert_clean(&env);
}

#[test]
fn deleted_files_are_whited_out_in_later_layers() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb\nRUN mkdir -p /d/sub && echo 1 > /d/sub/old && echo x > /tmp/gone\nRUN rm /tmp/gone /etc/group && rm -r /d && mkdir /d && echo 2 > /d/new\n",
        )],
    );
    build_ok(&env, &["-t", "wh"], &ctx);
    assert_eq!(
        run_out(
            &env,
            &[
                "wh",
                "sh",
                "-c",
                "ls -a /d; ls /tmp; test -e /etc/group || echo no-group"
            ]
        ),
        ".\n..\nnew\nno-group\n"
    );
    assert_clean(&env);
}

#[test]
fn quiet_iidfile_and_stdin_dockerfile_and_context() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(&env, "ctx", &[("f.txt", "ctx file\n")]);
    let iid = ctx.parent().unwrap().join("iid");
    let iid_s = iid.to_string_lossy().into_owned();
    let ctx_s = ctx.to_string_lossy().into_owned();
    let r = env.with_stdin(
        &[
            "build",
            "-q",
            "--iidfile",
            &iid_s,
            "-t",
            "fromstdin",
            "-f",
            "-",
            &ctx_s,
        ],
        b"FROM bb\nCOPY f.txt /\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(r.stderr, "", "-q prints no progress");
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    assert_eq!(run_out(&env, &["fromstdin", "cat", "/f.txt"]), "ctx file\n");

    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nCOPY f.txt /from-tar.txt\n",
    )
    .unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&ctx)
        .arg("-cf")
        .arg("-")
        .arg(".")
        .output()
        .unwrap();
    let r = env.with_stdin(&["image", "build", "-t", "fromtar", "-"], &tar.stdout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        run_out(&env, &["fromtar", "cat", "/from-tar.txt"]),
        "ctx file\n"
    );
    assert_clean(&env);
}

#[test]
fn onbuild_triggers_run_in_the_child_build() {
    let env = required_env();
    env.image("bb", &[]);
    let parent = context(
        &env,
        "parent",
        &[(
            "Dockerfile",
            "FROM bb\nONBUILD COPY marker.txt /marker.txt\nONBUILD RUN echo triggered >> /marker.txt\n",
        )],
    );
    build_ok(&env, &["-t", "onbuild-base"], &parent);
    let onbuild = inspect(&env, "onbuild-base")["Config"]["OnBuild"].clone();
    assert_eq!(
        onbuild,
        serde_json::json!([
            "COPY marker.txt /marker.txt",
            "RUN echo triggered >> /marker.txt"
        ])
    );
    let child = context(
        &env,
        "child",
        &[
            ("marker.txt", "child\n"),
            ("Dockerfile", "FROM onbuild-base\nRUN cat /marker.txt\n"),
        ],
    );
    build_ok(&env, &["-t", "onbuild-child"], &child);
    assert_eq!(
        run_out(&env, &["onbuild-child", "cat", "/marker.txt"]),
        "child\ntriggered\n"
    );
    assert!(
        inspect(&env, "onbuild-child")["Config"]["OnBuild"].is_null(),
        "triggers are not inherited"
    );
}

#[test]
fn a_build_killed_with_sigkill_leaves_nothing_after_the_next_command() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[("Dockerfile", "FROM bb\nRUN echo started; sleep 60\n")],
    );
    let mut child = env
        .cmd(&["build", "-t", "killed", &ctx.to_string_lossy()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for(
        || {
            env.berth(&["ps", "--format", "{{.Status}}"])
                .stdout
                .starts_with("Up")
        },
        "the RUN container to run",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Any next command (here `ps`, inside assert_clean) cleans up after the killed build.
    assert_clean(&env);
    let quick = context(
        &env,
        "quick",
        &[("Dockerfile", "FROM bb\nCMD [\"true\"]\n")],
    );
    build_ok(&env, &["-t", "after"], &quick);
    assert_clean(&env);
    assert_ne!(env.berth(&["image", "inspect", "killed"]).code, 0);
}

/// Serves `body` for every GET on 127.0.0.1:<port> until the test ends; returns the port.
fn serve(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn add_downloads_urls_with_docker_file_rules() {
    let env = required_env();
    env.image("bb", &[]);
    let port = serve("downloaded\n");
    let dockerfile = format!(
        "FROM bb\nADD http://127.0.0.1:{port}/files/hello.txt /dl/\nADD http://127.0.0.1:{port}/x.tar /named\n"
    );
    let ctx = context(&env, "ctx", &[("Dockerfile", &dockerfile)]);
    build_ok(&env, &["-t", "url"], &ctx);
    assert_eq!(
        run_out(&env, &["url", "cat", "/dl/hello.txt", "/named"]),
        "downloaded\ndownloaded\n"
    );
    let listing = run_out(&env, &["url", "ls", "-l", "/dl/hello.txt"]);
    assert!(
        listing.starts_with("-rw-------"),
        "downloads are 0600: {listing}"
    );
    assert!(
        listing.contains("1994"),
        "mtime from Last-Modified: {listing}"
    );
    let again = build_ok(&env, &["-t", "url2"], &ctx);
    assert_eq!(
        again.matches("CACHED").count(),
        2,
        "same content: cached: {again}"
    );
    let bad = context(
        &env,
        "bad",
        &[("Dockerfile", "FROM bb\nADD http://127.0.0.1:1/nothing /x\n")],
    );
    let r = build(&env, &[], &bad);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:2:") && r.stderr.contains("127.0.0.1:1/nothing"),
        "{}",
        r.stderr
    );
    assert_clean(&env);
}

#[test]
fn shell_exec_form_heredoc_chown_chmod_and_config_instructions() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[
            ("owned.txt", "mine\n"),
            (
                "Dockerfile",
                "FROM bb\nSHELL [\"/bin/sh\", \"-ec\"]\nRUN echo \"$0 $-\" > /shell.txt\nRUN [\"/bin/sh\", \"-c\", \"echo exec-form > /exec.txt\"]\nRUN <<EOF\necho line1 > /heredoc.txt\necho line2 >> /heredoc.txt\nEOF\nENV WHO=env\nRUN cat <<EOF > /later.txt\nhi $WHO\nEOF\nRUN cat <<'RAW' > /raw.txt\nhi $WHO\nRAW\nCOPY --chown=alice:staff --chmod=640 owned.txt /owned.txt\nCOPY <<notes.txt /docs/\nwritten by a heredoc for \"$WHO\" in C:\\\\dir\nnotes.txt\nVOLUME /data\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nHEALTHCHECK --interval=5s --retries=2 CMD true\nMAINTAINER someone@example.com\n",
            ),
        ],
    );
    build_ok(&env, &["-t", "misc"], &ctx);
    let out = run_out(
        &env,
        &[
            "misc",
            "cat /shell.txt /exec.txt /heredoc.txt /docs/notes.txt /later.txt /raw.txt; ls -ln /owned.txt",
        ],
    );
    let mut lines = out.lines();
    let shell = lines.next().unwrap();
    assert!(
        shell.starts_with("/bin/sh") && shell.contains('e'),
        "SHELL is used for RUN: {shell}"
    );
    assert_eq!(lines.next(), Some("exec-form"));
    assert_eq!(lines.next(), Some("line1"));
    assert_eq!(lines.next(), Some("line2"));
    assert_eq!(
        lines.next(),
        Some("written by a heredoc for \"env\" in C:\\dir")
    );
    assert_eq!(
        lines.next(),
        Some("hi env"),
        "a heredoc later in RUN, expanded by the shell"
    );
    assert_eq!(
        lines.next(),
        Some("hi $WHO"),
        "a quoted delimiter is not expanded"
    );
    let ls = lines.next().unwrap();
    assert!(
        ls.starts_with("-rw-r-----") && ls.contains(" 1000 ") && ls.contains(" 50 "),
        "--chown/--chmod: {ls}"
    );
    let img = inspect(&env, "misc");
    let c = &img["Config"];
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert!(
        c["Cmd"].is_null(),
        "ENTRYPOINT resets the inherited CMD: {c}"
    );
    assert!(c["Volumes"]["/data"].is_object());
    assert_eq!(
        c["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(c["Healthcheck"]["Interval"], 5_000_000_000i64);
    assert_eq!(c["Healthcheck"]["Retries"], 2);
    assert_eq!(img["Author"], "someone@example.com");
    assert_clean(&env);
}

#[test]
fn independent_stages_build_in_parallel_and_unused_build_args_are_reported() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb AS one\nRUN sleep 3; echo 1 > /one\n\nFROM bb AS two\nRUN sleep 3; echo 2 > /two\n\nFROM bb\nCOPY --from=one /one /\nCOPY --from=two /two /\n",
        )],
    );
    let started = std::time::Instant::now();
    let progress = build_ok(&env, &["-t", "par", "--build-arg", "UNUSED=1"], &ctx);
    let took = started.elapsed();
    // Two 3 s steps one after the other would take more than 6 s.
    assert!(
        took < std::time::Duration::from_millis(5500),
        "stages ran one after the other: {took:?}"
    );
    assert!(
        progress.contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{progress}"
    );
    assert_eq!(run_out(&env, &["par", "cat", "/one", "/two"]), "1\n2\n");
    assert_clean(&env);
}

#[test]
fn copy_never_follows_an_image_symlink_out_to_the_host() {
    let env = required_env();
    env.image("bb", &[]);
    let host_dir = env.root.parent().unwrap().join("host-dir");
    std::fs::create_dir_all(&host_dir).unwrap();
    let host = host_dir.to_string_lossy().into_owned();
    let dockerfile = format!(
        "FROM bb\nRUN mkdir /app && ln -s {host} /app/x && ln -s {host} /dest\nCOPY dir/ /app/\nCOPY f.txt /dest/\nADD t.tar /dest\n"
    );
    let ctx = context(
        &env,
        "ctx",
        &[
            ("dir/x/planted", "no\n"),
            ("f.txt", "no\n"),
            ("Dockerfile", &dockerfile),
        ],
    );
    let tar_src = context(&env, "tarsrc", &[("in-tar", "no\n")]);
    assert!(
        Command::new("tar")
            .arg("-C")
            .arg(&tar_src)
            .arg("-cf")
            .arg(ctx.join("t.tar"))
            .arg("in-tar")
            .status()
            .unwrap()
            .success()
    );
    build_ok(&env, &["-t", "sym"], &ctx);
    let on_host: Vec<_> = std::fs::read_dir(&host_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        on_host.is_empty(),
        "COPY wrote on the host through a symlink: {on_host:?}"
    );
    let inside = run_out(
        &env,
        &[
            "sym",
            "sh",
            "-c",
            &format!("cat /app/x/planted {host}/f.txt {host}/in-tar"),
        ],
    );
    assert_eq!(inside, "no\nno\nno\n");
    assert_clean(&env);
}

#[test]
fn run_network_host_shares_the_hosts_network_and_the_default_is_private() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb\nRUN --network=host cat /proc/net/dev > /host.txt\nRUN --network=none cat /proc/net/dev > /private.txt\n",
        )],
    );
    build_ok(&env, &["-t", "net"], &ctx);
    // Interfaces come and go while other tests run containers (bridges, veths): compare with
    // the host's own long-lived ones, not a count.
    let host_ifaces: Vec<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .filter(|n| {
            n != "lo" && !n.starts_with("veth") && !n.starts_with("berth") && !n.starts_with("br-")
        })
        .collect();
    let host_txt = run_out(&env, &["net", "cat", "/host.txt"]);
    assert!(
        !host_ifaces.is_empty()
            && host_ifaces
                .iter()
                .all(|n| host_txt.contains(&format!("{n}:"))),
        "--network=host sees the host's interfaces {host_ifaces:?}: {host_txt}"
    );
    let private_lines: usize = run_out(&env, &["net", "sh", "-c", "wc -l < /private.txt"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        private_lines, 3,
        "--network=none is loopback only (2 header lines + lo)"
    );
    let bad = context(
        &env,
        "bad",
        &[("Dockerfile", "FROM bb\nRUN --network=bridge0 true\n")],
    );
    let r = build(&env, &[], &bad);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:2: RUN --network=bridge0"),
        "{}",
        r.stderr
    );
}

#[test]
fn from_pulls_a_missing_image() {
    let env = required_env();
    let Some(registry) =
        common::local_registry::LocalRegistry::start(&env.root.parent().unwrap().join("registry"))
    else {
        panic!("this test cannot run here: the reason is said above");
    };
    env.image("bb", &[]);
    let remote = format!("127.0.0.1:{}/bb:1", registry.port);
    env.ok(&["tag", "bb", &remote]);
    env.ok(&["push", &remote]);
    env.ok(&["rmi", &remote]);
    env.ok(&["rmi", "bb"]);
    let dockerfile = format!("FROM {remote}\nRUN echo pulled > /p\n");
    let ctx = context(&env, "ctx", &[("Dockerfile", &dockerfile)]);
    build_ok(&env, &["-t", "frompull"], &ctx);
    assert_eq!(run_out(&env, &["frompull", "cat", "/p"]), "pulled\n");
    assert_clean(&env);
}

/// A step's output pipe must not leak into the containers of parallel stages: the failing step
/// would wait for its output's EOF, so the whole build, until those containers ended by
/// themselves. The leak needed two steps to start at the same moment, hence several stages and
/// a few builds.
#[test]
fn a_failing_step_is_reported_at_once_whatever_starts_beside_it() {
    let env = required_env();
    env.image("bb", &[]);
    let slow: String = (0..4)
        .map(|i| format!("FROM bb AS s{i}\nRUN sleep 60\n\n"))
        .collect();
    let copies: String = (0..4)
        .map(|i| format!("COPY --from=s{i} /etc/passwd /{i}\n"))
        .collect();
    let dockerfile = format!(
        "{slow}FROM bb AS bad\nRUN sleep 1; exit 4\n\nFROM bb\n{copies}COPY --from=bad /etc/passwd /b\n"
    );
    let ctx = context(&env, "ctx", &[("Dockerfile", &dockerfile)]);
    for attempt in 1..=3 {
        let started = std::time::Instant::now();
        let r = build(&env, &["--no-cache", "-t", "stopped"], &ctx);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "build {attempt} waited for the slow stages ({:?}):\n{}",
            started.elapsed(),
            r.stderr
        );
        assert!(
            r.stderr.contains(
                "Dockerfile:14: The command '/bin/sh -c sleep 1; exit 4' returned a non-zero code: 4"
            ),
            "{}",
            r.stderr
        );
        assert_clean(&env);
    }
}

#[test]
fn a_failing_stage_stops_the_others_and_its_error_is_reported() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb AS slow\nRUN sleep 60\n\nFROM bb AS bad\nRUN sleep 1; exit 4\n\nFROM bb\nCOPY --from=slow /etc/passwd /a\nCOPY --from=bad /etc/passwd /b\n",
        )],
    );
    let started = std::time::Instant::now();
    let r = build(&env, &["-t", "stopped"], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the slow stage was not stopped"
    );
    assert!(
        r.stderr.contains(
            "Dockerfile:5: The command '/bin/sh -c sleep 1; exit 4' returned a non-zero code: 4"
        ),
        "{}",
        r.stderr
    );
    assert_clean(&env);
}

/// Sixty layers: their paths no longer fit in one overlay mount's option page (4096 bytes), yet
/// every step and the container still mount them.
#[test]
fn an_image_of_sixty_layers_builds_and_runs() {
    let env = required_env();
    env.image("bb", &[]);
    let mut files: Vec<(String, String)> = (0..60)
        .map(|i| (format!("f{i}"), format!("layer {i}\n")))
        .collect();
    let mut dockerfile = String::from("FROM bb\n");
    for i in 0..60 {
        dockerfile.push_str(&format!("COPY f{i} /layers/f{i}\n"));
    }
    dockerfile.push_str("RUN cat /layers/f0 /layers/f59 > /both\n");
    files.push(("Dockerfile".into(), dockerfile));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let ctx = context(&env, "ctx", &refs);
    build_ok(&env, &["-t", "deep"], &ctx);
    let layers = env.ok(&["inspect", "-f", "{{len .RootFS.Layers}}", "deep"]);
    assert!(
        layers.trim().parse::<usize>().unwrap() >= 61,
        "layers: {layers}"
    );
    assert_eq!(
        run_out(&env, &["deep", "cat", "/both", "/layers/f30"]),
        "layer 0\nlayer 59\nlayer 30\n"
    );
    assert_clean(&env);
}

fn image_id(env: &Env, name: &str) -> String {
    env.ok(&["image", "inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

fn listed(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec![
        "images",
        "--no-trunc",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ];
    all.extend_from_slice(args);
    env.ok(&all).lines().map(str::to_string).collect()
}

/// Docker's classic builder: `images` hides the intermediate images of a build, `images -a`
/// shows them untagged.
#[test]
fn images_all_shows_the_intermediate_images_of_a_build() {
    let env = required_env();
    env.image("bb", &[]);
    let ctx = context(
        &env,
        "ctx",
        &[("Dockerfile", "FROM bb\nRUN echo 1 > /1\nRUN echo 2 > /2\n")],
    );
    build_ok(&env, &["-t", "two"], &ctx);
    let two = image_id(&env, "two");
    let bb = image_id(&env, "bb");
    let mut plain = listed(&env, &[]);
    plain.sort();
    assert_eq!(
        plain,
        [format!("bb:latest {bb}"), format!("two:latest {two}")]
    );
    let all = listed(&env, &["-a"]);
    let untagged: Vec<&str> = all
        .iter()
        .filter_map(|l| l.strip_prefix("<none>:<none> "))
        .collect();
    assert!(!untagged.is_empty(), "{all:?}");
    assert!(
        !untagged.contains(&two.as_str()) && !untagged.contains(&bb.as_str()),
        "{all:?}"
    );
    // The state after the first RUN is among them, and usable by its id as Docker's are.
    let after_first: Vec<&&str> = untagged
        .iter()
        .filter(|id| {
            env.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", id])
                .trim()
                == "2"
        })
        .collect();
    assert_eq!(after_first.len(), 1, "{all:?}");
    assert_eq!(
        run_out(
            &env,
            &[after_first[0], "sh", "-c", "cat /1; ls /2 2>&1 || true"]
        )
        .lines()
        .next(),
        Some("1")
    );
    let short = &after_first[0]["sha256:".len().."sha256:".len() + 12];
    env.ok(&["tag", short, "first"]);
    assert!(listed(&env, &[]).contains(&format!("first:latest {}", after_first[0])));
    assert_clean(&env);
}

/// `image prune` removes dangling images and keeps the build cache; `image prune -a` removes
/// every image no container uses, the build cache's included, as Docker's classic builder.
#[test]
fn image_prune_keeps_the_build_cache_and_prune_all_removes_it() {
    let env = required_env();
    env.image("bb", &[]);
    let first = context(
        &env,
        "first",
        &[("Dockerfile", "FROM bb\nRUN echo a > /a\n")],
    );
    build_ok(&env, &["-t", "app"], &first);
    let old = image_id(&env, "app");
    let second = context(
        &env,
        "second",
        &[("Dockerfile", "FROM bb\nRUN echo b > /b\nRUN echo c > /c\n")],
    );
    build_ok(&env, &["-t", "app"], &second);
    let new = image_id(&env, "app");
    assert!(listed(&env, &[]).contains(&format!("<none>:<none> {old}")));

    let out = env.ok(&["image", "prune", "-f"]);
    assert!(out.starts_with("Deleted Images:\n"), "{out}");
    assert!(out.contains(&format!("deleted: {old}\n")), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    let all = listed(&env, &["-a"]);
    assert!(!all.iter().any(|l| l.ends_with(&old)), "{all:?}");
    assert!(
        all.iter().any(|l| l.starts_with("<none>:<none> ")),
        "{all:?}"
    );
    // The cache of the tagged image survived: a rebuild runs nothing.
    let again = build_ok(&env, &["-t", "app"], &second);
    assert_eq!(again.matches("CACHED").count(), 2, "{again}");
    // The removed image is not in the cache any more: its build runs again.
    let redo = build_ok(&env, &["-t", "other"], &first);
    assert!(!redo.contains("CACHED"), "{redo}");
    env.ok(&["rmi", "other"]);

    // A container keeps its image through `-a`; everything else goes, the cache too.
    env.ok(&["create", "--name", "keep", "bb", "true"]);
    let out = env.ok(&["image", "prune", "-a", "-f"]);
    assert!(
        out.contains("untagged: docker.io/library/app:latest\n")
            || out.contains("untagged: app:latest\n"),
        "{out}"
    );
    assert!(out.contains(&format!("deleted: {new}\n")), "{out}");
    let bb = image_id(&env, "bb");
    assert_eq!(listed(&env, &["-a"]), [format!("bb:latest {bb}")]);
    let rebuilt = build_ok(&env, &["-t", "app"], &second);
    assert!(!rebuilt.contains("CACHED"), "{rebuilt}");
    env.ok(&["rm", "keep"]);
    assert_clean(&env);
}
