//! Docker Compose v2's labels: how a container, network or volume says which project and
//! service it belongs to, so `docker compose` and `berth compose` manage each other's.

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const VERSION: &str = "com.docker.compose.version";

/// The Docker Compose release whose behaviour berth follows, written in [`VERSION`] as
/// Compose writes its own: tools read it (docker-compose 1.29 fails on a container without).
pub const COMPOSE_VERSION: &str = "2.39.1";
