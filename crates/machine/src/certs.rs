//! The machine's TLS certificates, docker-machine's layout in `certs/`: a CA of its own
//! (`ca.pem`, `ca-key.pem`), the engine's server certificate (`server.pem`, `server-key.pem`)
//! and a client certificate (`cert.pem`, `key.pem`), so `DOCKER_CERT_PATH=certs/` is all the
//! docker CLI needs. The server certificate names 127.0.0.1, localhost and the machine's name:
//! clients reach the guest through a loopback port forward, so a changed guest address never
//! invalidates it (docker-machine's certs broke whenever a VM's DHCP address changed).

use std::path::Path;

use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

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

/// Valid from a day before the start of this year (a guest clock set a little behind still
/// accepts them) for ten years.
fn validity(params: &mut CertificateParams) {
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 12, 31);
    params.not_after = rcgen::date_time_ymd(year + 10, 12, 31);
}

pub fn generate(machine: &str) -> Result<MachineCerts, MachineError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("berth machine {machine} CA"));
    validity(&mut ca_params);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        machine.to_string(),
    ])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, machine.to_string());
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut server_params);
    let server = server_params.signed_by(&server_key, &issuer)?;

    let client_key = KeyPair::generate()?;
    let mut client_params = CertificateParams::new(Vec::<String>::new())?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "berth machine client");
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut client_params);
    let client = client_params.signed_by(&client_key, &issuer)?;

    Ok(MachineCerts {
        ca: ca_pem,
        ca_key: ca_key_pem,
        server: server.pem(),
        server_key: server_key.serialize_pem(),
        client: client.pem(),
        client_key: client_key.serialize_pem(),
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
