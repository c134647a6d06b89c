//! Volumes and mounts with Docker's semantics: named and anonymous volumes, binds, tmpfs,
//! copy-up from the image, in-use protection, `rm -v`/`--rm`, `--volumes-from`, `volume
//! ls/inspect/prune`, safe destinations, and bad input. Through the `berth` binary, as root.
mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, required_env};

/// Imports a busybox image whose rootfs `extra` may add to (files at mount paths, symlinks).
fn image_with(env: &Env, name: &str, changes: &[&str], extra: impl FnOnce(&Path)) {
    let rootfs = env.root.parent().unwrap().join(format!("rootfs-{name}"));
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::copy(common::busybox().unwrap(), rootfs.join("bin/busybox")).unwrap();
    for cmd in [
        "sh", "cat", "ls", "echo", "touch", "mount", "grep", "stat", "readlink", "sleep", "rm",
        "mkdir", "true",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(cmd)).unwrap();
    }
    extra(&rootfs);
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["--numeric-owner", "-cf", "-", "."])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let mut args = vec!["import"];
    for c in changes {
        args.extend(["--change", c]);
    }
    args.extend(["-", name]);
    let r = env.with_stdin(&args, &tar.stdout);
    assert_eq!(r.code, 0, "import failed: {}", r.stderr);
    std::fs::remove_dir_all(&rootfs).unwrap();
}

fn volume_names(env: &Env) -> Vec<String> {
    env.ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn mountpoint(env: &Env, name: &str) -> PathBuf {
    env.root.join("volumes").join(name).join("_data")
}

/// A host directory of the test's own, removed with the test's temp dir.
fn host_dir(env: &Env, name: &str) -> PathBuf {
    env.root.parent().unwrap().join(name)
}

#[test]
fn named_volume_carries_data_between_containers() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    env.ok(&["volume", "create", "--label", "team=a", "shared"]);
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/data",
        "bb",
        "sh",
        "-c",
        "echo hello > /data/msg",
    ]);
    assert_eq!(
        env.ok(&["run", "--rm", "-v", "shared:/srv", "bb", "cat", "/srv/msg"]),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(mountpoint(&env, "shared").join("msg")).unwrap(),
        "hello\n"
    );
    // --mount reaches the same volume.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--mount",
            "source=shared,target=/m",
            "bb",
            "cat",
            "/m/msg"
        ]),
        "hello\n"
    );
    // `run -v NEW:` makes the volume, as Docker does.
    env.ok(&["run", "--rm", "-v", "made-by-run:/x", "bb", "true"]);
    assert_eq!(volume_names(&env), ["made-by-run", "shared"]);
}

#[test]
fn volume_ls_inspect_and_filters() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    env.ok(&[
        "volume", "create", "--label", "team=a", "--label", "tier", "alpha",
    ]);
    env.ok(&["volume", "create", "beta"]);
    let random = env.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(random.len(), 64, "{random}");
    assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
    // Creating an existing name returns it.
    assert_eq!(env.ok(&["volume", "create", "alpha"]), "alpha\n");

    let table = env.ok(&["volume", "ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["local", "alpha"]),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert_eq!(
        env.ok(&["volume", "ls", "-q", "--filter", "label=team=a"]),
        "alpha\n"
    );
    assert_eq!(
        env.ok(&["volume", "ls", "-q", "--filter", "label=tier"]),
        "alpha\n"
    );
    assert_eq!(
        env.ok(&["volume", "ls", "-q", "--filter", "name=bet"]),
        "beta\n"
    );
    assert_eq!(
        env.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}}:{{.Driver}}",
            "--filter",
            "name=alpha"
        ]),
        "alpha:local\n"
    );

    env.ok(&["create", "--name", "user", "-v", "beta:/b", "bb", "true"]);
    let dangling = env.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert!(
        dangling.contains("alpha") && !dangling.contains("beta"),
        "{dangling}"
    );
    assert_eq!(
        env.ok(&["volume", "ls", "-q", "--filter", "dangling=false"]),
        "beta\n"
    );
    let bad = env.berth(&["volume", "ls", "--filter", "colour=red"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("invalid filter 'colour'"),
        "{}",
        bad.stderr
    );

    let doc: serde_json::Value =
        serde_json::from_str(&env.ok(&["volume", "inspect", "alpha"])).unwrap();
    let v = &doc[0];
    assert_eq!(v["Name"], "alpha");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["team"], "a");
    assert_eq!(v["Labels"]["tier"], "");
    assert_eq!(v["Mountpoint"], mountpoint(&env, "alpha").to_str().unwrap());
    assert!(mountpoint(&env, "alpha").is_dir());
    assert!(
        chrono_like(v["CreatedAt"].as_str().unwrap()),
        "{}",
        v["CreatedAt"]
    );
    assert_eq!(
        env.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "beta"]),
        "beta local\n"
    );
    // Docker shows no labels as null, and an untyped inspect finds volumes too.
    let beta: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "beta"])).unwrap();
    assert_eq!(beta[0]["Labels"], serde_json::Value::Null);
    assert_eq!(
        beta[0]["Mountpoint"],
        mountpoint(&env, "beta").to_str().unwrap()
    );
    let missing = env.berth(&["volume", "inspect", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("get nope: no such volume"),
        "{}",
        missing.stderr
    );

    let bad_name = env.berth(&["volume", "create", "bad/name"]);
    assert_eq!(bad_name.code, 1);
    assert!(
        bad_name
            .stderr
            .contains("includes invalid characters for a local volume name"),
        "{}",
        bad_name.stderr
    );
    let bad_driver = env.berth(&["volume", "create", "-d", "nfs", "x1"]);
    assert_ne!(bad_driver.code, 0);
    assert!(
        bad_driver.stderr.contains("plugin \"nfs\" not found"),
        "{}",
        bad_driver.stderr
    );
    assert!(!volume_names(&env).contains(&"x1".to_string()));
}

/// "2026-12-04T13:50:00Z"-like.
fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}

#[test]
fn volume_options_mount_a_tmpfs() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    env.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "ramvol",
    ]);
    let doc: serde_json::Value =
        serde_json::from_str(&env.ok(&["volume", "inspect", "ramvol"])).unwrap();
    assert_eq!(doc[0]["Options"]["type"], "tmpfs");
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "ramvol:/r",
        "bb",
        "sh",
        "-c",
        "echo kept > /r/f; mount | grep ' /r '",
    ]);
    assert!(out.contains("tmpfs") && out.contains("size=2048k"), "{out}");
    // As Docker's local driver: unmounted when its last user stops, so a tmpfs volume starts
    // empty again; shared while two containers use it.
    assert!(
        !env.mounts().iter().any(|m| m.contains("ramvol")),
        "{:?}",
        env.mounts()
    );
    let r = env.berth(&["run", "--rm", "-v", "ramvol:/r", "bb", "cat", "/r/f"]);
    assert_ne!(r.code, 0, "the tmpfs outlived its users: {}", r.stdout);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-v",
        "ramvol:/r",
        "bb",
        "sh",
        "-c",
        "echo held > /r/f; sleep 60",
    ]);
    common::wait_for(
        || {
            env.berth(&["run", "--rm", "-v", "ramvol:/r", "bb", "cat", "/r/f"])
                .stdout
                == "held\n"
        },
        "the second user to see the first one's file",
    );
    let r = env.berth(&["volume", "rm", "ramvol"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    env.ok(&["rm", "-f", "holder"]);
    assert!(
        !env.mounts().iter().any(|m| m.contains("ramvol")),
        "{:?}",
        env.mounts()
    );
    env.ok(&["volume", "rm", "ramvol"]);
    assert!(
        !env.mounts().iter().any(|m| m.contains("ramvol")),
        "{:?}",
        env.mounts()
    );
    // The local driver's bind form: type=none, o=bind, device=/host/dir.
    let host = host_dir(&env, "bound-volume");
    std::fs::create_dir_all(&host).unwrap();
    let device = format!("device={}", host.display());
    env.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        &device,
        "hostvol",
    ]);
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "hostvol:/h",
        "bb",
        "sh",
        "-c",
        "echo through > /h/f",
    ]);
    assert_eq!(
        std::fs::read_to_string(host.join("f")).unwrap(),
        "through\n"
    );
    // Copy-up lands in the bound directory too.
    std::fs::remove_file(host.join("f")).unwrap();
    image_with(&env, "seeded", &[], |root| {
        std::fs::create_dir_all(root.join("seed")).unwrap();
        std::fs::write(root.join("seed/s"), "s\n").unwrap();
    });
    env.ok(&["run", "--rm", "-v", "hostvol:/seed", "seeded", "true"]);
    assert_eq!(std::fs::read_to_string(host.join("s")).unwrap(), "s\n");
    std::fs::write(host.join("f"), "through\n").unwrap();
    env.ok(&["volume", "rm", "hostvol"]);
    assert!(
        host.join("f").is_file(),
        "removing the volume must not delete the bound host dir's content"
    );
    let bad = env.berth(&["volume", "create", "-o", "colour=red", "v2"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("invalid option key: \"colour\""),
        "{}",
        bad.stderr
    );
}

#[test]
fn readonly_mounts_reject_writes() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    for args in [
        vec!["-v", "ro1:/data:ro"],
        vec!["--mount", "type=volume,source=ro1,target=/data,readonly"],
        vec!["--mount", "type=bind,source=/tmp,target=/data,ro=true"],
    ] {
        let mut full = vec!["run", "--rm"];
        full.extend(args.iter().copied());
        full.extend(["bb", "sh", "-c", "echo x > /data/f"]);
        let r = env.berth(&full);
        assert_ne!(r.code, 0, "{args:?} allowed a write");
        assert!(
            r.stderr.contains("Read-only file system"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // The same volume read-write in the next container.
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "ro1:/data",
        "bb",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&{
        env.ok(&[
            "create",
            "--name",
            "reader",
            "-v",
            "ro1:/data:ro",
            "bb",
            "true",
        ]);
        env.ok(&["inspect", "reader"])
    })
    .unwrap();
    let m = &doc[0]["Mounts"][0];
    assert_eq!(
        (
            m["Type"].as_str(),
            m["Name"].as_str(),
            m["RW"].as_bool(),
            m["Mode"].as_str()
        ),
        (Some("volume"), Some("ro1"), Some(false), Some("ro"))
    );
}

#[test]
fn bind_mounts_work_both_ways_and_v_creates_the_source() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    // A relative `-v` source (./dir) is taken from the current directory, as Docker's CLI does.
    let base = host_dir(&env, "");
    let mut cmd = env.cmd(&[
        "run",
        "--rm",
        "-v",
        "./relative-src:/rel",
        "bb",
        "touch",
        "/rel/made",
    ]);
    cmd.current_dir(&base);
    let r = common::output_within(cmd, common::COMMAND_DEADLINE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(base.join("relative-src/made").is_file());
    let host = host_dir(&env, "shared-host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("from-host"), "host says hi\n").unwrap();
    let spec = format!("{}:/h", host.display());
    assert_eq!(
        env.ok(&["run", "--rm", "-v", &spec, "bb", "cat", "/h/from-host"]),
        "host says hi\n"
    );
    env.ok(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "bb",
        "sh",
        "-c",
        "echo container says hi > /h/from-container",
    ]);
    assert_eq!(
        std::fs::read_to_string(host.join("from-container")).unwrap(),
        "container says hi\n"
    );

    // A file bind lands on a file mount point.
    let file_spec = format!("{}:/etc/greeting:ro", host.join("from-host").display());
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            &file_spec,
            "bb",
            "cat",
            "/etc/greeting"
        ]),
        "host says hi\n"
    );

    // -v makes a missing source directory, as Docker's -v does.
    let missing = host_dir(&env, "made/by/v");
    let spec = format!("{}:/made", missing.display());
    env.ok(&["run", "--rm", "-v", &spec, "bb", "touch", "/made/f"]);
    assert!(missing.join("f").is_file());

    // Propagation: rprivate by default, rshared when asked (the mount joins a peer group).
    let grep_mount = "grep ' /h ' /proc/self/mountinfo";
    let private = env.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/h", host.display()),
        "bb",
        "sh",
        "-c",
        grep_mount,
    ]);
    assert!(!private.contains("shared:"), "{private}");
    let mount = format!(
        "type=bind,source={},target=/h,bind-propagation=rshared",
        host.display()
    );
    let shared = env.ok(&[
        "run", "--rm", "--mount", &mount, "bb", "sh", "-c", grep_mount,
    ]);
    assert!(shared.contains("shared:"), "{shared}");

    // inspect shows the bind as Docker does.
    let spec = format!("{}:/h:ro,rshared", host.display());
    env.ok(&["create", "--name", "binder", "-v", &spec, "bb", "true"]);
    let doc: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "binder"])).unwrap();
    let m = &doc[0]["Mounts"][0];
    assert_eq!(m["Type"], "bind");
    assert_eq!(m["Source"], host.to_str().unwrap());
    assert_eq!(m["Destination"], "/h");
    assert_eq!(m["RW"], false);
    assert_eq!(m["Propagation"], "rshared");
    assert_eq!(doc[0]["HostConfig"]["Binds"][0], spec.as_str());
}

#[test]
fn bad_mount_input_is_refused_with_nothing_created() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    let missing = host_dir(&env, "no-such-dir");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--mount".into(), format!("type=bind,source={},target=/x", missing.display())],
            format!("invalid mount config for type \"bind\": bind source path does not exist: {}", missing.display()),
        ),
        (
            vec!["--mount".into(), "type=bind,source=relative/dir,target=/x".into()],
            "invalid mount config for type \"bind\": invalid mount path: 'relative/dir' mount path must be absolute".into(),
        ),
        (
            vec!["--mount".into(), "type=bind,source=/tmp,target=/x,colour=red".into()],
            "unexpected key 'colour' in 'colour=red'".into(),
        ),
        (vec!["--mount".into(), "type=volume,source=v9".into()], "field Target must not be empty".into()),
        (vec!["-v".into(), "v9::/x".into()], "invalid volume specification: 'v9::/x'".into()),
        (vec!["-v".into(), ":/x".into()], "invalid volume specification: ':/x'".into()),
        (vec!["-v".into(), "v9:/x:".into()], "invalid volume specification: 'v9:/x:'".into()),
        (vec!["-v".into(), "v9:relative".into()], "'relative' mount path must be absolute".into()),
        (vec!["-v".into(), "v9:/x:sideways".into()], "invalid mode: sideways".into()),
        (vec!["-v".into(), "v9:/x".into(), "-v".into(), "v8:/x".into()], "Duplicate mount point: /x".into()),
        (vec!["--volumes-from".into(), "ghost".into()], "No such container: ghost".into()),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend(flags.iter().map(String::as_str));
        args.extend(["bb", "true"]);
        let r = env.berth(&args);
        assert_eq!(r.code, 125, "{flags:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&expected),
            "{flags:?}: expected {expected:?} in {:?}",
            r.stderr
        );
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{flags:?}: one line: {:?}",
            r.stderr
        );
    }
    assert!(!missing.exists(), "--mount must not create the bind source");
    assert!(
        env.container_ids().is_empty(),
        "a container was created: {:?}",
        env.container_ids()
    );
    assert!(
        volume_names(&env).is_empty(),
        "a volume was created: {:?}",
        volume_names(&env)
    );
    assert!(
        std::fs::read_dir(env.root.join("volumes"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn empty_volume_is_filled_from_the_image_once_and_nocopy_keeps_it_empty() {
    let env = required_env();
    image_with(&env, "seeded", &[], |root| {
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/hello"), "from the image\n").unwrap();
        std::fs::write(root.join("data/sub/secret"), "s\n").unwrap();
        std::fs::set_permissions(
            root.join("data/sub/secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        std::os::unix::fs::lchown(root.join("data/sub/secret"), Some(1000), Some(1000)).unwrap();
        std::os::unix::fs::symlink("hello", root.join("data/link")).unwrap();
        std::fs::set_permissions(root.join("data"), std::fs::Permissions::from_mode(0o750))
            .unwrap();
    });
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "seeded:/data",
            "seeded",
            "cat",
            "/data/hello"
        ]),
        "from the image\n"
    );
    let data = mountpoint(&env, "seeded");
    assert_eq!(
        std::fs::read_to_string(data.join("hello")).unwrap(),
        "from the image\n"
    );
    let secret = std::fs::metadata(data.join("sub/secret")).unwrap();
    assert_eq!(
        (secret.uid(), secret.gid(), secret.mode() & 0o777),
        (1000, 1000, 0o600)
    );
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("hello")
    );
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o750);

    // Once: a file deleted from the volume stays deleted (the volume is no longer empty).
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "seeded:/data",
        "seeded",
        "rm",
        "/data/hello",
    ]);
    let r = env.berth(&[
        "run",
        "--rm",
        "-v",
        "seeded:/data",
        "seeded",
        "cat",
        "/data/hello",
    ]);
    assert_ne!(r.code, 0, "the image's file came back: {}", r.stdout);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "seeded:/data",
            "seeded",
            "cat",
            "/data/sub/secret"
        ]),
        "s\n"
    );

    // An image file where a volume would go is refused at create, with nothing left behind.
    let r = env.berth(&["create", "-v", "onfile:/data/hello", "seeded", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot mount volume over existing file"),
        "{}",
        r.stderr
    );
    assert!(
        !volume_names(&env).contains(&"onfile".to_string()),
        "the volume made for the failed create must go"
    );
    assert!(env.container_ids().is_empty());

    // Once per container: a restart after the volume was emptied keeps it empty.
    env.ok(&[
        "create",
        "--name",
        "restarter",
        "-v",
        "again:/data",
        "seeded",
        "true",
    ]);
    // As Docker: the copy is made when the container is created.
    assert!(mountpoint(&env, "again").join("hello").is_file());
    env.ok(&["start", "-a", "restarter"]);
    for entry in std::fs::read_dir(mountpoint(&env, "again")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    env.ok(&["start", "-a", "restarter"]);
    assert_eq!(
        std::fs::read_dir(mountpoint(&env, "again"))
            .unwrap()
            .count(),
        0
    );

    // nocopy, both spellings: the new volume stays empty.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "bare:/data:nocopy",
            "seeded",
            "ls",
            "-A",
            "/data"
        ]),
        ""
    );
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--mount",
            "source=bare2,target=/data,volume-nocopy",
            "seeded",
            "ls",
            "-A",
            "/data"
        ]),
        ""
    );
    assert_eq!(
        std::fs::read_dir(mountpoint(&env, "bare")).unwrap().count(),
        0
    );
    // A bind mount never copies.
    let host = host_dir(&env, "empty-bind");
    std::fs::create_dir_all(&host).unwrap();
    env.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data", host.display()),
        "seeded",
        "true",
    ]);
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);
}

#[test]
fn a_volume_in_use_cannot_be_removed() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    let id = env
        .ok(&["create", "-v", "busy:/data", "bb", "true"])
        .trim()
        .to_string();
    for args in [["volume", "rm", "busy"], ["volume", "rm", "-f"]] {
        let mut full = args.to_vec();
        if args[2] == "-f" {
            full.push("busy");
        }
        let r = env.berth(&full);
        assert_eq!(r.code, 1, "{full:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim(),
            format!("Error response from daemon: remove busy: volume is in use - [{id}]")
        );
    }
    assert!(mountpoint(&env, "busy").is_dir());
    // Running, too.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "runner",
        "-v",
        "busy:/data",
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(env.berth(&["volume", "rm", "busy"]).code, 1);
    assert_eq!(
        env.ok(&["ps", "-q", "--no-trunc", "--filter", "volume=busy"])
            .lines()
            .count(),
        1
    );
    assert_eq!(
        env.ok(&["ps", "-aq", "--filter", "volume=busy"])
            .lines()
            .count(),
        2
    );
    assert_eq!(
        env.ok(&["ps", "-aq", "--filter", "volume=/data"])
            .lines()
            .count(),
        2
    );
    assert_eq!(env.ok(&["ps", "-aq", "--filter", "volume=other"]), "");
    env.ok(&["rm", "-f", "runner", &id]);
    assert_eq!(env.ok(&["volume", "rm", "busy"]), "busy\n");
    assert!(!env.root.join("volumes/busy").exists());
    let r = env.berth(&["volume", "rm", "busy"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("get busy: no such volume"),
        "{}",
        r.stderr
    );
    assert_eq!(env.berth(&["volume", "rm", "-f", "busy"]).code, 0);
}

#[test]
fn rm_v_and_run_rm_remove_anonymous_volumes_only() {
    let env = required_env();
    image_with(&env, "withvol", &["VOLUME /data"], |root| {
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/seed"), "seed\n").unwrap();
    });
    // The image's VOLUME gets an anonymous volume, filled from the image.
    let id = env
        .ok(&[
            "create",
            "-v",
            "keepme:/named",
            "-v",
            "/scratch",
            "withvol",
            "true",
        ])
        .trim()
        .to_string();
    let doc: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", &id])).unwrap();
    let mounts = doc[0]["Mounts"].as_array().unwrap().clone();
    assert_eq!(mounts.len(), 3, "{mounts:?}");
    let anon: Vec<String> = mounts
        .iter()
        .filter(|m| m["Name"].as_str().is_some_and(|n| n.len() == 64))
        .map(|m| m["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(anon.len(), 2, "{mounts:?}");
    let labels = env.ok(&["volume", "inspect", "-f", "{{json .Labels}}", &anon[0]]);
    assert!(labels.contains("com.docker.volume.anonymous"), "{labels}");
    env.ok(&["start", "-a", &id]);
    let data_vol = mounts.iter().find(|m| m["Destination"] == "/data").unwrap()["Name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(mountpoint(&env, &data_vol).join("seed")).unwrap(),
        "seed\n"
    );
    env.ok(&["rm", "-v", &id]);
    let left = volume_names(&env);
    assert_eq!(
        left,
        ["keepme"],
        "rm -v must remove the anonymous volumes and keep the named one"
    );
    for name in &anon {
        assert!(!env.root.join("volumes").join(name).exists());
    }

    // run --rm removes its anonymous volumes too.
    env.ok(&["run", "--rm", "-v", "keepme:/named", "withvol", "true"]);
    assert_eq!(volume_names(&env), ["keepme"]);
    // ... also when it is removed by force while running.
    let id = env
        .ok(&["run", "-d", "--rm", "withvol", "sleep", "60"])
        .trim()
        .to_string();
    assert_eq!(volume_names(&env).len(), 2);
    env.ok(&["rm", "-f", &id]);
    assert_eq!(volume_names(&env), ["keepme"]);

    // Plain rm keeps them (dangling); prune removes anonymous ones, -a the named too.
    let id = env.ok(&["create", "withvol", "true"]).trim().to_string();
    env.ok(&["rm", &id]);
    let names = volume_names(&env);
    assert_eq!(names.len(), 2, "{names:?}");
    let dangling = names.iter().find(|n| *n != "keepme").unwrap().clone();
    // Without -f, prune asks; no answer means no.
    env.ok(&["volume", "prune"]);
    assert_eq!(volume_names(&env).len(), 2);
    let out = env.ok(&["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert!(out.contains(&dangling), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(volume_names(&env), ["keepme"]);
    // A used volume survives prune -a.
    env.ok(&[
        "create",
        "--name",
        "user",
        "-v",
        "keepme:/k",
        "withvol",
        "true",
    ]);
    env.ok(&["volume", "create", "unused"]);
    let out = env.ok(&["volume", "prune", "-af"]);
    assert!(out.contains("unused") && !out.contains("keepme"), "{out}");
    assert!(volume_names(&env).contains(&"keepme".to_string()));
}

#[test]
fn volumes_from_shares_another_containers_mounts() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    let host = host_dir(&env, "vf-bind");
    std::fs::create_dir_all(&host).unwrap();
    env.ok(&[
        "create",
        "--name",
        "source",
        "-v",
        "vf:/data",
        "-v",
        &format!("{}:/bind", host.display()),
        "-v",
        "/anon",
        "bb",
        "true",
    ]);
    env.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "source",
        "bb",
        "sh",
        "-c",
        "echo a > /data/a; echo b > /bind/b; echo c > /anon/c",
    ]);
    assert_eq!(
        std::fs::read_to_string(mountpoint(&env, "vf").join("a")).unwrap(),
        "a\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("b")).unwrap(), "b\n");
    let r = env.berth(&[
        "run",
        "--rm",
        "--volumes-from",
        "source:ro",
        "bb",
        "sh",
        "-c",
        "echo x > /data/x",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    // The --rm container above did not take the source's anonymous volume with it.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "source",
            "bb",
            "cat",
            "/anon/c"
        ]),
        "c\n"
    );
    assert_eq!(volume_names(&env).len(), 2);
}

#[test]
fn symlinked_destination_stays_inside_the_rootfs() {
    let env = required_env();
    // An absolute host path, which the image links to: following it on the host would mount
    // over (and write into) the host's directory.
    let host_target = host_dir(&env, "host-side");
    std::fs::create_dir_all(&host_target).unwrap();
    let target = host_target.clone();
    image_with(&env, "tricky", &[], move |root| {
        std::os::unix::fs::symlink(&target, root.join("data")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", root.join("up")).unwrap();
    });
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "sym:/data",
        "tricky",
        "sh",
        "-c",
        "echo inside > /data/f",
    ]);
    assert_eq!(
        std::fs::read_dir(&host_target).unwrap().count(),
        0,
        "the mount escaped to the host directory"
    );
    assert_eq!(
        std::fs::read_to_string(mountpoint(&env, "sym").join("f")).unwrap(),
        "inside\n"
    );
    // Through the link inside the container, the volume is where /data points.
    let seen = env.ok(&[
        "run",
        "--rm",
        "-v",
        "sym:/data",
        "tricky",
        "cat",
        &format!("{}/f", host_target.display()),
    ]);
    assert_eq!(seen, "inside\n");
    // `..` links clamp at the container's root.
    let host = host_dir(&env, "bind-src");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("marker"), "m\n").unwrap();
    env.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/up/etc/escaped", host.display()),
        "tricky",
        "cat",
        "/etc/escaped/marker",
    ]);
    assert!(
        !Path::new("/etc/escaped").exists(),
        "a mount point was made in the host's /etc"
    );
}

#[test]
fn tmpfs_through_mount() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    let out = env.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1770",
        "bb",
        "sh",
        "-c",
        "mount | grep ' /scratch '; stat -c %a /scratch",
    ]);
    assert!(out.contains("tmpfs on /scratch type tmpfs"), "{out}");
    assert!(out.contains("size=1024k"), "{out}");
    assert!(out.trim_end().ends_with("1770"), "{out}");
    env.ok(&[
        "create",
        "--name",
        "tmpfser",
        "--mount",
        "type=tmpfs,destination=/scratch",
        "bb",
        "true",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "tmpfser"])).unwrap();
    assert_eq!(doc[0]["Mounts"][0]["Type"], "tmpfs");
    assert_eq!(doc[0]["Mounts"][0]["Destination"], "/scratch");
    assert_eq!(doc[0]["HostConfig"]["Mounts"][0]["Type"], "tmpfs");
    let r = env.berth(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,source=/x,target=/t",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("field Source must be empty"),
        "{}",
        r.stderr
    );
    assert!(volume_names(&env).is_empty());
}

#[test]
fn records_and_directories_are_repaired() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    env.ok(&["volume", "create", "lost-dir"]);
    // A record whose directory vanished (a crash, a hand-made mess): the next command remakes it.
    std::fs::remove_dir_all(env.root.join("volumes/lost-dir")).unwrap();
    assert_eq!(volume_names(&env), ["lost-dir"]);
    assert!(mountpoint(&env, "lost-dir").is_dir());
    env.ok(&["run", "--rm", "-v", "lost-dir:/d", "bb", "touch", "/d/ok"]);
    // A directory without a record (killed between the dir and the record), once it is old
    // enough not to be a create in progress: adopted as a volume.
    let orphan = env.root.join("volumes/orphan/_data");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("kept"), "k").unwrap();
    assert_eq!(
        volume_names(&env),
        ["lost-dir"],
        "a fresh orphan must be left to its creator"
    );
    let old = Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(env.root.join("volumes/orphan"))
        .status()
        .unwrap();
    assert!(old.success());
    assert_eq!(volume_names(&env), ["lost-dir", "orphan"]);
    assert!(orphan.join("kept").is_file());
    // Leftovers of an interrupted removal are cleaned.
    let trash = env.root.join("volumes/.trash-abc/_data");
    std::fs::create_dir_all(&trash).unwrap();
    env.ok(&["volume", "ls"]);
    assert!(!env.root.join("volumes/.trash-abc").exists());
}

/// The pid of the `berth shim` process serving container `id`.
fn shim_pid(id: &str) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.len() >= 3 && args[1] == b"shim" && args[2] == id.as_bytes() {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_killed_rm_containers_anonymous_volume_is_not_leaked() {
    let env = required_env();
    image_with(&env, "withvol", &["VOLUME /data"], |_| {});
    let id = env
        .ok(&[
            "run",
            "-d",
            "--rm",
            "-v",
            "named-stays:/n",
            "withvol",
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    assert_eq!(volume_names(&env).len(), 2);
    let shim = shim_pid(&id).expect("the container's shim");
    // SAFETY: kill(2) on the shim process this test's container runs under.
    assert_eq!(unsafe { libc::kill(shim, libc::SIGKILL) }, 0);
    common::wait_for(
        || {
            !Path::new(&format!("/proc/{shim}")).exists()
                || std::fs::read_to_string(format!("/proc/{shim}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        },
        "the shim to die",
    );
    // The next command repairs: the --rm container goes, with its anonymous volume.
    assert_eq!(volume_names(&env), ["named-stays"]);
    assert!(env.container_ids().is_empty());
}

#[test]
fn concurrent_runs_share_one_new_volume() {
    let env = required_env();
    image_with(&env, "bb", &[], |_| {});
    let env = std::sync::Arc::new(env);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || {
                let line = format!("echo {i} >> /x/log");
                env.berth(&["run", "--rm", "-v", "together:/x", "bb", "sh", "-c", &line])
            })
        })
        .collect();
    for worker in workers {
        let r = worker.join().unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(volume_names(&env), ["together"]);
    let log = std::fs::read_to_string(mountpoint(&env, "together").join("log")).unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
    let leftovers: Vec<_> = std::fs::read_dir(env.root.join("volumes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
