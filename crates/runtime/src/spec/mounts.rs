//! The container's mounts as Docker makes them: the default mounts (/proc, /dev, /sys, the
//! cgroup mount, /dev/shm ...), `--tmpfs`, the user's volumes and binds, the engine's binds
//! (/etc/hosts ...), and the masked and read-only paths (the cgroup mount's included).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_spec::runtime::{Mount, MountBuilder};

use super::{SpecError, SpecInput};
use crate::cgroup_host;

#[derive(Debug, Clone, PartialEq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}

/// A mount the user asked for (`-v`, `--mount`): the runtime only sees host paths.
#[derive(Debug, Clone, PartialEq)]
pub enum UserMount {
    Bind {
        source: PathBuf,
        destination: String,
        readonly: bool,
        /// "rprivate" (default), "private", "shared", "rshared", "slave", "rslave".
        propagation: String,
        /// rbind (default) or a plain bind (`bind-nonrecursive`).
        recursive: bool,
    },
    Tmpfs {
        destination: String,
        /// tmpfs options such as "size=65536k,mode=1770".
        options: String,
    },
}

/// What the container's /dev/shm is (Docker's IPC modes decide).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Shm {
    /// A tmpfs of its own, inside the container (`--ipc private`).
    #[default]
    Private,
    /// No /dev/shm at all (`--ipc none`).
    None,
    /// A host directory bound in: its own shareable tmpfs, another container's (`--ipc
    /// container:X`), or the host's /dev/shm (`--ipc host`).
    Bind(PathBuf),
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// Docker's default mounts (moby `oci.DefaultLinuxSpec`, with the daemon's 64 MiB /dev/shm).
fn default_mounts(privileged: bool, shm_size: Option<i64>) -> Result<Vec<Mount>, SpecError> {
    let sys_ro = if privileged { "rw" } else { "ro" };
    let shm_size = shm_option(shm_size);
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_ro],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[sys_ro, "nosuid", "noexec", "nodev", "relatime"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        )?,
    ])
}

/// The tmpfs size option of a /dev/shm of `bytes` (`None` or 0: Docker's 64 MiB).
pub fn shm_option(bytes: Option<i64>) -> String {
    match bytes.filter(|b| *b > 0) {
        Some(b) => format!("size={b}"),
        None => "size=65536k".to_string(),
    }
}

/// Flags that cancel each other: the later one wins (moby `mount.MergeTmpfsOptions`).
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["exec", "noexec"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["sync", "async"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    &["mand", "nomand"],
    &[
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ],
];

/// Merges mount options left to right: a later `key=value` replaces an earlier one with the
/// same key, a later flag replaces an earlier one of its group (`exec` cancels `noexec`).
fn merge_mount_options(options: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for opt in options.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if let Some((key, _)) = opt.split_once('=') {
            out.retain(|o| o.split_once('=').map(|(k, _)| k) != Some(key));
        } else {
            let group = FLAG_GROUPS.iter().find(|g| g.contains(&opt));
            out.retain(|o| o != opt && !group.is_some_and(|g| g.contains(&o.as_str())));
        }
        out.push(opt.to_string());
    }
    out
}

fn tmpfs_mount(destination: &str, options: &str) -> Result<Mount, SpecError> {
    if !destination.starts_with('/') {
        return Err(SpecError::InvalidTmpfs {
            destination: destination.to_string(),
            reason: "the destination must be an absolute path".into(),
        });
    }
    if destination == "/" {
        return Err(SpecError::InvalidTmpfs {
            destination: destination.to_string(),
            reason: "cannot mount a tmpfs over the container's root".into(),
        });
    }
    let mut all = vec!["rw", "nosuid", "nodev", "noexec"];
    all.extend(options.split(','));
    let merged = merge_mount_options(&all);
    Ok(MountBuilder::default()
        .destination(destination)
        .typ("tmpfs")
        .source("tmpfs")
        .options(merged)
        .build()?)
}

fn bind_mount(b: &BindMount) -> Result<Mount, SpecError> {
    let err = |reason: &str| SpecError::InvalidBind {
        source_path: b.source.display().to_string(),
        destination: b.destination.clone(),
        reason: reason.to_string(),
    };
    if !b.source.is_absolute() {
        return Err(err("the source must be an absolute path"));
    }
    if !b.destination.starts_with('/') {
        return Err(err("the destination must be an absolute path"));
    }
    if b.destination == "/" {
        return Err(err("cannot bind over the container's root"));
    }
    let mut options = vec!["rbind".to_string()];
    if b.readonly {
        options.push("ro".into());
    }
    options.push("rprivate".into());
    Ok(MountBuilder::default()
        .destination(b.destination.as_str())
        .typ("bind")
        .source(b.source.clone())
        .options(options)
        .build()?)
}

/// The root's propagation a user bind needs (as moby): a shared bind needs a shared root, a
/// slave bind a slave (or shared) one; otherwise the runtime's default (private).
pub(super) fn rootfs_propagation(mounts: &[UserMount]) -> Option<String> {
    let propagations = mounts.iter().filter_map(|m| match m {
        UserMount::Bind { propagation, .. } => Some(propagation.trim_start_matches('r')),
        UserMount::Tmpfs { .. } => None,
    });
    let mut wanted = None;
    for p in propagations {
        match p {
            "shared" => return Some("shared".into()),
            "slave" => wanted = Some("rslave".to_string()),
            _ => {}
        }
    }
    wanted
}

fn user_mount(m: &UserMount) -> Result<Mount, SpecError> {
    match m {
        UserMount::Tmpfs {
            destination,
            options,
        } => tmpfs_mount(destination, options),
        UserMount::Bind {
            source,
            destination,
            readonly,
            propagation,
            recursive,
        } => {
            let plain = BindMount {
                source: source.clone(),
                destination: destination.clone(),
                readonly: *readonly,
            };
            let mut mount = bind_mount(&plain)?;
            let mut options = vec![if *recursive { "rbind" } else { "bind" }.to_string()];
            if *readonly {
                options.push("ro".into());
            }
            options.push(if propagation.is_empty() {
                "rprivate".into()
            } else {
                propagation.clone()
            });
            mount.set_options(Some(options));
            Ok(mount)
        }
    }
}

fn normalized_dest(d: &str) -> String {
    let t = d.trim_end_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else {
        t.to_string()
    }
}

/// Default mounts, then `--tmpfs`, then binds. A user mount replaces a default mount at the same
/// destination, and a user `/dev` replaces every default under /dev (as Docker does).
pub(super) fn build_mounts(input: &SpecInput) -> Result<Vec<Mount>, SpecError> {
    let mut user = Vec::new();
    // A mount of the user's at /dev/shm wins over the IPC mode's, as in Docker.
    let user_shm = input
        .tmpfs
        .iter()
        .map(|(d, _)| d.as_str())
        .chain(input.mounts.iter().map(|m| match m {
            UserMount::Bind { destination, .. } | UserMount::Tmpfs { destination, .. } => {
                destination.as_str()
            }
        }))
        .any(|d| normalized_dest(d) == "/dev/shm");
    if let (Shm::Bind(source), false) = (&input.shm, user_shm) {
        user.push(bind_mount(&BindMount {
            source: source.clone(),
            destination: "/dev/shm".into(),
            readonly: false,
        })?);
    }
    for (dest, opts) in &input.tmpfs {
        user.push(tmpfs_mount(dest, opts)?);
    }
    for m in &input.mounts {
        user.push(user_mount(m)?);
    }
    for b in &input.binds {
        user.push(bind_mount(b)?);
    }
    let user_dests: HashSet<String> = user
        .iter()
        .map(|m| normalized_dest(&m.destination().to_string_lossy()))
        .collect();
    let user_dev = user_dests.contains("/dev");
    let mut mounts: Vec<Mount> = default_mounts(input.privileged, input.shm_size)?
        .into_iter()
        .filter(|m| {
            let d = normalized_dest(&m.destination().to_string_lossy());
            let replaced = user_dests.contains(&d) || (user_dev && d.starts_with("/dev/"));
            let unwanted = input.shm == Shm::None && d == "/dev/shm";
            !replaced && !unwanted
        })
        .collect();
    mounts.extend(user);
    Ok(mounts)
}

/// moby's default masked paths, plus each CPU's thermal_throttle directory that exists on this
/// host (GHSA-6fw5-f8r9-fgfm).
pub(super) fn default_masked_paths() -> Vec<String> {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            let mut paths: Vec<String> = [
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
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let mut throttles = Vec::new();
            if let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") {
                for entry in dir.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let is_cpu = name
                        .strip_prefix("cpu")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                    if is_cpu && entry.path().join("thermal_throttle").exists() {
                        let n: u32 = name[3..].parse().unwrap_or(0);
                        throttles.push((
                            n,
                            format!("/sys/devices/system/cpu/{name}/thermal_throttle"),
                        ));
                    }
                }
            }
            throttles.sort();
            paths.extend(throttles.into_iter().map(|(_, p)| p));
            paths
        })
        .clone()
}

pub(super) fn default_readonly_paths() -> Vec<String> {
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The paths that make the default cgroup mount read-only, as Docker's "ro" option does: the
/// mount itself, and on a v1 host every hierarchy under it. libcontainer 0.7 ignores the
/// mount's options for cgroup v1 (it mounts a tmpfs and binds each of the container's
/// hierarchies in read-write) and falls back to a read-write bind when cgroup2 cannot be
/// mounted; runtimes bind a read-only path onto itself and remount it read-only, after every
/// mount. A mount of the caller's that replaces the default one, or lies over a path, keeps
/// what the caller asked for.
pub(super) fn cgroup_readonly_paths(mounts: &[Mount]) -> Vec<String> {
    const CGROUP: &str = "/sys/fs/cgroup";
    let callers: Vec<&Path> = mounts
        .iter()
        .filter(|m| m.typ().as_deref() != Some("cgroup"))
        .map(|m| m.destination().as_path())
        .filter(|d| d.starts_with(CGROUP))
        .collect();
    let mut paths = vec![CGROUP.to_string()];
    if !cgroup_host::is_v2() {
        // The mount's own copy first: each hierarchy is then made read-only in the copy.
        paths.extend(
            cgroup_host::v1_hierarchy_names()
                .into_iter()
                .map(|name| format!("{CGROUP}/{name}")),
        );
    }
    paths.retain(|p| !callers.iter().any(|c| Path::new(p).starts_with(c)));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::build_spec;
    use crate::spec::test_support::*;

    #[test]
    fn ipc_modes_shape_dev_shm() {
        let mut i = input();
        i.shm = Shm::None;
        let spec = build_spec(&i).unwrap();
        assert!(!mount_dests(&spec).contains(&"/dev/shm".to_string()));
        i.shm = Shm::Bind("/run/berth/containers/x/shm".into());
        let spec = build_spec(&i).unwrap();
        let shm = find_mount(&spec, "/dev/shm");
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert_eq!(
            shm.source().as_deref(),
            Some(Path::new("/run/berth/containers/x/shm"))
        );
        let count = mount_dests(&spec)
            .iter()
            .filter(|d| *d == "/dev/shm")
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn default_mounts_match_docker() {
        let spec = build_spec(&input()).unwrap();
        assert_eq!(
            mount_dests(&spec),
            s(&[
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ])
        );
        let sys = find_mount(&spec, "/sys");
        assert!(sys.options().as_ref().unwrap().contains(&"ro".to_string()));
        let cg = find_mount(&spec, "/sys/fs/cgroup");
        assert_eq!(cg.typ().as_deref(), Some("cgroup"));
        assert!(cg.options().as_ref().unwrap().contains(&"ro".to_string()));
        let shm = find_mount(&spec, "/dev/shm");
        assert_eq!(
            shm.options().as_ref().unwrap(),
            &s(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])
        );
        let pts = find_mount(&spec, "/dev/pts");
        assert!(
            pts.options()
                .as_ref()
                .unwrap()
                .contains(&"newinstance".to_string())
        );
    }

    #[test]
    fn a_mount_of_the_callers_over_the_cgroup_mount_is_left_as_asked() {
        let readonly_with = |destination: &str| {
            let mut i = input();
            i.binds.push(BindMount {
                source: "/sys/fs/cgroup".into(),
                destination: destination.into(),
                readonly: false,
            });
            let spec = build_spec(&i).unwrap();
            spec.linux()
                .as_ref()
                .unwrap()
                .readonly_paths()
                .clone()
                .unwrap()
        };
        // `-v /sys/fs/cgroup:/sys/fs/cgroup:rw` (systemd in a container) replaces Docker's
        // read-only cgroup mount.
        assert_eq!(readonly_with("/sys/fs/cgroup"), default_readonly_paths());
        // One over a single hierarchy leaves that one as asked and the rest read-only.
        let readonly = readonly_with("/sys/fs/cgroup/systemd");
        assert!(readonly.iter().any(|p| p == "/sys/fs/cgroup"));
        assert!(
            !readonly
                .iter()
                .any(|p| p.starts_with("/sys/fs/cgroup/systemd"))
        );
    }

    #[test]
    fn user_mounts_come_between_tmpfs_and_engine_binds() {
        let mut i = input();
        i.tmpfs = vec![("/run".into(), "".into())];
        i.mounts = vec![
            UserMount::Bind {
                source: "/var/lib/berth/volumes/v/_data".into(),
                destination: "/data".into(),
                readonly: true,
                propagation: "rshared".into(),
                recursive: true,
            },
            UserMount::Bind {
                source: "/srv".into(),
                destination: "/srv".into(),
                readonly: false,
                propagation: String::new(),
                recursive: false,
            },
            UserMount::Tmpfs {
                destination: "/scratch".into(),
                options: "size=1024k,mode=1770".into(),
            },
        ];
        i.binds = vec![BindMount {
            source: "/etc/hosts-x".into(),
            destination: "/etc/hosts".into(),
            readonly: false,
        }];
        let spec = build_spec(&i).unwrap();
        assert_eq!(
            &mount_dests(&spec)[7..],
            &s(&["/run", "/data", "/srv", "/scratch", "/etc/hosts"])
        );
        assert_eq!(
            find_mount(&spec, "/data").options().as_ref().unwrap(),
            &s(&["rbind", "ro", "rshared"])
        );
        assert_eq!(
            find_mount(&spec, "/srv").options().as_ref().unwrap(),
            &s(&["bind", "rprivate"])
        );
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .rootfs_propagation()
                .as_deref(),
            Some("shared")
        );
        let scratch = find_mount(&spec, "/scratch").options().clone().unwrap();
        assert!(
            scratch.contains(&"size=1024k".to_string())
                && scratch.contains(&"mode=1770".to_string()),
            "{scratch:?}"
        );
    }

    #[test]
    fn tmpfs_and_binds_in_order() {
        let mut i = input();
        i.tmpfs = vec![
            ("/run".into(), "".into()),
            ("/tmp".into(), "size=64m,exec".into()),
        ];
        i.binds = vec![
            BindMount {
                source: "/etc/hosts-x".into(),
                destination: "/etc/hosts".into(),
                readonly: false,
            },
            BindMount {
                source: "/srv/data".into(),
                destination: "/data".into(),
                readonly: true,
            },
        ];
        let spec = build_spec(&i).unwrap();
        let dests = mount_dests(&spec);
        assert_eq!(&dests[7..], &s(&["/run", "/tmp", "/etc/hosts", "/data"]));
        assert_eq!(
            find_mount(&spec, "/run").options().as_ref().unwrap(),
            &s(&["rw", "nosuid", "nodev", "noexec"])
        );
        let tmp = find_mount(&spec, "/tmp");
        assert_eq!(tmp.typ().as_deref(), Some("tmpfs"));
        assert_eq!(
            tmp.options().as_ref().unwrap(),
            &s(&["rw", "nosuid", "nodev", "size=64m", "exec"])
        );
        let hosts = find_mount(&spec, "/etc/hosts");
        assert_eq!(hosts.typ().as_deref(), Some("bind"));
        assert_eq!(hosts.source().as_deref(), Some(Path::new("/etc/hosts-x")));
        assert_eq!(
            hosts.options().as_ref().unwrap(),
            &s(&["rbind", "rprivate"])
        );
        assert_eq!(
            find_mount(&spec, "/data").options().as_ref().unwrap(),
            &s(&["rbind", "ro", "rprivate"])
        );
    }

    #[test]
    fn user_mounts_replace_defaults_and_bad_ones_fail() {
        let mut i = input();
        i.tmpfs = vec![("/dev/shm".into(), "size=1g".into())];
        let spec = build_spec(&i).unwrap();
        let dests = mount_dests(&spec);
        assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
        assert!(
            find_mount(&spec, "/dev/shm")
                .options()
                .as_ref()
                .unwrap()
                .contains(&"size=1g".to_string())
        );

        i.tmpfs = vec![("relative".into(), "".into())];
        assert!(matches!(
            build_spec(&i),
            Err(SpecError::InvalidTmpfs { .. })
        ));
        i.tmpfs.clear();
        i.binds = vec![BindMount {
            source: "rel".into(),
            destination: "/x".into(),
            readonly: false,
        }];
        assert!(matches!(build_spec(&i), Err(SpecError::InvalidBind { .. })));
    }

    #[test]
    fn merge_options_later_wins() {
        assert_eq!(
            merge_mount_options(&[
                "rw", "nosuid", "nodev", "noexec", "ro", "size=1m", "size=2m", "suid"
            ]),
            s(&["nodev", "noexec", "ro", "size=2m", "suid"])
        );
    }
}
