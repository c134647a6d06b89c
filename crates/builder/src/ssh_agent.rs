//! `--ssh default|ID[=SOCKET]` (and Compose's `build.ssh`): the agent sockets a build forwards
//! to `RUN --mount=type=ssh`, by id. `default` and a bare id mean `$SSH_AUTH_SOCK`. berth
//! forwards running agents only; key files need `ssh-agent` and `ssh-add` first.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

/// The sockets of `specs`; an error names the spec and what to do.
pub fn ssh_sockets(specs: &[String]) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let (id, path) = match spec.split_once('=') {
            Some((id, path)) => (id.to_string(), path.to_string()),
            None => (
                spec.clone(),
                std::env::var("SSH_AUTH_SOCK").map_err(|_| {
                    format!(
                        "invalid --ssh {spec:?}: SSH_AUTH_SOCK is not set (start ssh-agent, or give {spec}=SOCKET)"
                    )
                })?,
            ),
        };
        let is_socket = std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_socket());
        if !is_socket {
            return Err(format!(
                "invalid --ssh {spec:?}: {path} is not an agent socket (berth forwards a running ssh-agent: ssh-add the key, then --ssh {id}=$SSH_AUTH_SOCK)"
            ));
        }
        out.insert(id, PathBuf::from(path));
    }
    Ok(out)
}
