//! The machine's TLS certificates, docker-machine's layout in `certs/`: a CA of its own
//! (`ca.pem`, `ca-key.pem`), the engine's server certificate (`server.pem`, `server-key.pem`)
//! and a client certificate (`cert.pem`, `key.pem`), so `DOCKER_CERT_PATH=certs/` is all the
//! docker CLI needs. The server certificate names 127.0.0.1, localhost and the machine's name:
//! clients reach the guest through a loopback port forward, so a changed guest address never
//! invalidates it (docker-machine's certs broke whenever a VM's DHCP address changed).

use std::path::Path;

use berth_pki::Authority;

use crate::MachineError;
use crate::paths::write_atomic;

pub const CA: &str = "ca.pem";
pub const CA_KEY: &str = "ca-key.pem";
pub const SERVER: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";
pub const CLIENT: &str = "cert.pem";
pub const CLIENT_KEY: &str = "key.pem";

/// The PEM texts of one machine's certificates and keys.
pub struct MachineCerts {
    pub ca: String,
    pub ca_key: String,
    pub server: String,
    pub server_key: String,
    pub client: String,
    pub client_key: String,
}

pub fn generate(machine: &str) -> Result<MachineCerts, MachineError> {
    let ca = Authority::generate(&format!("berth machine {machine} CA"))?;
    let server = ca.server(
        machine,
        &[
            "127.0.0.1".to_string(),
            "localhost".to_string(),
            machine.to_string(),
        ],
    )?;
    let client = ca.client("berth machine client", &[])?;
    Ok(MachineCerts {
        ca: ca.pem.cert,
        ca_key: ca.pem.key,
        server: server.cert,
        server_key: server.key,
        client: client.cert,
        client_key: client.key,
    })
}

impl MachineCerts {
    /// Writes the six files into `dir` (keys readable by the owner only).
    pub fn write(&self, dir: &Path) -> Result<(), MachineError> {
        std::fs::create_dir_all(dir).map_err(MachineError::io("creating", dir))?;
        for (file, text, mode) in [
            (CA, &self.ca, 0o644),
            (CA_KEY, &self.ca_key, 0o600),
            (SERVER, &self.server, 0o644),
            (SERVER_KEY, &self.server_key, 0o600),
            (CLIENT, &self.client, 0o644),
            (CLIENT_KEY, &self.client_key, 0o600),
        ] {
            let path = dir.join(file);
            write_atomic(&path, text.as_bytes(), mode)
                .map_err(MachineError::io("writing", &path))?;
        }
        Ok(())
    }
}

/// Reads one file of a machine's `certs/`.
pub fn read(dir: &Path, file: &str) -> Result<String, MachineError> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(MachineError::io("reading", &path))
}
