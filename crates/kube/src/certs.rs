//! The API's private CA, per state root (`<root>/kube/pki/ca.crt`, `ca.key`, made once), the
//! server certificate it signs for the addresses served (made afresh at every start, so a new
//! listen address is always named), and admin client certificates for kubeconfigs
//! (CN=berth-admin, O=system:masters, as a cluster's admin.conf).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_pki::{Authority, Issued};

use crate::error::KubeError;

const CA_NAME: &str = "berth kube CA";
pub const ADMIN_USER: &str = "berth-admin";
pub const ADMIN_GROUP: &str = "system:masters";

pub fn pki_dir(kube_dir: &Path) -> PathBuf {
    kube_dir.join("pki")
}

/// Writes a file readable by its owner only, atomically (temp file, then rename).
pub fn write_private(path: &Path, text: &str) -> Result<(), KubeError> {
    let io = |source| KubeError::Io {
        what: format!("writing {}", path.display()),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}

/// The state root's CA: loaded, or made the first time.
pub fn authority(kube_dir: &Path) -> Result<Authority, KubeError> {
    let dir = pki_dir(kube_dir);
    let (cert, key) = (dir.join("ca.crt"), dir.join("ca.key"));
    if let (Ok(cert), Ok(key)) = (
        std::fs::read_to_string(&cert),
        std::fs::read_to_string(&key),
    ) {
        return Ok(Authority::load(CA_NAME, &cert, &key)?);
    }
    let ca = Authority::generate(CA_NAME)?;
    write_private(&key, &ca.pem.key)?;
    write_private(&cert, &ca.pem.cert)?;
    Ok(ca)
}

/// A server certificate for these names and addresses (plus localhost and loopback).
pub fn server(ca: &Authority, names: &[String]) -> Result<Issued, KubeError> {
    let mut all = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
    ];
    for name in names {
        if !all.contains(name) {
            all.push(name.clone());
        }
    }
    Ok(ca.server("berth-kube-apiserver", &all)?)
}

pub fn admin(ca: &Authority) -> Result<Issued, KubeError> {
    Ok(ca.client(ADMIN_USER, &[ADMIN_GROUP])?)
}
