//! `berth kube config`: a kubeconfig for the API, with the CA to trust and an admin client
//! certificate embedded (base64, as kubeadm's admin.conf).

use std::path::Path;

use base64::Engine as _;

use crate::certs;
use crate::error::KubeError;

/// The kubeconfig text for a server URL, with a freshly signed admin certificate.
pub fn render(kube_dir: &Path, server: &str) -> Result<String, KubeError> {
    let ca = certs::authority(kube_dir)?;
    let admin = certs::admin(&ca)?;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    Ok(format!(
        "apiVersion: v1
kind: Config
clusters:
- name: berth
  cluster:
    server: {server}
    certificate-authority-data: {ca}
contexts:
- name: berth
  context:
    cluster: berth
    user: {user}
    namespace: default
current-context: berth
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(&ca.pem.cert),
        user = certs::ADMIN_USER,
        cert = b64(&admin.cert),
        key = b64(&admin.key),
    ))
}
