//! What the host hands a guest: the relay's whole job ([`Launch`], written by the engine's
//! microvm sandbox or by the machine driver), and the JSON payloads of the protocol's control
//! frames ([`Hello`], [`GuestRun`], [`GuestExec`], [`Started`], [`Failed`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks; the agent says its own in [`Hello`].
pub const PROTOCOL_VERSION: u32 = 1;

/// The 9p mount tag of the guest's root filesystem (the container's mounted rootfs).
pub const ROOT_TAG: &str = "berth-root";

/// The name of the virtio-serial port the agent talks on.
pub const AGENT_PORT: &str = "berth-agent";

/// The agent's greeting, the guest's readiness signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    /// The guest's uptime when the agent was ready, milliseconds (boot-time reporting).
    pub uptime_ms: u64,
}

/// A process to run in the guest, as the container's config resolved it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestProcess {
    /// argv, never empty; a bare name is looked up in the process's `PATH`.
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Absolute working directory inside the root.
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// Run on a pty (`-t`); its output comes as [`crate::protocol::Kind::Stdout`].
    pub terminal: bool,
    /// The pty's size from the start (rows, columns).
    pub console_size: Option<(u16, u16)>,
    /// Whether stdin is open (`-i`); without it the process reads /dev/null.
    pub stdin: bool,
}

/// The guest's setup and its main process ([`crate::protocol::Kind::Run`] on stream 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestRun {
    pub process: GuestProcess,
    pub hostname: String,
    /// Mount the 9p share [`ROOT_TAG`] as the root the process sees; without it (a machine)
    /// the process runs in the initramfs itself.
    pub shared_root: bool,
    /// In order, after the root: volumes, binds, tmpfs, disks.
    pub mounts: Vec<GuestMount>,
    /// Files laid over the root (bind-mounted from guest memory, the root's own files stay
    /// untouched): /etc/resolv.conf, /etc/hosts, /etc/hostname.
    pub files: Vec<GuestFile>,
    /// The guest's one network interface, if it has one.
    pub network: Option<GuestNetwork>,
    /// The agent answers DNS on 127.0.0.11:53 (UDP and TCP) by forwarding each query to the
    /// host as a [`crate::protocol::Kind::DnsQuery`] frame (the container's embedded DNS lives
    /// in its network namespace on the host).
    pub dns_forward: bool,
    /// The host's clock at launch, nanoseconds since the Unix epoch.
    pub clock_ns: i64,
}

/// A mount in the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum GuestMount {
    /// A 9p share of a host directory (a bind or a volume).
    Share {
        tag: String,
        destination: String,
        readonly: bool,
    },
    Tmpfs {
        destination: String,
        /// tmpfs options such as "size=65536k,mode=1770".
        options: String,
    },
    /// A virtio-blk disk with a filesystem on it (a machine's persistent disk); `serial` is the
    /// drive's serial, how the agent finds its device.
    Disk {
        serial: String,
        destination: String,
        fstype: String,
    },
}

/// A file laid over the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestFile {
    pub path: String,
    pub content: String,
}

/// The guest's network interface (virtio-net, the first one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestNetwork {
    /// "02:42:ac:11:00:02"
    pub mac: String,
    /// CIDR addresses, IPv4 and IPv6: "172.17.0.2/16".
    pub addresses: Vec<String>,
    pub gateway: Option<String>,
    pub gateway6: Option<String>,
    pub mtu: u32,
}

/// A process to start in a running guest (exec), on a stream the host picked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestExec {
    pub process: GuestProcess,
}

/// The stream's process runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// Its pid in the guest.
    pub pid: i32,
}

/// The stream's process could not start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    /// Docker's words: `exec: "nope": executable file not found in $PATH`.
    pub message: String,
    /// 127 (not found), 126 (not executable), 125 (the setup failed).
    pub exit_code: i32,
}

/// Everything the relay needs to boot a guest and run it (`berth vm-relay CONFIG`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// The container's (or machine's) id, for messages and QEMU's `-name`.
    pub id: String,
    /// Where the relay keeps its sockets (agent, QMP, exec), the serial log and QEMU's pidfile.
    pub run_dir: PathBuf,
    /// Where berth caches what it derives from the kernel (vmlinux, initramfs), shared by every
    /// guest: `<BERTH_ROOT>/vm`.
    pub cache_dir: PathBuf,
    /// The user's kernel (`--kernel`); else the newest Debian kernel installed.
    pub kernel: Option<PathBuf>,
    pub cpus: u32,
    pub memory_mib: u64,
    /// Host directories shared over 9p (the root is tagged [`ROOT_TAG`]).
    pub shares: Vec<HostShare>,
    /// Disks on virtio-blk.
    pub disks: Vec<HostDisk>,
    /// The network namespace QEMU runs in (the container's): the guest's NIC is a tap in it.
    pub netns: Option<PathBuf>,
    pub nic: Option<Nic>,
    pub guest: GuestRun,
    /// `-t`: the relay sends the host end of a pty here (runc's console-socket protocol).
    pub console_socket: Option<PathBuf>,
    /// How long the guest may take to say [`Hello`] before the launch fails with the serial
    /// log's tail, milliseconds.
    pub boot_timeout_ms: u64,
    /// What the guest is for, which decides the initramfs's modules and tools: a container's
    /// VM (`run --vm`, the default) or a machine (a Docker host: ext4, netfilter, bridges, a
    /// shell).
    #[serde(default)]
    pub profile: GuestProfile,
}

/// The kind of guest a [`Launch`] boots, which decides its initramfs's modules and tools
/// (`kernel::guest_kernel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestProfile {
    /// `run --vm`: virtio transport, the agent's port, 9p and virtio-net.
    #[default]
    Container,
    /// `berth machine`: a Docker host, with disks, overlay, bridges and nftables on top.
    Machine,
}

impl GuestProfile {
    /// Its name in file names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestProfile::Container => "container",
            GuestProfile::Machine => "machine",
        }
    }
}

/// A host directory shared with the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostShare {
    pub tag: String,
    pub source: PathBuf,
    pub readonly: bool,
}

/// A disk image attached to the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostDisk {
    pub path: PathBuf,
    /// "raw" or "qcow2".
    pub format: String,
    /// The drive's serial, how the guest finds it.
    pub serial: String,
}

/// The guest's network card and what is behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Nic {
    /// A tap device of this name in [`Launch::netns`] (made by the sandbox, on a bridge there).
    Tap { name: String },
    /// QEMU's user-mode network (slirp), with TCP forwards from the host's loopback.
    User { forwards: Vec<PortForward> },
}

/// A TCP port forward of a user-mode NIC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortForward {
    pub host_address: String,
    pub host_port: u16,
    pub guest_port: u16,
}
