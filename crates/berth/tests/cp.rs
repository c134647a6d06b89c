//! `berth cp`: files in and out of running and stopped containers, into volumes, and never
//! out of the container through `..` or symlinks.
mod common;

use std::path::Path;

use common::Env;

/// Removes every container of the test's state, even when the test failed half-way.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

fn scratch(env: &Env, name: &str) -> std::path::PathBuf {
    let dir = env.root.parent().unwrap().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cp_in_and_out_of_a_stopped_container() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&["create", "--name", "c1", "bb", "cat", "/tmp/hello.txt"]);
    let host = scratch(&env, "host");
    std::fs::write(host.join("hello.txt"), "hi from the host\n").unwrap();
    std::fs::create_dir_all(host.join("tree/sub")).unwrap();
    std::fs::write(host.join("tree/sub/leaf"), "leaf\n").unwrap();

    env.ok(&["cp", host.join("hello.txt").to_str().unwrap(), "c1:/tmp/"]);
    env.ok(&["cp", host.join("tree").to_str().unwrap(), "c1:/tmp"]);
    assert!(
        env.mounts().is_empty(),
        "cp left mounts: {:?}",
        env.mounts()
    );
    // The copied file is what the container sees when it runs.
    let out = env.ok(&["start", "-a", "c1"]);
    assert_eq!(out, "hi from the host\n");

    let back = scratch(&env, "back");
    env.ok(&["cp", "c1:/tmp/tree", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("tree/sub/leaf")).unwrap(),
        "leaf\n"
    );
    // Into an existing dir a dir nests; `/.` copies the contents.
    env.ok(&["cp", "c1:/tmp/tree/.", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("sub/leaf")).unwrap(),
        "leaf\n"
    );
    // A file to a new name.
    env.ok(&["cp", "c1:/etc/passwd", back.join("pw").to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(back.join("pw"))
            .unwrap()
            .contains("alice")
    );
    // A missing path is an error naming it.
    let r = env.berth(&["cp", "c1:/nope", back.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("/nope"), "{}", r.stderr);
}

#[test]
fn cp_in_and_out_of_a_running_container_and_tar_streams() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&["run", "-d", "--name", "r1", "bb", "sleep", "60"]);
    let host = scratch(&env, "host");
    std::fs::write(host.join("f"), "running\n").unwrap();
    env.ok(&["cp", host.join("f").to_str().unwrap(), "r1:/tmp/renamed"]);
    assert_eq!(env.ok(&["exec", "r1", "cat", "/tmp/renamed"]), "running\n");
    env.ok(&["exec", "r1", "sh", "-c", "echo made inside > /tmp/inside"]);
    let back = scratch(&env, "back");
    env.ok(&["cp", "r1:/tmp/inside", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("inside")).unwrap(),
        "made inside\n"
    );

    // `-` is a tar on stdout, and a tar on stdin.
    let out = env.cmd(&["cp", "r1:/tmp/inside", "-"]).output().unwrap();
    assert!(out.status.success());
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["inside".to_string()]);
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o640);
    tar.append_data(&mut header, "from-stdin", &b"tar\n"[..])
        .unwrap();
    let r = env.with_stdin(&["cp", "-", "r1:/tmp"], &tar.into_inner().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.ok(&["exec", "r1", "cat", "/tmp/from-stdin"]), "tar\n");
}

#[test]
fn paths_and_symlinks_never_leave_the_container() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&["run", "-d", "--name", "t1", "bb", "sleep", "60"]);
    env.ok(&[
        "exec",
        "t1",
        "sh",
        "-c",
        "ln -s / /rootlink && ln -s ../../.. /tmp/up && mkdir /tmp/d",
    ]);
    let marker = format!("berth-cp-escape-{}", std::process::id());
    let host = scratch(&env, "host");
    std::fs::write(host.join(&marker), "x\n").unwrap();
    let src = host.join(&marker);
    for dest in ["t1:/rootlink/etc/", "t1:/tmp/up/etc/", "t1:../../../etc/"] {
        env.ok(&["cp", src.to_str().unwrap(), dest]);
        assert!(
            !Path::new("/etc").join(&marker).exists(),
            "{dest} wrote to the host's /etc"
        );
        env.ok(&["exec", "t1", "rm", &format!("/etc/{marker}")]);
    }
    // Out of the container: the container's /etc/passwd, not the host's.
    let back = scratch(&env, "back");
    env.ok(&[
        "cp",
        "t1:/tmp/up/etc/passwd",
        back.join("pw").to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(back.join("pw"))
            .unwrap()
            .contains("alice:x:1000")
    );

    // A tar whose symlink entry points out, then a file through it: lands inside.
    let mut tar = tar::Builder::new(Vec::new());
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    tar.append_link(&mut link, "escape", "/").unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_size(2);
    file.set_mode(0o644);
    tar.append_data(&mut file, format!("escape/etc/{marker}"), &b"y\n"[..])
        .unwrap();
    let r = env.with_stdin(&["cp", "-", "t1:/tmp/d"], &tar.into_inner().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !Path::new("/etc").join(&marker).exists(),
        "a tar symlink wrote to the host's /etc"
    );
    assert_eq!(
        env.ok(&["exec", "t1", "cat", &format!("/etc/{marker}")]),
        "y\n"
    );
    // Hard link targets name paths of the archive (as Docker's): a link to "/etc/passwd"
    // is the extraction dir's etc/passwd, never the host's file.
    use std::os::unix::fs::MetadataExt;
    let host_links = std::fs::metadata("/etc/passwd").unwrap().nlink();
    let mut tar = tar::Builder::new(Vec::new());
    let mut hard = tar::Header::new_gnu();
    hard.set_entry_type(tar::EntryType::Link);
    hard.set_size(0);
    tar.append_link(&mut hard, "hl", "/etc/passwd").unwrap();
    let r = env.with_stdin(&["cp", "-", "t1:/tmp/d"], &tar.into_inner().unwrap());
    assert_ne!(r.code, 0, "a hard link to a missing archive path was made");
    assert!(r.stderr.contains("/tmp/d/hl"), "{}", r.stderr);
    assert_eq!(
        std::fs::metadata("/etc/passwd").unwrap().nlink(),
        host_links
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut file = tar::Header::new_gnu();
    file.set_size(2);
    file.set_mode(0o644);
    tar.append_data(&mut file, "a", &b"a\n"[..]).unwrap();
    let mut hard = tar::Header::new_gnu();
    hard.set_entry_type(tar::EntryType::Link);
    hard.set_size(0);
    tar.append_link(&mut hard, "b", "a").unwrap();
    let r = env.with_stdin(&["cp", "-", "t1:/tmp/d"], &tar.into_inner().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.ok(&["exec", "t1", "cat", "/tmp/d/b"]), "a\n");
}

#[test]
fn cp_into_a_volume_mounted_in_the_container() {
    let env = common::required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&[
        "create",
        "--name",
        "v1",
        "-v",
        "data:/data",
        "bb",
        "cat",
        "/data/f",
    ]);
    let host = scratch(&env, "host");
    std::fs::write(host.join("f"), "in the volume\n").unwrap();
    env.ok(&["cp", host.join("f").to_str().unwrap(), "v1:/data/"]);
    let mountpoint = env.ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "data"]);
    assert_eq!(
        std::fs::read_to_string(Path::new(mountpoint.trim()).join("f")).unwrap(),
        "in the volume\n"
    );
    assert_eq!(env.ok(&["start", "-a", "v1"]), "in the volume\n");
    // And another container mounting the volume sees it.
    assert_eq!(
        env.ok(&["run", "--rm", "-v", "data:/x", "bb", "cat", "/x/f"]),
        "in the volume\n"
    );
}
