//! `--network container:NAME`: the container joins another container's namespace (the engine
//! resolves which); it makes nothing and owns no interface.

use super::{Namespace, NetworkDriver};

/// How the network mode starts.
pub const PREFIX: &str = "container:";

pub struct Container;

impl NetworkDriver for Container {
    fn name(&self) -> &'static str {
        "container"
    }

    fn namespace(&self) -> Namespace {
        Namespace::Shared
    }
}
