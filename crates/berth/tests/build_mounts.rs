//! `berth build` with BuildKit-era RUN flags: `--mount=type=cache|bind|tmpfs|secret|ssh`,
//! `--secret`, `--ssh`, `RUN --network`, `RUN --security=insecure` with `--allow`, and the bad
//! inputs (each error names Dockerfile:LINE and the option; nothing is left in the cache or
//! the image store). Images are made from busybox-static by the test.
mod common;

use std::path::{Path, PathBuf};

use common::build::{build, build_ok, context};
use common::{Env, required_env};

fn run_out(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    env.ok(&all).trim().to_string()
}

/// Nothing a build step made is left: no containers, no mounts, no scratch dirs.
fn assert_clean(env: &Env) {
    assert_eq!(env.container_ids(), Vec::<String>::new(), "containers left");
    assert_eq!(env.mounts(), Vec::<String>::new(), "mounts left behind");
    let left: Vec<_> = std::fs::read_dir(env.root.join("build"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch dirs left: {left:?}");
}

fn cache_mounts(env: &Env) -> usize {
    std::fs::read_dir(env.root.join("build-cache/cache-mounts"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Every file under `dir` (recursively) that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if t.is_file()
            && std::fs::read(&path)
                .is_ok_and(|data| data.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_cache_mount_persists_across_builds_stays_out_of_the_image_and_is_pruned() {
    let env = required_env();
    env.image("bb", &[]);
    let dockerfile = "FROM bb\nCOPY src.txt /src.txt\n\
        RUN --mount=type=cache,target=/var/cache/app cat /src.txt >> /var/cache/app/log && wc -l < /var/cache/app/log > /count\n\
        RUN --mount=type=cache,id=owned,target=/c2,uid=1000,gid=50,mode=0700,sharing=locked busybox stat -c '%u %g %a' /c2 > /perm\n";
    let ctx = context(
        &env,
        "ctx",
        &[("src.txt", "one\n"), ("Dockerfile", dockerfile)],
    );
    build_ok(&env, &["-t", "cm"], &ctx);
    assert_eq!(run_out(&env, &["cm", "cat", "/count"]), "1");
    assert_eq!(run_out(&env, &["cm", "cat", "/perm"]), "1000 50 700");
    // Neither the mount's content nor its mount point is in the image.
    assert_eq!(
        run_out(
            &env,
            &[
                "cm",
                "sh",
                "-c",
                "ls -d /var/cache /c2 2>&1 | wc -l; ls /var 2>&1; true"
            ]
        ),
        "2\nls: /var: No such file or directory"
    );
    // A changed source reruns the step, which finds what the first build left.
    std::fs::write(ctx.join("src.txt"), "two\n").unwrap();
    build_ok(&env, &["-t", "cm"], &ctx);
    assert_eq!(run_out(&env, &["cm", "cat", "/count"]), "2");
    assert_eq!(cache_mounts(&env), 2);

    // system df counts the mounts in Build Cache; builder prune removes them.
    let df = env.ok(&["system", "df", "--format", "{{.Type}}|{{.TotalCount}}"]);
    let count: u64 = df
        .lines()
        .find_map(|l| l.strip_prefix("Build Cache|"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 2, "{df}");
    env.ok(&["builder", "prune", "-f"]);
    assert_eq!(cache_mounts(&env), 0);
    std::fs::write(ctx.join("src.txt"), "three\n").unwrap();
    build_ok(&env, &["-t", "cm"], &ctx);
    assert_eq!(run_out(&env, &["cm", "cat", "/count"]), "1");
    assert_clean(&env);
}

#[test]
fn bind_and_tmpfs_mounts_show_files_without_keeping_them() {
    let env = required_env();
    env.image("bb", &[]);
    let dockerfile = "FROM bb AS tools\nRUN echo tool-v1 > /tool\n\
        FROM bb\n\
        RUN --mount=type=bind,source=conf,target=/conf cat /conf/a > /from-context\n\
        RUN --mount=type=bind,from=tools,source=/tool,target=/t cat /t > /from-stage\n\
        RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/conf/a && cat /ctx/conf/a > /rw-saw\n\
        RUN --mount=type=bind,target=/ro sh -c 'echo x > /ro/new' 2> /ro-err; true\n\
        RUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'echo t > /scratch/f && grep -c \" /scratch tmpfs\" /proc/mounts' > /tmpfs-seen\n";
    let ctx = context(
        &env,
        "ctx",
        &[("conf/a", "alpha\n"), ("Dockerfile", dockerfile)],
    );
    build_ok(&env, &["-t", "bm"], &ctx);
    let got = run_out(
        &env,
        &[
            "bm",
            "sh",
            "-c",
            "cat /from-context /from-stage /rw-saw /ro-err /tmpfs-seen; ls -d /conf /t /ctx /ro /scratch 2>/dev/null | wc -l",
        ],
    );
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[..4], ["alpha", "tool-v1", "scribble", lines[3]]);
    assert!(lines[3].contains("Read-only file system"), "{got}");
    assert_eq!(lines[4..], ["1", "0"], "{got}");
    // rw was a throwaway: the context is unchanged.
    assert_eq!(
        std::fs::read_to_string(ctx.join("conf/a")).unwrap(),
        "alpha\n"
    );
    // The files a bind shows are part of the step's cache key.
    std::fs::write(ctx.join("conf/a"), "beta\n").unwrap();
    let progress = build_ok(&env, &["-t", "bm"], &ctx);
    assert_eq!(run_out(&env, &["bm", "cat", "/from-context"]), "beta");
    assert!(progress.contains("CACHED"), "{progress}");
    assert_clean(&env);
}

#[test]
fn a_secret_reaches_the_step_and_no_layer_or_cache() {
    let env = required_env();
    env.image("bb", &[]);
    let secret = format!("s3cr3t-{}-bytes", std::process::id());
    let secret_file = env.root.parent().unwrap().join("token.txt");
    std::fs::write(&secret_file, &secret).unwrap();
    let dockerfile = "FROM bb\n\
        RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /file-len && busybox stat -c '%a %u' /run/secrets/tok > /file-perm\n\
        RUN --mount=type=secret,id=tok,env=TOK,target=/etc/tok,mode=0440,uid=1000 test \"$TOK\" = \"$(cat /etc/tok)\" && echo ${#TOK} > /env-len && busybox stat -c '%a %u' /etc/tok > /perm2\n\
        RUN --mount=type=secret,id=absent true\n";
    let ctx = context(&env, "ctx", &[("Dockerfile", dockerfile)]);
    let src = format!("id=tok,src={}", secret_file.display());
    let progress = build_ok(&env, &["-t", "sec", "--secret", &src], &ctx);
    assert_eq!(
        run_out(
            &env,
            &[
                "sec",
                "sh",
                "-c",
                "cat /file-len /file-perm /env-len /perm2; ls /run /etc/tok 2>&1 | head -1; true"
            ]
        ),
        format!(
            "{0}\n400 0\n{0}\n440 1000\nls: /run: No such file or directory",
            secret.len()
        )
    );
    assert!(!progress.contains(&secret), "{progress}");
    // Neither a layer, the image configs (history), the build cache nor the state database
    // holds the secret's bytes.
    let found = files_containing(&env.root, secret.as_bytes());
    assert!(found.is_empty(), "the secret is stored in {found:?}");
    let history = env.ok(&["history", "--no-trunc", "sec"]);
    assert!(!history.contains(&secret), "{history}");
    // Another secret value does not change the cache key: the steps are cached.
    std::fs::write(&secret_file, "another-value").unwrap();
    let again = build_ok(&env, &["-t", "sec", "--secret", &src], &ctx);
    assert_eq!(again.matches("CACHED").count(), 3, "{again}");
    assert_clean(&env);
}

#[test]
fn an_ssh_agent_socket_is_forwarded() {
    let env = required_env();
    env.image("bb", &[]);
    let socket = env.root.parent().unwrap().join("agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let dockerfile = "FROM bb\n\
        RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /agent\n\
        RUN --mount=type=ssh,id=deploy,target=/deploy.sock,required test -S /deploy.sock && echo yes > /deploy\n";
    let ctx = context(&env, "ctx", &[("Dockerfile", dockerfile)]);
    let default = format!("default={}", socket.display());
    let deploy = format!("deploy={}", socket.display());
    build_ok(
        &env,
        &["-t", "ssh", "--ssh", &default, "--ssh", &deploy],
        &ctx,
    );
    assert_eq!(
        run_out(
            &env,
            &["ssh", "sh", "-c", "cat /agent /deploy; ls /run 2>&1; true"]
        ),
        "/run/buildkit/ssh_agent.0\nyes\nls: /run: No such file or directory"
    );
    // A required agent that was not forwarded: the line and the option.
    let r = build(&env, &["--no-cache", "--ssh", &default], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Dockerfile:3: RUN --mount=type=ssh,id=deploy"),
        "{}",
        r.stderr
    );
    assert_clean(&env);
}

#[test]
fn run_network_none_and_security_insecure_with_its_allow_flag() {
    let env = required_env();
    env.image("bb", &[]);
    let dockerfile = "FROM bb\n\
        RUN --network=none grep -c : /proc/net/dev > /ifaces\n\
        RUN --security=insecure grep CapEff /proc/self/status > /caps\n";
    let ctx = context(&env, "ctx", &[("Dockerfile", dockerfile)]);
    let r = build(&env, &["-t", "net"], &ctx);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Dockerfile:3: RUN --security=insecure")
            && r.stderr.contains("--allow security.insecure"),
        "{}",
        r.stderr
    );
    build_ok(&env, &["-t", "net", "--allow", "security.insecure"], &ctx);
    // Only the loopback interface without a network.
    assert_eq!(run_out(&env, &["net", "cat", "/ifaces"]), "1");
    // CAP_SYS_ADMIN (bit 21), which a step without --security=insecure lacks.
    let caps = run_out(&env, &["net", "cat", "/caps"]);
    let bits = u64::from_str_radix(caps.split_whitespace().last().unwrap(), 16).unwrap();
    assert!(bits & (1 << 21) != 0, "not privileged: {caps}");
    assert_clean(&env);
}

#[test]
fn bad_mount_options_name_the_line_and_leave_nothing() {
    let env = required_env();
    env.image("bb", &[]);
    let images_before = env.ok(&["images", "-a", "-q"]);
    let cases: &[(&str, &str)] = &[
        (
            "FROM bb\nRUN --mount=type=volume,target=/x true\n",
            "Dockerfile:2: RUN --mount=type=volume,target=/x: unsupported mount type \"volume\"",
        ),
        (
            "FROM bb\n\nRUN --mount=type=cache,target=/x,colour=red true\n",
            "Dockerfile:3: RUN --mount=type=cache,target=/x,colour=red: unknown mount option \"colour\"",
        ),
        (
            "FROM bb\nRUN --mount=type=cache,id=c,target=/a true\nRUN --mount=type=cache,id=c,target=/b,sharing=private true\n",
            "Dockerfile:3: RUN --mount=type=cache,id=c,target=/b,sharing=private: cache id \"c\" is used with sharing=private here and sharing=shared on line 2",
        ),
        (
            "FROM bb\nRUN --mount=type=secret,id=npm,required=true cat /run/secrets/npm\n",
            "Dockerfile:2: RUN --mount=type=secret,id=npm,required=true: secret npm is required but was not given",
        ),
        (
            "FROM bb\nRUN --mount=type=bind,source=nope,target=/n true\n",
            "Dockerfile:2: RUN --mount=type=bind,source=nope,target=/n: source \"nope\" not found in the build context",
        ),
    ];
    for (i, (dockerfile, expected)) in cases.iter().enumerate() {
        let ctx = context(&env, &format!("bad{i}"), &[("Dockerfile", dockerfile)]);
        let r = build(&env, &["-t", "bad"], &ctx);
        assert_eq!(r.code, 1, "{dockerfile}: {}", r.stderr);
        assert!(
            r.stderr.contains(expected),
            "wanted {expected:?} in:\n{}",
            r.stderr
        );
    }
    assert_eq!(env.ok(&["images", "-a", "-q"]), images_before);
    assert_eq!(cache_mounts(&env), 0);
    let df = env.ok(&["system", "df", "--format", "{{.Type}}|{{.TotalCount}}"]);
    assert!(df.contains("Build Cache|0"), "{df}");
    assert_clean(&env);
}

/// The content of `path` in `image`'s layers (the topmost layer that has it), read from
/// `berth save`: a scratch image for another platform cannot be run to look.
fn file_in_image(env: &Env, image: &str, path: &str) -> String {
    let dir = env.root.parent().unwrap().join(format!("saved-{image}"));
    std::fs::create_dir_all(&dir).unwrap();
    let tar = dir.join("image.tar");
    env.ok(&["save", "-o", tar.to_str().unwrap(), image]);
    let script = format!(
        "cd {0} && tar -xf image.tar && for f in blobs/sha256/*; do tar -xOf \"$f\" {path} 2>/dev/null; done",
        dir.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn platform_args_are_automatic_and_a_build_stage_runs_on_the_build_platform() {
    let env = required_env();
    env.image("bb", &[]);
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    let dockerfile = "ARG TARGETARCH\n\
        FROM --platform=$BUILDPLATFORM bb AS build\n\
        RUN echo \"early:${TARGETARCH:-unset}\" > /early\n\
        ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH\n\
        RUN echo \"$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM|$BUILDOS|$BUILDARCH\" > /p\n\
        FROM scratch\n\
        COPY --from=build /early /p /\n";
    let ctx = context(&env, "ctx", &[("Dockerfile", dockerfile)]);
    // For another architecture: the build stage runs here (BUILDPLATFORM), the result is
    // the other architecture's.
    let platform = format!("linux/{other}");
    build_ok(&env, &["-t", "cross", "--platform", &platform], &ctx);
    let arch = env.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}",
        "cross",
    ]);
    assert_eq!(arch.trim(), platform);
    assert_eq!(file_in_image(&env, "cross", "early"), "early:unset");
    assert_eq!(
        file_in_image(&env, "cross", "p"),
        format!("linux/{other}|linux|{other}||linux/{host}|linux|{host}")
    );
    // Without --platform both are the host's.
    build_ok(&env, &["-t", "native"], &ctx);
    assert_eq!(
        file_in_image(&env, "native", "p"),
        format!("linux/{host}|linux|{host}||linux/{host}|linux|{host}")
    );
    assert_clean(&env);
}

#[test]
fn a_foreign_platform_run_without_an_emulator_and_a_multi_platform_build_say_why() {
    let env = required_env();
    env.image("bb", &[]);
    let other = if std::env::consts::ARCH == "aarch64" {
        "amd64"
    } else {
        "arm64"
    };
    let qemu = if other == "arm64" {
        "aarch64"
    } else {
        "x86_64"
    };
    let registered = Path::new("/proc/sys/fs/binfmt_misc")
        .join(format!("qemu-{qemu}"))
        .exists();
    let ctx = context(
        &env,
        "ctx",
        &[
            ("a", "a\n"),
            ("Dockerfile", "FROM scratch\nCOPY a /a\nRUN true\n"),
        ],
    );
    let images_before = env.ok(&["images", "-a", "-q"]);
    let platform = format!("linux/{other}");
    let r = build(&env, &["--platform", &platform], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let wanted = format!("Dockerfile:3: RUN for platform linux/{other} needs an emulator");
    if registered {
        // An emulator exists here: the step runs, and fails only for scratch having no shell.
        assert!(!r.stderr.contains(&wanted), "{}", r.stderr);
    } else {
        assert!(
            r.stderr.contains(&wanted) && r.stderr.contains("qemu-user-static"),
            "{}",
            r.stderr
        );
    }
    let multi = format!(
        "linux/{},{platform}",
        if other == "arm64" { "amd64" } else { "arm64" }
    );
    let r = build(&env, &["--platform", &multi], &ctx);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("multi-platform"), "{}", r.stderr);
    let r = build(&env, &["--platform", "linux"], &ctx);
    assert!(
        r.code != 0 && r.stderr.contains("invalid platform"),
        "{}",
        r.stderr
    );
    if !registered {
        // Refused before any step ran: nothing stored.
        assert_eq!(env.ok(&["images", "-a", "-q"]), images_before);
    }
    assert_clean(&env);
}

/// Serves `body` for every GET on 127.0.0.1:<port> until the test ends; returns the port and
/// the count of requests served.
fn serve(body: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, served)
}

fn sha256_hex(data: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn add_checksum_copy_exclude_parents_chown_and_heredocs() {
    let env = required_env();
    env.image("bb", &[]);
    let body = "downloaded body\n";
    let (port, served) = serve(body);
    let sum = sha256_hex(body.as_bytes());
    let dockerfile = format!(
        "# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM bb\n\
         ADD --checksum=sha256:{sum} http://127.0.0.1:{port}/f.txt /dl/\n\
         COPY --exclude=*.md --exclude=skip src/ /src/\n\
         COPY --parents a/x.txt b/./c/y.txt /par/\n\
         COPY --chown=alice:staff --chmod=640 a/x.txt /owned-names\n\
         COPY --chown=1000:50 a/x.txt /owned-numbers\n\
         RUN <<A cat > /h1 && <<-B cat > /h2\nfirst\nA\n\tsecond\n\tB\n\
         COPY <<EOF /heredoc.txt\nfrom a heredoc\nEOF\n\
         RUN echo one `\n  two > /escaped\n"
    );
    let ctx = context(
        &env,
        "ctx",
        &[
            ("src/keep.txt", "keep\n"),
            ("src/README.md", "readme\n"),
            ("src/skip/x", "x\n"),
            ("a/x.txt", "ax\n"),
            ("b/c/y.txt", "by\n"),
            ("Dockerfile", &dockerfile),
        ],
    );
    build_ok(&env, &["-t", "files"], &ctx);
    let got = run_out(
        &env,
        &[
            "files",
            "sh",
            "-c",
            "cat /dl/f.txt; ls /src; cat /par/a/x.txt /par/c/y.txt; \
           busybox stat -c '%u:%g %a' /owned-names /owned-numbers; cat /h1 /h2 /heredoc.txt /escaped",
        ],
    );
    assert_eq!(
        got,
        "downloaded body\nkeep.txt\nax\nby\n1000:50 640\n1000:50 644\nfirst\nsecond\nfrom a heredoc\none two"
    );
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The checksum names the download's content: a rebuild is cached without fetching it.
    let again = build_ok(&env, &["-t", "files"], &ctx);
    assert!(again.contains("CACHED"), "{again}");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A checksum that does not match: the line, the option, nothing stored.
    let images_before = env.ok(&["images", "-a", "-q"]);
    let wrong = "0".repeat(64);
    let bad = context(
        &env,
        "bad",
        &[(
            "Dockerfile",
            &format!("FROM bb\nADD --checksum=sha256:{wrong} http://127.0.0.1:{port}/f.txt /f\n"),
        )],
    );
    let r = build(&env, &[], &bad);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "Dockerfile:2: ADD --checksum=sha256:{wrong}: http://127.0.0.1:{port}/f.txt has sha256:{sum}: checksum mismatch"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(env.ok(&["images", "-a", "-q"]), images_before);
    assert_clean(&env);
}

#[test]
fn copy_link_layers_are_rebased_onto_a_new_base_without_copying() {
    let env = required_env();
    env.image("bb", &[]);
    let base = context(
        &env,
        "base",
        &[("Dockerfile", "FROM bb\nRUN echo other > /other\n")],
    );
    build_ok(&env, &["-t", "bb2"], &base);
    let ctx = context(
        &env,
        "ctx",
        &[
            ("app/big.txt", "payload\n"),
            (
                "Dockerfile",
                "FROM bb\nWORKDIR /srv\nCOPY --link app/ ./app/\n",
            ),
        ],
    );
    build_ok(&env, &["-t", "linked1"], &ctx);
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb2\nWORKDIR /srv\nCOPY --link app/ ./app/\n",
    )
    .unwrap();
    let progress = build_ok(&env, &["-t", "linked2"], &ctx);
    assert!(
        progress.lines().any(|l| l.ends_with("CACHED")) && progress.contains("COPY --link"),
        "{progress}"
    );
    let top = |image: &str| {
        let layers = env.ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            image,
        ]);
        let layers: Vec<String> = serde_json::from_str(layers.trim()).unwrap();
        layers.last().unwrap().clone()
    };
    // The same layer on both bases.
    assert_eq!(top("linked1"), top("linked2"));
    assert_eq!(
        run_out(&env, &["linked2", "cat", "/srv/app/big.txt", "/other"]),
        "payload\nother"
    );
    assert_clean(&env);
}

#[test]
fn build_contexts_outputs_metadata_and_no_cache_filter() {
    let env = required_env();
    env.image("bb", &[]);
    let base = context(
        &env,
        "base",
        &[("Dockerfile", "FROM bb\nRUN echo from-image > /marker\n")],
    );
    build_ok(&env, &["-t", "special-base"], &base);
    let extra = context(&env, "extra", &[("data/e.txt", "extra\n")]);
    let dockerfile = "FROM bb AS prep\nRUN echo prep > /prep\n\
        FROM basectx\n\
        COPY --from=files data/e.txt /e.txt\n\
        COPY --from=prep /prep /prep\n\
        RUN --mount=type=bind,from=files,source=data,target=/d cat /d/e.txt > /mounted\n";
    let ctx = context(&env, "ctx", &[("Dockerfile", dockerfile)]);
    let out_dir = env.root.parent().unwrap().join("out");
    let out_tar = env.root.parent().unwrap().join("out.tar");
    let meta = env.root.parent().unwrap().join("meta.json");
    let files_ctx = format!("files={}", extra.display());
    let local = format!("type=local,dest={}", out_dir.display());
    let tar = format!("type=tar,dest={}", out_tar.display());
    let meta_arg = meta.to_string_lossy().into_owned();
    let args = [
        "-t",
        "ctxs",
        "--build-context",
        "basectx=docker-image://special-base",
        "--build-context",
        &files_ctx,
        "-o",
        &local,
        "--output",
        &tar,
        "--metadata-file",
        &meta_arg,
    ];
    build_ok(&env, &args, &ctx);
    for f in ["marker", "e.txt", "prep", "mounted"] {
        assert!(
            out_dir.join(f).is_file(),
            "{f} missing from the local output"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out_dir.join("mounted")).unwrap(),
        "extra\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("marker")).unwrap(),
        "from-image\n"
    );
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&out_tar)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.trim_start_matches("./"))
        .collect();
    assert!(
        names.contains(&"e.txt") && names.contains(&"bin/busybox"),
        "{listing}"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    let id = env.ok(&["image", "inspect", "--format", "{{.Id}}", "ctxs"]);
    assert_eq!(meta["containerimage.config.digest"], id.trim());
    assert!(
        meta["image.name"].as_str().unwrap().contains("ctxs"),
        "{meta}"
    );

    // A changed file of a directory context misses the cache; --no-cache-filter reruns a stage.
    std::fs::write(extra.join("data/e.txt"), "changed\n").unwrap();
    let progress = build_ok(&env, &args[..6], &ctx);
    assert_eq!(run_out(&env, &["ctxs", "cat", "/mounted"]), "changed");
    let prep_cached = |p: &str| {
        p.lines().any(|l| l.contains("[prep 2/2]")) && {
            let n = p
                .lines()
                .find(|l| l.contains("[prep 2/2]"))
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string();
            p.lines().any(|l| l == format!("{n} CACHED"))
        }
    };
    assert!(prep_cached(&progress), "{progress}");
    let progress = build_ok(
        &env,
        &[&args[..6], &["--no-cache-filter", "prep"]].concat(),
        &ctx,
    );
    assert!(!prep_cached(&progress), "{progress}");
    assert_clean(&env);
}
