//! Store-level tests: import, image, layer_dirs, gc, bad input, and hostile layer tarballs.
//! They run as root (device nodes, chown, trusted.* xattrs), as CI does.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::digest::sha256_digest;
use crate::*;

const CONTENT: &[u8] = b"hello from the layer\n";

/// Builds tar entries with raw (unvalidated) names, as a hostile producer would.
pub(crate) struct RawTar(tar::Builder<Vec<u8>>);

impl RawTar {
    pub(crate) fn new() -> Self {
        RawTar(tar::Builder::new(Vec::new()))
    }
    fn header(path: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        let name = &mut h.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }
    fn push(&mut self, mut h: tar::Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }
    pub(crate) fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.push(
            Self::header(path, tar::EntryType::Regular, 0o644, data.len() as u64),
            data,
        )
    }
    fn file_full(&mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> &mut Self {
        let mut h = Self::header(path, tar::EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.push(h, data)
    }
    fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        self.push(Self::header(path, tar::EntryType::Directory, mode, 0), b"")
    }
    fn link(&mut self, kind: tar::EntryType, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(path, kind, 0o777, 0);
        let ln = &mut h.as_gnu_mut().unwrap().linkname;
        ln[..target.len()].copy_from_slice(target.as_bytes());
        self.push(h, b"")
    }
    fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Symlink, path, target)
    }
    fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Link, path, target)
    }
    fn device(&mut self, path: &str, kind: tar::EntryType, major: u32, minor: u32) -> &mut Self {
        let mut h = Self::header(path, kind, 0o666, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, b"")
    }
    fn pax_file(&mut self, path: &str, data: &[u8], pax: &[(&str, &[u8])]) -> &mut Self {
        self.0
            .append_pax_extensions(pax.iter().map(|(k, v)| (*k, *v)))
            .unwrap();
        self.file(path, data)
    }
    pub(crate) fn bytes(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.0, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

fn sample_tar() -> Vec<u8> {
    RawTar::new()
        .dir("./", 0o755)
        .dir("etc/", 0o755)
        .file("etc/hello", CONTENT)
        .symlink("link", "etc/hello")
        .hardlink("hard", "etc/hello")
        .dir("bin/", 0o755)
        .file_full("bin/su", b"#!suid\n", 0o4755, 0, 0)
        .file_full("bin/sg", b"#!sgid\n", 0o2711, 0, 0)
        .file_full("home/user/file", b"mine\n", 0o600, 1000, 1001)
        .pax_file(
            "bin/ping",
            b"ping\n",
            &[("SCHILY.xattr.user.berth", b"yes")],
        )
        .device("dev/null", tar::EntryType::Char, 1, 3)
        .device("dev/fifo", tar::EntryType::Fifo, 0, 0)
        .bytes()
}

fn sample_config() -> ImageConfig {
    let mut c: ImageConfig = serde_json::from_str(
        r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"],"Hostname":"keepme"},"custom_field":{"a":1}}"#,
    )
    .unwrap();
    c.author = Some("tester".into());
    c
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    (dir, s)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn import_image_and_layer_dirs() {
    let (_t, s) = store();
    let tar = sample_tar();
    let id = s.import(&tar[..], sample_config()).unwrap();

    // The id is the sha256 of the config blob.
    let config_blob = fs::read(s.blob_path(&id).unwrap()).unwrap();
    assert_eq!(sha256_digest(&config_blob), id);

    let img = s.image(&id).unwrap();
    let img2 = s.image(id.strip_prefix("sha256:").unwrap()).unwrap();
    assert_eq!(img, img2);
    assert_eq!(img.id, id);
    assert_eq!(img.size, tar.len() as u64);
    assert_eq!(img.layers, vec![sha256_digest(&tar)]);
    assert_eq!(img.config.rootfs.diff_ids, vec![sha256_digest(&tar)]);
    assert_eq!(img.config.rootfs.kind, "layers");
    assert_eq!(img.config.history.len(), 1);
    assert!(img.config.created.is_some());
    assert_eq!(img.config.config.cmd.as_deref().unwrap(), ["/bin/sh"]);
    assert_eq!(img.config.config.extra["Hostname"], "keepme");
    assert_eq!(img.config.extra["custom_field"]["a"], 1);
    assert_eq!(img.config.author.as_deref(), Some("tester"));
    // The config round-trips byte for byte through our types.
    assert_eq!(serde_json::to_vec(&img.config).unwrap(), config_blob);

    // The manifest is an OCI manifest referencing config and layer.
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(s.blob_path(&img.manifest_digest).unwrap()).unwrap())
            .unwrap();
    assert_eq!(m["mediaType"], MEDIA_MANIFEST_OCI);
    assert_eq!(m["config"]["digest"], id.as_str());
    assert_eq!(m["layers"][0]["mediaType"], MEDIA_LAYER_TAR);
    assert_eq!(m["layers"][0]["size"], tar.len() as u64);

    let dirs = s.layer_dirs(&id).unwrap();
    assert_eq!(dirs.len(), 1);
    let d = &dirs[0];
    assert!(d.starts_with(s.root().join("layers")));
    assert_eq!(fs::read(d.join("etc/hello")).unwrap(), CONTENT);
    assert_eq!(
        fs::read_link(d.join("link")).unwrap(),
        Path::new("etc/hello")
    );
    let hello = fs::metadata(d.join("etc/hello")).unwrap();
    let hard = fs::metadata(d.join("hard")).unwrap();
    assert_eq!(hello.ino(), hard.ino());
    assert_eq!(hello.mtime(), 1_600_000_000);
    assert_eq!(fs::metadata(d.join("etc")).unwrap().mtime(), 1_600_000_000);
    assert_eq!(
        fs::metadata(d.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert_eq!(
        fs::metadata(d.join("bin/sg")).unwrap().mode() & 0o7777,
        0o2711
    );
    let own = fs::metadata(d.join("home/user/file")).unwrap();
    assert_eq!(
        (own.uid(), own.gid(), own.mode() & 0o777),
        (1000, 1001, 0o600)
    );
    let null = fs::symlink_metadata(d.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), nix::sys::stat::makedev(1, 3));
    assert!(
        fs::symlink_metadata(d.join("dev/fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // user.* xattrs are best effort (tmpfs may lack them); when supported they are kept.
    if let Some(v) = xattr::get(d.join("bin/ping"), "user.berth").ok().flatten() {
        assert_eq!(v, b"yes");
    }

    // A second call reuses the unpacked layer.
    assert_eq!(s.layer_dirs(&id).unwrap(), dirs);
    assert!(names(&s.root().join("tmp")).is_empty());
}

#[test]
fn gzip_input_is_stored_uncompressed() {
    let (_t, s) = store();
    let tar = sample_tar();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let id = s.import(&gz[..], ImageConfig::default()).unwrap();
    let img = s.image(&id).unwrap();
    assert_eq!(img.layers, vec![sha256_digest(&tar)]);
    assert_eq!(fs::read(s.blob_path(&img.layers[0]).unwrap()).unwrap(), tar);
    assert_eq!(img.config.os, "linux");
    assert!(!img.config.architecture.is_empty());
    let dirs = s.layer_dirs(&id).unwrap();
    assert_eq!(fs::read(dirs[0].join("etc/hello")).unwrap(), CONTENT);
}

#[test]
fn gc_keeps_referenced_and_removes_the_rest() {
    let (_t, s) = store();
    let a = s.import(&sample_tar()[..], ImageConfig::default()).unwrap();
    let other = RawTar::new().file("only-in-b", b"b").bytes();
    let b = s.import(&other[..], ImageConfig::default()).unwrap();
    let img_a = s.image(&a).unwrap();
    let img_b = s.image(&b).unwrap();
    let dir_a = s.layer_dirs(&a).unwrap();
    let dir_b = s.layer_dirs(&b).unwrap();
    fs::write(
        s.root().join("blobs/sha256").join("f".repeat(64)),
        b"orphan",
    )
    .unwrap();

    s.gc(std::slice::from_ref(&a)).unwrap();

    for d in [&a, &img_a.manifest_digest, &img_a.layers[0]] {
        assert!(s.blob_path(d).unwrap().exists(), "kept blob {d}");
    }
    for d in [&b, &img_b.manifest_digest, &img_b.layers[0]] {
        assert!(!s.blob_path(d).unwrap().exists(), "removed blob {d}");
    }
    assert_eq!(names(&s.root().join("blobs/sha256")).len(), 3);
    assert!(dir_a[0].is_dir());
    assert!(!dir_b[0].exists());
    assert!(matches!(s.image(&b), Err(Error::ImageNotFound(_))));
    assert_eq!(s.layer_dirs(&a).unwrap(), dir_a);

    s.gc(&[]).unwrap();
    assert!(names(&s.root().join("blobs/sha256")).is_empty());
    assert!(names(&s.root().join("images")).is_empty());
    assert!(names(&s.root().join("layers")).is_empty());
}

fn assert_nothing_stored(s: &Store) {
    assert!(names(&s.root().join("blobs/sha256")).is_empty(), "no blob");
    assert!(names(&s.root().join("layers")).is_empty(), "no layer");
    assert!(names(&s.root().join("images")).is_empty(), "no image");
    assert!(names(&s.root().join("tmp")).is_empty(), "no tmp leftovers");
}

#[test]
fn garbage_and_truncated_input_store_nothing() {
    let (_t, s) = store();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 13) as u8).collect();
    let e = s.import(&garbage[..], ImageConfig::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidTar(_)), "{e}");
    assert!(e.to_string().contains("invalid or truncated tar"), "{e}");
    assert_nothing_stored(&s);

    let short = b"not a tar";
    let e = s.import(&short[..], ImageConfig::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidTar(_)), "{e}");
    assert_nothing_stored(&s);

    let big = RawTar::new().file("big", &vec![7u8; 10_000]).bytes();
    let e = s.import(&big[..3000], ImageConfig::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidTar(_)), "{e}");
    assert_nothing_stored(&s);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&big).unwrap();
    let gz = gz.finish().unwrap();
    let e = s
        .import(&gz[..gz.len() / 2], ImageConfig::default())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTar(_)), "{e}");
    assert_nothing_stored(&s);

    let e = s.import(&b""[..], ImageConfig::default()).unwrap_err();
    assert!(matches!(e, Error::EmptyInput), "{e}");
    let e = s
        .import(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0][..], ImageConfig::default())
        .unwrap_err();
    assert!(matches!(e, Error::UnsupportedCompression(_)), "{e}");
    assert_nothing_stored(&s);

    let evil = RawTar::new().file("../escape", b"x").bytes();
    let e = s.import(&evil[..], ImageConfig::default()).unwrap_err();
    assert!(matches!(e, Error::UnsafeEntry { .. }), "{e}");
    assert_nothing_stored(&s);

    assert!(matches!(
        s.image("sha256:../../etc"),
        Err(Error::InvalidDigest(_))
    ));
    assert!(matches!(
        s.image(&"a".repeat(64)),
        Err(Error::ImageNotFound(_))
    ));
}

#[test]
fn hostile_layer_fails_unpack_and_leaves_no_layer() {
    let (t, s) = store();
    let outside = t.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // Valid as a tar and without "..", so import accepts it; extraction must refuse it.
    let tar = RawTar::new()
        .symlink("evil", outside.to_str().unwrap())
        .file("evil/pwned", b"x")
        .bytes();
    let id = s.import(&tar[..], ImageConfig::default()).unwrap();
    let e = s.layer_dirs(&id).unwrap_err();
    assert!(e.to_string().contains("symlink"), "{e}");
    assert!(names(&outside).is_empty());
    assert!(names(&s.root().join("layers")).is_empty());
    assert!(names(&s.root().join("tmp")).is_empty());
}

#[test]
fn concurrent_layer_dirs_agree() {
    let (_t, s) = store();
    let id = s.import(&sample_tar()[..], ImageConfig::default()).unwrap();
    let results: Vec<_> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..6)
            .map(|_| sc.spawn(|| s.layer_dirs(&id).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(fs::read(results[0][0].join("etc/hello")).unwrap(), CONTENT);
    assert!(names(&s.root().join("tmp")).is_empty());
    assert_eq!(names(&s.root().join("layers")).len(), 1);
}

#[test]
fn zero_layer_image_gets_one_empty_dir() {
    let (_t, s) = store();
    let mut cfg = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        ..Default::default()
    };
    cfg.config.cmd = Some(vec!["x".into()]);
    let cjson = serde_json::to_vec(&cfg).unwrap();
    let cid = s.put_blob(&cjson).unwrap();
    let m = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_MANIFEST_OCI.into()),
        config: Descriptor {
            media_type: MEDIA_CONFIG_OCI.into(),
            digest: cid.clone(),
            size: cjson.len() as u64,
            extra: BTreeMap::new(),
        },
        layers: vec![],
        extra: BTreeMap::new(),
    };
    let mid = s.put_blob(&serde_json::to_vec(&m).unwrap()).unwrap();
    assert_eq!(s.add_manifest(&mid).unwrap(), cid);
    let dirs = s.layer_dirs(&cid).unwrap();
    assert_eq!(dirs.len(), 1);
    assert!(dirs[0].is_dir());
    assert!(names(&dirs[0]).is_empty());
    assert_eq!(s.image(&cid).unwrap().size, 0);
}

// ---- hostile tarballs, extracted directly ----

/// Unpacks into base/layer; returns (result, base).
fn unpack_into(tar: &[u8]) -> (Result<(), Error>, tempfile::TempDir) {
    let base = tempfile::tempdir().unwrap();
    fs::create_dir(base.path().join("layer")).unwrap();
    fs::create_dir(base.path().join("outside")).unwrap();
    fs::write(base.path().join("outside/victim"), b"original").unwrap();
    let r = crate::unpack::unpack(tar, &base.path().join("layer"));
    (r, base)
}

fn assert_outside_untouched(base: &Path) {
    assert_eq!(names(base), vec!["layer", "outside"]);
    assert_eq!(names(&base.join("outside")), vec!["victim"]);
    assert_eq!(fs::read(base.join("outside/victim")).unwrap(), b"original");
    assert_eq!(
        fs::metadata(base.join("outside/victim"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );
}

#[test]
fn hostile_dotdot_escape_is_rejected() {
    for p in [
        "../outside/pwned",
        "a/../../outside/pwned",
        "./../x",
        "a/b/../../../x",
    ] {
        let (r, base) = unpack_into(&RawTar::new().file(p, b"x").bytes());
        let e = r.unwrap_err();
        assert!(matches!(e, Error::UnsafeEntry { .. }), "{p}: {e}");
        assert_outside_untouched(base.path());
    }
    // ".." that stays inside is fine.
    let (r, base) = unpack_into(&RawTar::new().file("a/../inside", b"x").bytes());
    r.unwrap();
    assert!(base.path().join("layer/inside").is_file());
}

#[test]
fn hostile_absolute_path_stays_inside() {
    let (r, base) = unpack_into(&RawTar::new().file("/outside/victim", b"pwned").bytes());
    r.unwrap();
    assert_outside_untouched(base.path());
    assert_eq!(
        fs::read(base.path().join("layer/outside/victim")).unwrap(),
        b"pwned"
    );
}

#[test]
fn hostile_symlink_parent_is_never_followed() {
    for target in ["../outside", "/", "/tmp", "..", "../.."] {
        // A file under the symlink.
        let (r, base) = unpack_into(
            &RawTar::new()
                .symlink("evil", target)
                .file("evil/pwned", b"x")
                .bytes(),
        );
        assert!(r.is_err(), "file through symlink to {target}");
        assert_outside_untouched(base.path());
        // A directory under the symlink.
        let (r, base) = unpack_into(
            &RawTar::new()
                .symlink("evil", target)
                .dir("evil/sub/", 0o755)
                .bytes(),
        );
        assert!(r.is_err(), "dir through symlink to {target}");
        assert_outside_untouched(base.path());
        // A deeper symlink chain.
        let (r, base) = unpack_into(
            &RawTar::new()
                .dir("d/", 0o755)
                .symlink("d/up", "../../outside")
                .file("d/up/victim", b"x")
                .bytes(),
        );
        assert!(r.is_err());
        assert_outside_untouched(base.path());
    }
    // Whiteouts and hard links through a symlink are refused too.
    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("evil", "../outside")
            .file("evil/.wh.victim", b"")
            .bytes(),
    );
    assert!(r.is_err());
    assert_outside_untouched(base.path());
    let (r, base) = unpack_into(
        &RawTar::new()
            .file("f", b"x")
            .symlink("evil", "../outside")
            .hardlink("evil/victim", "f")
            .bytes(),
    );
    assert!(r.is_err());
    assert_outside_untouched(base.path());
}

#[test]
fn hostile_entry_replacing_a_symlink_does_not_write_through_it() {
    // Regular file, device, and symlink entries named like an existing symlink replace the link.
    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("victim", "../outside/victim")
            .file_full("victim", b"pwned", 0o4777, 0, 0)
            .bytes(),
    );
    r.unwrap();
    assert_outside_untouched(base.path());
    let m = fs::symlink_metadata(base.path().join("layer/victim")).unwrap();
    assert!(m.is_file());
    assert_eq!(
        fs::read(base.path().join("layer/victim")).unwrap(),
        b"pwned"
    );

    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("victim", "../outside/victim")
            .device("victim", tar::EntryType::Fifo, 0, 0)
            .bytes(),
    );
    r.unwrap();
    assert_outside_untouched(base.path());

    // A directory entry over a symlink to an outside dir replaces the link; chmod goes nowhere.
    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("d", "../outside")
            .dir("d/", 0o777)
            .bytes(),
    );
    r.unwrap();
    assert_outside_untouched(base.path());
    assert!(
        fs::symlink_metadata(base.path().join("layer/d"))
            .unwrap()
            .is_dir()
    );
    assert_ne!(
        fs::metadata(base.path().join("outside")).unwrap().mode() & 0o777,
        0o777
    );
}

#[test]
fn hostile_hardlinks_must_stay_inside() {
    for target in ["../outside/victim", "a/../../outside/victim"] {
        let (r, base) = unpack_into(&RawTar::new().hardlink("h", target).bytes());
        assert!(matches!(r, Err(Error::UnsafeEntry { .. })), "{target}");
        assert_outside_untouched(base.path());
    }
    // Absolute targets resolve inside the layer, where there is no such file.
    let (r, base) = unpack_into(&RawTar::new().hardlink("h", "/etc/passwd").bytes());
    assert!(matches!(r, Err(Error::UnsafeEntry { .. })));
    assert_outside_untouched(base.path());
    // Not to a symlink (which could point outside), nor through one.
    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("s", "../outside/victim")
            .hardlink("h", "s")
            .bytes(),
    );
    assert!(matches!(r, Err(Error::UnsafeEntry { .. })));
    assert_outside_untouched(base.path());
    let (r, base) = unpack_into(
        &RawTar::new()
            .symlink("s", "../outside")
            .hardlink("h", "s/victim")
            .bytes(),
    );
    assert!(r.is_err());
    assert_outside_untouched(base.path());
    // Not to a directory.
    let (r, _base) = unpack_into(&RawTar::new().dir("d/", 0o755).hardlink("h", "d").bytes());
    assert!(r.is_err());
    // A proper one works, and an absolute target inside the layer is fine.
    let (r, base) = unpack_into(
        &RawTar::new()
            .file("a/f", b"x")
            .hardlink("h", "/a/f")
            .bytes(),
    );
    r.unwrap();
    let l = base.path().join("layer");
    assert_eq!(
        fs::metadata(l.join("h")).unwrap().ino(),
        fs::metadata(l.join("a/f")).unwrap().ino()
    );
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let (r, base) = unpack_into(
        &RawTar::new()
            .dir("etc/", 0o755)
            .file("etc/.wh.passwd", b"")
            .dir("var/cache/", 0o755)
            .file("var/cache/.wh..wh..opq", b"")
            .file("var/cache/new", b"n")
            .file(".wh..wh.plnk", b"")
            .bytes(),
    );
    r.unwrap();
    let l = base.path().join("layer");
    let wh = fs::symlink_metadata(l.join("etc/passwd")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!l.join("etc/.wh.passwd").exists());
    assert_eq!(
        xattr::get(l.join("var/cache"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );
    assert!(!l.join("var/cache/.wh..wh..opq").exists());
    assert!(l.join("var/cache/new").is_file());
    assert!(!l.join(".wh..wh.plnk").exists());
    // A tar may not set overlay xattrs itself.
    let (r, base) = unpack_into(
        &RawTar::new()
            .pax_file(
                "f",
                b"x",
                &[("SCHILY.xattr.trusted.overlay.redirect", b"/etc")],
            )
            .bytes(),
    );
    r.unwrap();
    assert!(
        xattr::get(base.path().join("layer/f"), "trusted.overlay.redirect")
            .unwrap()
            .is_none()
    );
}

#[test]
fn security_capability_xattr_survives_chown() {
    // v2 vfs_cap_data for cap_net_raw (bit 13), effective flag set.
    let mut cap = vec![0u8; 20];
    cap[0..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
    let (r, base) = unpack_into(
        &RawTar::new()
            .pax_file("ping", b"x", &[("SCHILY.xattr.security.capability", &cap)])
            .bytes(),
    );
    r.unwrap();
    let got = xattr::get(base.path().join("layer/ping"), "security.capability").unwrap();
    if let Some(got) = got {
        assert_eq!(got, cap);
    } // else: the filesystem does not support it (best effort, as Docker)
}

/// A pulled-style image: gzip layer blob, registered with add_manifest; diff_id is verified.
#[test]
fn gzip_layer_blob_via_add_manifest_is_verified() {
    let (_t, s) = store();
    let tar = sample_tar();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let layer = s.put_blob(&gz).unwrap();
    let register = |diff_id: String| {
        let mut cfg = ImageConfig::default();
        cfg.rootfs.diff_ids = vec![diff_id];
        let cjson = serde_json::to_vec(&cfg).unwrap();
        let cid = s.put_blob(&cjson).unwrap();
        let m = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_MANIFEST_OCI.into()),
            config: Descriptor {
                media_type: MEDIA_CONFIG_OCI.into(),
                digest: cid,
                size: cjson.len() as u64,
                extra: BTreeMap::new(),
            },
            layers: vec![Descriptor {
                media_type: MEDIA_LAYER_GZIP.into(),
                digest: layer.clone(),
                size: gz.len() as u64,
                extra: BTreeMap::new(),
            }],
            extra: BTreeMap::new(),
        };
        let mid = s.put_blob(&serde_json::to_vec(&m).unwrap()).unwrap();
        s.add_manifest(&mid).unwrap()
    };
    let good = register(sha256_digest(&tar));
    let dirs = s.layer_dirs(&good).unwrap();
    assert_eq!(fs::read(dirs[0].join("etc/hello")).unwrap(), CONTENT);
    // A config whose diff_id does not match the layer content is refused, and leaves no layer.
    let bad = register(sha256_digest(b"something else"));
    let e = s.layer_dirs(&bad).unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    assert_eq!(names(&s.root().join("layers")).len(), 1);
    assert!(names(&s.root().join("tmp")).is_empty());
}
