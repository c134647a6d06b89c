//! berth-vm: everything a micro-VM needs that is not a container record.
//!
//! Owns: the wire protocol between the host and the guest agent ([`protocol`]), what the host
//! hands a guest to run ([`config`]), the guest agent itself (`berth vm-agent`, PID 1 of the
//! guest), the guest kernel and the initramfs berth derives from the host's Debian kernel, the
//! accelerator choice (KVM only when a self-test proves it fast, else TCG), the QEMU command line
//! and its QMP monitor, and the host-side relay (`berth vm-relay`) that boots a guest and stands
//! in for a container's init: its stdio are the container's, it forwards signals, serves exec
//! and exits with the guest process's status.
//!
//! Must not: know about images, container records or the state database. The engine's
//! `microvm` sandbox and the `machine` crate call it with plain paths and values.

pub mod accel;
pub mod agent;
pub mod boot_images;
pub mod config;
pub mod error;
pub mod exec_client;
pub mod initramfs;
pub mod kernel;
pub mod modules;
pub mod protocol;
pub mod qemu;
pub mod relay;
pub mod terminal;
pub mod unix_socket;

pub use accel::Accel;
pub use error::VmError;
pub use kernel::{GuestKernel, Profile, guest_kernel};
pub use qemu::{Vm, serial_tail};
