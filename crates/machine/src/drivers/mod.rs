//! One file per [`crate::MachineDriver`]: `qemu` (QEMU microvm through berth's VM relay) now; an
//! own VMM or a cloud provider would sit beside it.

pub mod qemu;

use crate::{MachineDriver, MachineError};

/// The driver `create -d NAME` asks for.
pub fn by_name(name: &str) -> Result<Box<dyn MachineDriver>, MachineError> {
    match name {
        "qemu" => Ok(Box::new(qemu::Qemu)),
        other => Err(MachineError::UnknownDriver(other.to_string())),
    }
}
