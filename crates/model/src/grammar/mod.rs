//! The Docker CLI's value grammars: what a flag's text means and how Docker words a refusal.
//! Every front end that takes Docker's syntax (the CLI's flags, compose files, kube objects)
//! parses through these. Errors are the reason part of Docker's messages, byte for byte (the
//! CLI prints them and the tests compare them); [`flag_error`] wraps one in pflag's sentence.

mod caps;
mod cpus;
mod device;
mod env_file;
mod go_value;
mod isolation;
mod memory;
mod mount;
mod network;
mod publish;
mod restart;
mod security_opt;
mod ulimit;

pub use caps::normalize_caps;
pub use cpus::parse_cpus;
pub use device::parse_device;
pub use env_file::{read_env_file, read_kv_file};
pub use go_value::{parse_go_bool, parse_go_duration, parse_go_float, parse_go_int};
pub use isolation::{
    DeviceCgroupRule, NamespaceKind, NamespaceMode, parse_cpuset, parse_device_cgroup_rule,
    parse_namespace_mode,
};
pub use memory::parse_memory;
pub use mount::{VolumeFlag, parse_mount, parse_volume};
pub use network::{network_mode, parse_network};
pub use publish::parse_publish;
pub use restart::parse_restart_policy;
pub use security_opt::parse_security_opts;
pub use ulimit::parse_ulimit;

use crate::gofmt::go_quote;

/// pflag's wording for a value a flag rejects.
pub fn flag_error(value: &str, flag: &str, reason: &str) -> String {
    format!(
        "invalid argument {} for \"{flag}\" flag: {reason}",
        go_quote(value)
    )
}

/// Go's *PathError text: "open /x: no such file or directory".
pub(crate) fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => {
            let s = std::io::Error::from_raw_os_error(code).to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut chars = s.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => s,
            }
        }
        None => e.to_string(),
    };
    format!("{op} {path}: {text}")
}
