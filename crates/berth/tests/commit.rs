//! `berth commit` and `berth export`: a container's changes become an image that runs, and its
//! whole filesystem becomes a tar that imports.
mod common;

use std::io::Read;

use common::required_env;

/// The paths in a tar archive.
fn tar_names(archive: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(archive);
    for entry in ar.entries().unwrap() {
        let entry = entry.unwrap();
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    names
}

#[test]
fn commit_keeps_the_containers_changes_and_settings_and_applies_changes() {
    let env = required_env();
    env.image("bb", &["CMD [\"sh\"]"]);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "c1",
        "-e",
        "FROM_RUN=yes",
        "-w",
        "/data",
        "bb",
        "sh",
        "-c",
        "mkdir -p /data && echo written > /data/x && rm /bin/wc",
    ]);
    let id = env.ok(&[
        "commit", "-c", "ENV A=1", "-m", "msg", "-a", "me", "c1", "bb2:v1",
    ]);
    let id = id.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(env.ok(&["images", "-q", "--no-trunc", "bb2:v1"]).trim(), id);

    let out = env.ok(&[
        "run", "--rm", "--network", "none", "--hostname", "fresh", "bb2:v1", "sh", "-c",
        "cat /data/x; ls /bin/wc 2>/dev/null || echo no-wc; echo A=$A $FROM_RUN; pwd; cat /etc/hostname",
    ]);
    assert_eq!(out, "written\nno-wc\nA=1 yes\n/data\nfresh\n");

    // The history entry carries the message; the config the container's command.
    let history = env.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.Comment}}|{{.CreatedBy}}",
        "bb2:v1",
    ]);
    let first = history.lines().next().unwrap();
    assert!(first.starts_with("msg|sh -c mkdir -p /data"), "{history}");
    let cmd = env.ok(&["inspect", "-f", "{{index .Config.Cmd 2}}", "bb2:v1"]);
    assert_eq!(
        cmd.trim(),
        "mkdir -p /data && echo written > /data/x && rm /bin/wc"
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.Author}}|{{.Comment}}", "bb2:v1"])
            .trim(),
        "me|msg"
    );
    let layers = env.ok(&["inspect", "-f", "{{len .RootFS.Layers}}", "bb2:v1"]);
    assert_eq!(layers.trim(), "2");
}

#[test]
fn commit_leaves_the_engines_files_out_of_the_layer() {
    let env = required_env();
    // An image without /etc: the engine makes one for /etc/hosts; it is not the container's.
    let dir = env.root.parent().unwrap().join("noetc");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(common::busybox().unwrap(), dir.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    let r = env.with_stdin(&["import", "-", "noetc"], &tar.stdout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "c1",
        "-v",
        "/vol",
        "noetc",
        "/bin/busybox",
        "sh",
        "-c",
        "echo v > /vol/f; echo k > /kept",
    ]);
    env.ok(&["commit", "c1", "committed"]);
    let archive = env.root.parent().unwrap().join("saved.tar");
    env.ok(&["save", "-o", archive.to_str().unwrap(), "committed"]);
    // The new layer is the last one in the docker-archive's manifest.
    let mut files = std::collections::BTreeMap::new();
    let mut ar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    for entry in ar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let layer = manifest[0]["Layers"].as_array().unwrap().last().unwrap();
    // GNU tar reads it compressed or not.
    let layer_file = env.root.parent().unwrap().join("layer");
    std::fs::write(&layer_file, &files[layer.as_str().unwrap()]).unwrap();
    let listed = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&layer_file)
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "kept\n");
}

#[test]
fn commit_refuses_bad_input_and_creates_nothing() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&["create", "--network", "none", "--name", "c1", "bb", "true"]);
    let before = env.ok(&["images", "-a", "-q", "--no-trunc"]);
    let r = env.berth(&["commit", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );
    let r = env.berth(&["commit", "-c", "ENV A=1", "-c", "BOGUS x", "c1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("BOGUS x"), "{}", r.stderr);
    let r = env.berth(&["commit", "c1", "Bad:Name"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("invalid reference format"),
        "{}",
        r.stderr
    );
    assert_eq!(env.ok(&["images", "-a", "-q", "--no-trunc"]), before);
    // A container that never ran commits too: the image's own files.
    let id = env.ok(&["commit", "c1"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
}

#[test]
fn commit_of_a_running_container_pauses_it_only_for_the_commit() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "live",
        "bb",
        "sh",
        "-c",
        "echo up > /up; exec sleep 600",
    ]);
    common::wait_for(
        || env.berth(&["exec", "live", "cat", "/up"]).stdout == "up\n",
        "the container's file",
    );
    env.ok(&["commit", "live", "live:1"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "live"])
            .trim(),
        "running"
    );
    env.ok(&["commit", "--pause=false", "live", "live:2"]);
    for image in ["live:1", "live:2"] {
        let out = env.ok(&["run", "--rm", "--network", "none", image, "cat", "/up"]);
        assert_eq!(out, "up\n");
    }
    // A paused container stays paused.
    env.ok(&["pause", "live"]);
    env.ok(&["commit", "live", "live:3"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "live"])
            .trim(),
        "paused"
    );
    env.ok(&["unpause", "live"]);
}

#[test]
fn export_writes_the_whole_filesystem_and_imports_back() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "c1",
        "-v",
        "/vol",
        "bb",
        "sh",
        "-c",
        "echo mine > /mine; echo in-volume > /vol/f; rm /bin/wc",
    ]);
    // `berth export c1 | tar t`
    let mut listing = std::process::Command::new("sh");
    listing
        .args(["-c", &format!("{} export c1 | tar t", common::berth_bin())])
        .env("BERTH_ROOT", &env.root)
        .env("BERTH_RUN", &env.run);
    let out = common::output_within(listing, common::COMMAND_DEADLINE);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: Vec<&str> = out.stdout.lines().collect();
    assert!(
        listed.contains(&"bin/busybox") && listed.contains(&"mine"),
        "{listed:?}"
    );
    let archive = env.root.parent().unwrap().join("c1.tar");
    env.ok(&["export", "-o", archive.to_str().unwrap(), "c1"]);
    let names = tar_names(&std::fs::read(&archive).unwrap());
    for want in [
        "bin/busybox",
        "bin/sh",
        "mine",
        "etc/passwd",
        "proc/",
        "sys/",
        "dev/",
        "vol/",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n == "bin/wc"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("vol/f")), "{names:?}");

    let r = env.with_stdin(
        &["import", "-", "reimported"],
        &std::fs::read(&archive).unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "reimported",
        "cat",
        "/mine",
    ]);
    assert_eq!(out, "mine\n");

    // A running container exports too; an unknown one is an error and no file.
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "live",
        "bb",
        "sleep",
        "600",
    ]);
    let live = env.root.parent().unwrap().join("live.tar");
    env.ok(&["export", "-o", live.to_str().unwrap(), "live"]);
    assert!(tar_names(&std::fs::read(&live).unwrap()).contains(&"bin/busybox".to_string()));
    let none = env.root.parent().unwrap().join("none.tar");
    let r = env.berth(&["export", "-o", none.to_str().unwrap(), "nosuch"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );
    assert!(!none.exists());
}
