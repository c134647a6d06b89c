//! A `--vm` container's [`berth_vm::config::Launch`]: the engine's [`Launch`] (its mounted
//! rootfs, resolved process, mounts, network files and namespace) and the container's settings
//! as a guest to boot. Docker-like defaults: 1 vCPU unless `--cpus` (rounded up) or a CPU
//! quota says more, 256 MiB unless `-m` says otherwise.

use std::path::{Path, PathBuf};

use berth_vm::config::{
    GuestFile, GuestMount, GuestNetwork, GuestProcess, GuestRun, HostShare, Launch as VmLaunch,
    Nic, ROOT_TAG,
};

use crate::sandbox::{Launch, Mount, SandboxError};
use crate::types::{CreateRequest, HostConfig};

/// A guest's memory when `-m` is not given, MiB.
pub(super) const DEFAULT_MEMORY_MIB: u64 = 256;

/// The smallest guest that boots the kernel and the agent, MiB.
const MIN_MEMORY_MIB: u64 = 64;

/// How long the guest may take to say it is ready: a TCG boot is ~2 s on an idle host.
const BOOT_TIMEOUT_MS: u64 = 30_000;

/// The tap QEMU's NIC uses in the container's namespace.
pub(super) const TAP: &str = "berth-tap0";

/// A file bind larger than this is refused: 9p shares directories, a file goes over as its
/// contents.
const MAX_FILE_BIND: u64 = 1 << 20;

/// The label that names the user's kernel (`--kernel`): Docker has no such field.
pub const KERNEL_LABEL: &str = "org.berth.vm.kernel";

/// Where the guest's settings go: the relay's run directory, the kernel cache.
pub(super) struct Dirs<'a> {
    pub run_dir: &'a Path,
    pub cache_dir: &'a Path,
}

/// The launch of container `id`'s guest from its settings and the engine's `launch`; `nic`
/// is the guest's side of the container's network (none without one).
pub(super) fn build(
    id: &str,
    config: &CreateRequest,
    launch: Launch,
    dirs: Dirs<'_>,
    nic: Option<GuestNetwork>,
) -> Result<VmLaunch, SandboxError> {
    if launch.pid_ns.is_some() || launch.ipc_ns.is_some() {
        return Err(refused(
            "a --vm container has its own kernel: it cannot join another container's pid or IPC namespace",
        ));
    }
    let hc = &config.host_config;
    let mut shares = vec![HostShare {
        tag: ROOT_TAG.to_string(),
        source: launch.rootfs.clone(),
        readonly: hc.readonly_rootfs,
    }];
    let mut mounts = Vec::new();
    let mut files = network_files(&launch.network_files);
    for (index, mount) in launch.mounts.iter().enumerate() {
        match mount {
            Mount::Bind {
                source,
                destination,
                readonly,
                ..
            } if source.is_dir() => {
                let tag = format!("berth-m{index}");
                shares.push(HostShare {
                    tag: tag.clone(),
                    source: source.clone(),
                    readonly: *readonly,
                });
                mounts.push(GuestMount::Share {
                    tag,
                    destination: destination.clone(),
                    readonly: *readonly,
                });
            }
            Mount::Bind {
                source,
                destination,
                ..
            } => files.push(file_bind(source, destination)?),
            Mount::Tmpfs {
                destination,
                options,
            } => mounts.push(GuestMount::Tmpfs {
                destination: destination.clone(),
                options: options.clone(),
            }),
        }
    }
    for (destination, options) in hc.tmpfs.iter().flatten() {
        mounts.push(GuestMount::Tmpfs {
            destination: destination.clone(),
            options: options.clone(),
        });
    }
    let dns_forward = files
        .iter()
        .any(|f| f.path == "/etc/resolv.conf" && f.content.contains("127.0.0.11"));
    let c = &config.config;
    Ok(VmLaunch {
        id: id.to_string(),
        run_dir: dirs.run_dir.to_path_buf(),
        cache_dir: dirs.cache_dir.to_path_buf(),
        kernel: c
            .labels
            .as_ref()
            .and_then(|l| l.get(KERNEL_LABEL))
            .map(PathBuf::from),
        cpus: cpus_of(hc),
        memory_mib: memory_mib_of(hc),
        shares,
        disks: Vec::new(),
        netns: launch.netns.clone(),
        nic: nic.as_ref().map(|_| Nic::Tap {
            name: TAP.to_string(),
        }),
        guest: GuestRun {
            process: GuestProcess {
                args: launch.args,
                env: launch.env,
                cwd: launch.cwd,
                uid: launch.uid,
                gid: launch.gid,
                additional_gids: launch.additional_gids,
                terminal: c.tty,
                console_size: None,
                stdin: c.open_stdin,
            },
            hostname: launch.hostname,
            shared_root: true,
            mounts,
            files,
            network: nic,
            dns_forward,
            clock_ns: 0,
        },
        console_socket: None,
        boot_timeout_ms: BOOT_TIMEOUT_MS,
        profile: Default::default(),
    })
}

/// vCPUs: `--cpus` (NanoCpus) or the CPU quota, rounded up; 1 by default; at most the host's.
pub(super) fn cpus_of(hc: &HostConfig) -> u32 {
    let wanted = if hc.nano_cpus > 0 {
        (hc.nano_cpus as u64).div_ceil(1_000_000_000)
    } else if hc.cpu_quota > 0 {
        let period = if hc.cpu_period > 0 {
            hc.cpu_period
        } else {
            100_000
        };
        (hc.cpu_quota as u64).div_ceil(period as u64)
    } else {
        1
    };
    let host = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    wanted.clamp(1, host) as u32
}

/// The guest's memory: `-m` in MiB (at least what boots), 256 MiB by default.
pub(super) fn memory_mib_of(hc: &HostConfig) -> u64 {
    if hc.memory > 0 {
        (hc.memory as u64 >> 20).max(MIN_MEMORY_MIB)
    } else {
        DEFAULT_MEMORY_MIB
    }
}

/// The container's resolv.conf, hostname and hosts as files laid over the guest's root.
fn network_files(dir: &Path) -> Vec<GuestFile> {
    [
        ("resolv.conf", "/etc/resolv.conf"),
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
    ]
    .iter()
    .filter_map(|(name, path)| {
        let content = std::fs::read_to_string(dir.join(name)).ok()?;
        Some(GuestFile {
            path: path.to_string(),
            content,
        })
    })
    .collect()
}

/// A bind of a single file: its contents at the start (9p shares directories only).
fn file_bind(source: &Path, destination: &str) -> Result<GuestFile, SandboxError> {
    let meta = std::fs::metadata(source).map_err(|e| {
        refused(format!(
            "invalid mount config: bind source path does not exist: {} ({e})",
            source.display()
        ))
    })?;
    if meta.len() > MAX_FILE_BIND {
        return Err(refused(format!(
            "a --vm container shares directories; the file {} ({} bytes) is too large to copy in: bind its directory",
            source.display(),
            meta.len()
        )));
    }
    let content = std::fs::read_to_string(source).map_err(|e| {
        refused(format!(
            "a --vm container gets a bound file as a copy of its text: {}: {e}",
            source.display()
        ))
    })?;
    Ok(GuestFile {
        path: destination.to_string(),
        content,
    })
}

fn refused(message: impl Into<String>) -> SandboxError {
    SandboxError::Refused(message.into().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_round_up_and_memory_has_a_default() {
        let hc = HostConfig {
            nano_cpus: 1_500_000_000,
            ..Default::default()
        };
        let host = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert_eq!(cpus_of(&hc), 2.min(host));
        assert_eq!(cpus_of(&HostConfig::default()), 1);
        assert_eq!(memory_mib_of(&HostConfig::default()), 256);
        let small = HostConfig {
            memory: 16 << 20,
            ..Default::default()
        };
        assert_eq!(memory_mib_of(&small), 64, "at least what boots");
        let half = HostConfig {
            memory: 512 << 20,
            ..Default::default()
        };
        assert_eq!(memory_mib_of(&half), 512);
    }

    #[test]
    fn mounts_become_shares_tmpfs_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let note = dir.path().join("note.txt");
        std::fs::write(&note, "hello").unwrap();
        let net = dir.path().join("net");
        std::fs::create_dir(&net).unwrap();
        std::fs::write(net.join("resolv.conf"), "nameserver 127.0.0.11\n").unwrap();
        let launch = Launch {
            rootfs: "/run/x/rootfs".into(),
            args: vec!["sh".into()],
            cwd: "/".into(),
            network_files: net,
            mounts: vec![
                Mount::Bind {
                    source: data.clone(),
                    destination: "/data".into(),
                    readonly: true,
                    propagation: String::new(),
                    recursive: true,
                },
                Mount::Bind {
                    source: note,
                    destination: "/etc/note".into(),
                    readonly: false,
                    propagation: String::new(),
                    recursive: true,
                },
                Mount::Tmpfs {
                    destination: "/scratch".into(),
                    options: "size=1m".into(),
                },
            ],
            ..Default::default()
        };
        let vm = build(
            "c0ffee",
            &CreateRequest::default(),
            launch,
            Dirs {
                run_dir: Path::new("/run/vm/c0ffee"),
                cache_dir: Path::new("/var/lib/berth/vm"),
            },
            None,
        )
        .unwrap();
        assert_eq!(vm.shares.len(), 2);
        assert_eq!(vm.shares[0].tag, ROOT_TAG);
        assert_eq!(vm.shares[1].source, data);
        assert_eq!(
            vm.guest.mounts,
            [
                GuestMount::Share {
                    tag: "berth-m0".into(),
                    destination: "/data".into(),
                    readonly: true
                },
                GuestMount::Tmpfs {
                    destination: "/scratch".into(),
                    options: "size=1m".into()
                }
            ]
        );
        assert!(
            vm.guest
                .files
                .iter()
                .any(|f| f.path == "/etc/note" && f.content == "hello")
        );
        assert!(vm.guest.dns_forward, "the embedded DNS is in resolv.conf");
        assert!(vm.guest.shared_root);
        assert_eq!((vm.cpus, vm.memory_mib), (1, 256));
    }
}
