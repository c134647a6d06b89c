//! Tests of [`build_spec`](super::build_spec) as a whole: the process, the capability set,
//! privileged containers, seccomp modes, and the spec's JSON round trip. Each concern's own
//! tests live in its module.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::*;

use super::mounts::default_readonly_paths;
use super::test_support::*;
use super::*;
use crate::capabilities::{grantable_capabilities, to_oci_capabilities};
use crate::cgroup_host;

#[test]
fn default_spec_has_dockers_14_caps() {
    let spec = build_spec(&input()).unwrap();
    let (bounding, c) = caps_of(&spec);
    let expected: HashSet<Capability> = to_oci_capabilities(
        &default_capabilities()
            .into_iter()
            .filter(|c| grantable(c))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(default_capabilities().len(), 14);
    assert_eq!(bounding, expected);
    assert_eq!(c.effective().clone().unwrap(), expected);
    assert_eq!(c.permitted().clone().unwrap(), expected);
    assert!(c.inheritable().as_ref().unwrap().is_empty());
    assert!(c.ambient().as_ref().unwrap().is_empty());
    assert!(bounding.contains(&Capability::NetBindService));
    assert!(!bounding.contains(&Capability::SysAdmin));
}

#[test]
fn default_spec_masks_and_namespaces() {
    let spec = build_spec(&input()).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    let masked = linux.masked_paths().as_ref().unwrap();
    for p in [
        "/proc/asound",
        "/proc/acpi",
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ] {
        assert!(masked.iter().any(|m| m == p), "{p} not masked");
    }
    // Docker's read-only paths, then the cgroup mount and (v1) each hierarchy in it.
    let readonly = linux.readonly_paths().as_ref().unwrap();
    let defaults = default_readonly_paths();
    assert_eq!(readonly[..defaults.len()], defaults[..]);
    assert_eq!(readonly[defaults.len()], "/sys/fs/cgroup");
    if !cgroup_host::is_v2() {
        for name in cgroup_host::v1_hierarchy_names() {
            let path = format!("/sys/fs/cgroup/{name}");
            assert!(readonly.contains(&path), "{path} not read-only");
        }
    }
    let ns = ns_types(&spec);
    for t in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
    ] {
        assert!(ns.contains(&t), "{t:?} missing");
    }
    assert!(!ns.contains(&LinuxNamespaceType::User));
    assert_eq!(
        ns.contains(&LinuxNamespaceType::Cgroup),
        cgroup_host::is_v2()
    );
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/abc"))
    );
    assert_eq!(spec.hostname().as_deref(), Some("abc"));
    let root = spec.root().as_ref().unwrap();
    assert_eq!(root.path(), Path::new("/var/lib/berth/overlay/abc/merged"));
    assert_eq!(root.readonly(), Some(false));
}

#[test]
fn default_process_has_no_inherited_oci_spec_defaults() {
    let mut i = input();
    i.uid = 1000;
    i.gid = 1001;
    i.additional_gids = vec![10, 20];
    i.terminal = true;
    i.cwd = "/work".into();
    let spec = build_spec(&i).unwrap();
    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &i.args);
    assert_eq!(p.env().as_ref().unwrap(), &i.env);
    assert_eq!(p.cwd(), Path::new("/work"));
    assert_eq!(p.user().uid(), 1000);
    assert_eq!(p.user().gid(), 1001);
    assert_eq!(p.user().additional_gids().as_ref().unwrap(), &vec![10, 20]);
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.no_new_privileges(), None, "absent, not Some(false)");
    assert!(
        p.rlimits().is_none(),
        "no rlimits by default: the container inherits"
    );
    assert!(p.oom_score_adj().is_none());
    assert!(spec.annotations().is_none());
}

#[test]
fn cap_add_and_drop() {
    // Any case, with or without CAP_.
    let caps =
        resolve_capabilities(&s(&["net_admin", "CAP_SYS_PTRACE"]), &s(&["mknod"]), false).unwrap();
    assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
    assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
    assert!(!caps.contains(&"CAP_MKNOD".to_string()));
    assert!(caps.contains(&"CAP_CHOWN".to_string()));
    // Adding a default twice does not duplicate it.
    let caps = resolve_capabilities(&s(&["CHOWN"]), &[], false).unwrap();
    assert_eq!(caps.iter().filter(|c| *c == "CAP_CHOWN").count(), 1);
}

#[test]
fn cap_add_all_and_drop_all() {
    let all = resolve_capabilities(&s(&["ALL"]), &s(&["sys_admin"]), false).unwrap();
    assert_eq!(
        all,
        grantable_capabilities()
            .into_iter()
            .filter(|c| c != "CAP_SYS_ADMIN")
            .collect::<Vec<_>>()
    );
    assert!(all.len() > 30);
    let none = resolve_capabilities(&[], &s(&["all"]), false).unwrap();
    assert!(none.is_empty());
    let one = resolve_capabilities(&s(&["NET_BIND_SERVICE"]), &s(&["ALL"]), false).unwrap();
    assert_eq!(one, s(&["CAP_NET_BIND_SERVICE"]));
    // Through build_spec: --cap-drop ALL gives empty sets.
    let mut i = input();
    i.cap_drop = s(&["ALL"]);
    let spec = build_spec(&i).unwrap();
    assert!(caps_of(&spec).0.is_empty());
}

#[test]
fn unknown_capability_is_an_error() {
    let err = resolve_capabilities(&s(&["NET_FOO"]), &[], false).unwrap_err();
    assert!(
        matches!(err, CapabilityError::Unknown(ref c) if c == "NET_FOO"),
        "{err}"
    );
    assert!(err.to_string().contains("NET_FOO"));
    let err = resolve_capabilities(&[], &s(&["bogus"]), false).unwrap_err();
    assert!(err.to_string().contains("bogus"));
    let mut i = input();
    i.cap_add = s(&["CAP_NOPE"]);
    assert!(matches!(
        build_spec(&i),
        Err(SpecError::Capability(CapabilityError::Unknown(_)))
    ));
}

#[test]
fn privileged_gets_all_caps_devices_and_no_confinement() {
    let mut i = input();
    i.privileged = true;
    i.cap_drop = s(&["ALL"]); // ignored, as Docker does
    let spec = build_spec(&i).unwrap();
    let (bounding, _) = caps_of(&spec);
    let all = grantable_capabilities();
    assert_eq!(bounding, to_oci_capabilities(&all).unwrap());
    assert!(bounding.contains(&Capability::SysAdmin));
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.masked_paths().is_none());
    assert!(linux.readonly_paths().is_none());
    assert!(linux.seccomp().is_none());
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert_eq!(rules[0].to_string(), "a *:* rwm");
    let devs = linux.devices().as_ref().unwrap();
    assert!(devs.iter().any(|d| d.path() == Path::new("/dev/null")));
    let mut paths: Vec<_> = devs.iter().map(|d| d.path().clone()).collect();
    let n = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), n, "duplicate device paths");
    assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts")));
    let sys = find_mount(&spec, "/sys");
    assert!(sys.options().as_ref().unwrap().contains(&"rw".to_string()));
    let cg = find_mount(&spec, "/sys/fs/cgroup");
    assert!(!cg.options().as_ref().unwrap().contains(&"ro".to_string()));
}

#[test]
fn annotations_and_readonly_root() {
    let mut i = input();
    i.readonly_rootfs = true;
    i.no_new_privileges = true;
    i.annotations = vec![("org.berth.id".into(), "abc".into())];
    let spec = build_spec(&i).unwrap();
    assert_eq!(
        spec.annotations()
            .as_ref()
            .unwrap()
            .get("org.berth.id")
            .map(|s| s.as_str()),
        Some("abc")
    );
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(
        spec.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
}

#[test]
fn empty_args_is_an_error() {
    let mut i = input();
    i.args.clear();
    assert!(matches!(build_spec(&i), Err(SpecError::EmptyArgs)));
}

#[test]
fn seccomp_modes() {
    let spec = build_spec(&input()).unwrap();
    let sc = spec
        .linux()
        .as_ref()
        .unwrap()
        .seccomp()
        .clone()
        .expect("default profile");
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert!(!sc.syscalls().as_ref().unwrap().is_empty());

    let mut i = input();
    i.seccomp = SeccompMode::Unconfined;
    assert!(
        build_spec(&i)
            .unwrap()
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .is_none()
    );
}

#[test]
fn spec_round_trips_through_json() {
    let mut i = input();
    i.ulimits = vec![Ulimit {
        name: "nproc".into(),
        soft: 100,
        hard: 200,
    }];
    i.tmpfs = vec![("/tmp".into(), "size=1m".into())];
    i.binds = vec![BindMount {
        source: "/etc/hosts".into(),
        destination: "/etc/hosts".into(),
        readonly: true,
    }];
    i.annotations = vec![("a".into(), "b".into())];
    i.resources.memory = Some(100 << 20);
    i.resources.nano_cpus = Some(250_000_000);
    for privileged in [false, true] {
        i.privileged = privileged;
        let spec = build_spec(&i).unwrap();
        let json = serde_json::to_string_pretty(&spec).unwrap();
        let back: Spec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["ociVersion"], oci_spec::runtime::VERSION);
        assert!(v["process"].get("oomScoreAdj").is_none());
        // Also through a file, as the runtime loads it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        spec.save(&path).unwrap();
        assert_eq!(Spec::load(&path).unwrap(), spec);
    }
}

#[test]
fn a_seccomp_profile_is_resolved_against_the_final_capabilities() {
    use crate::seccomp::profile_tests::{PROFILE, names};
    let mut i = input();
    i.cap_add = s(&["SYS_PTRACE"]);
    i.seccomp = SeccompMode::Profile(PROFILE.to_string());
    let spec = build_spec(&i).unwrap();
    let n = names(spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap());
    assert!(n.contains(&"ptrace".to_string()));
    assert!(!n.contains(&"chown".to_string()));

    let mut i = input();
    i.seccomp = SeccompMode::Profile("[]".into());
    assert!(matches!(build_spec(&i), Err(SpecError::SeccompProfile(_))));
}
