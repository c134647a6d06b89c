//! What can go wrong on the host side of a micro-VM: finding and preparing the guest kernel,
//! building the initramfs, starting QEMU and reaching the guest agent.

use std::io;
use std::path::PathBuf;

use crate::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error(
        "no guest kernel found (looked for {looked_for}); `apt-get install linux-image-amd64` provides one, or name one with --kernel"
    )]
    NoKernel { looked_for: String },
    #[error("the guest kernel {path}: {reason}")]
    BadKernel { path: PathBuf, reason: String },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("decompressing the kernel {path}: {source}")]
    Decompress {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the kernel module {name} is not in {modules_dir} (modules.dep)")]
    MissingModule { name: String, modules_dir: PathBuf },
    #[error("the kernel module {path}: {reason}")]
    BadModule { path: PathBuf, reason: String },
    #[error("finding the shared libraries of {binary}: {reason}")]
    Libraries { binary: PathBuf, reason: String },
    #[error("qemu-system-x86_64 not found: apt-get install qemu-system-x86")]
    NoQemu,
    #[error(
        "the socket path {path} is longer than a Unix socket address allows (107 bytes): use a shorter run directory"
    )]
    SocketPathTooLong { path: PathBuf },
    #[error("starting QEMU: {0}")]
    Spawn(#[source] io::Error),
    #[error(
        "the guest agent did not say hello within {waited_ms} ms; the serial log ends with:\n{serial}"
    )]
    BootTimeout { waited_ms: u64, serial: String },
    #[error(
        "QEMU exited ({status}) before the guest agent said hello; the serial log ends with:\n{serial}"
    )]
    QemuExited { status: String, serial: String },
    #[error("the guest agent's first frame was {kind:?}, not Hello")]
    NotHello { kind: crate::protocol::Kind },
    #[error("talking to the guest agent: {0}")]
    Protocol(#[source] ProtocolError),
    #[error("QEMU's monitor (QMP) at {path}: {source}")]
    QmpIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("QEMU's monitor refused {command}: {message}")]
    Qmp { command: String, message: String },
    #[error("waiting for QEMU: {0}")]
    Wait(#[source] io::Error),
}
