//! `--network host`: the container runs in the host's namespace; nothing to make.

use super::{Namespace, NetworkDriver};

/// The mode's (and Docker's driver's) name.
pub const NAME: &str = "host";

pub struct Host;

impl NetworkDriver for Host {
    fn name(&self) -> &'static str {
        NAME
    }

    fn namespace(&self) -> Namespace {
        Namespace::Host
    }
}
