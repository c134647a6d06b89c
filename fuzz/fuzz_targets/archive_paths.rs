//! The path checks of `PUT /containers/{id}/archive`: every tar entry name (and hard link
//! target) either is refused or becomes a relative path with no `..`, and resolving it inside a
//! rootfs full of escaping symlinks gives a container path with no `..` either.
#![no_main]

use std::path::{Component, Path};
use std::sync::OnceLock;

use berth_engine::container_archive::entry_relative_path;
use berth_engine::rootpath::resolve_in_root;

fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("dest/sub")).unwrap();
        std::os::unix::fs::symlink("/", r.join("dest/abs")).unwrap();
        std::os::unix::fs::symlink("../../..", r.join("dest/up")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("dest/loop")).unwrap();
        std::os::unix::fs::symlink("sub/../../dest", r.join("dest/rel")).unwrap();
        dir
    })
    .path()
}

fn check(name: &Path) {
    let Ok(relative) = entry_relative_path(name) else {
        return;
    };
    assert!(relative.is_relative(), "{name:?} -> {relative:?}");
    assert!(
        relative
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{name:?} -> {relative:?}"
    );
    let container_path = format!("/dest/{}", relative.to_string_lossy());
    if let Ok(resolved) = resolve_in_root(root(), &container_path) {
        assert!(resolved.starts_with('/'), "{container_path} -> {resolved}");
        assert!(
            !resolved.split('/').any(|c| c == ".."),
            "{container_path} -> {resolved}"
        );
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut archive = tar::Archive::new(data);
    let Ok(entries) = archive.entries() else {
        return;
    };
    for entry in entries.take(64) {
        let Ok(entry) = entry else { return };
        if let Ok(path) = entry.path() {
            check(&path);
        }
        if let Ok(Some(link)) = entry.link_name() {
            check(&link);
        }
    }
});
