//! `--network none`: a fresh namespace with loopback only (Docker's `null` driver).

use super::{Namespace, NetworkDriver};

/// The network mode's name.
pub const MODE: &str = "none";

pub struct Null;

impl NetworkDriver for Null {
    fn name(&self) -> &'static str {
        "null"
    }

    fn namespace(&self) -> Namespace {
        Namespace::Loopback
    }
}
