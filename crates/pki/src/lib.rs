//! berth-pki: the private certificate authorities berth mints for itself (a machine's Docker
//! TLS, the Kubernetes API's client-certificate auth): a CA, server certificates for names and
//! addresses, and client certificates with a common name and organizations (Kubernetes reads
//! the user from CN and the groups from O), and the [`listener`] both HTTPS APIs accept
//! TLS connections on.
//!
//! Must not: read or write files, or know who uses a certificate; callers store the PEM texts
//! where their layout says.

pub mod listener;

use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: String,
    pub key: String,
}

/// A CA able to sign: its certificate and key (PEM) and the name it was made with, from which
/// its signing parameters are rebuilt when it is loaded again.
pub struct Authority {
    pub pem: Issued,
    issuer: Issuer<'static, KeyPair>,
}

/// Valid from a day before the start of this year (a guest clock set a little behind still
/// accepts them) for ten years.
fn validity(params: &mut CertificateParams) {
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 12, 31);
    params.not_after = rcgen::date_time_ymd(year + 10, 12, 31);
}

/// The CA's parameters for a name: the same every time, so a CA loaded from its key signs
/// certificates that chain to the certificate minted first (issuer name and key id match).
fn ca_params(name: &str) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.distinguished_name.push(DnType::CommonName, name);
    validity(&mut params);
    Ok(params)
}

impl Authority {
    /// A new CA whose common name is `name`.
    pub fn generate(name: &str) -> Result<Authority, PkiError> {
        let key = KeyPair::generate()?;
        let params = ca_params(name)?;
        let cert = params.self_signed(&key)?;
        let pem = Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        };
        Ok(Authority {
            pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA `generate(name)` made, from its certificate and key PEM.
    pub fn load(name: &str, cert: &str, key: &str) -> Result<Authority, PkiError> {
        let key_pair = KeyPair::from_pem(key)?;
        Ok(Authority {
            pem: Issued {
                cert: cert.to_string(),
                key: key.to_string(),
            },
            issuer: Issuer::new(ca_params(name)?, key_pair),
        })
    }

    /// A server certificate for these DNS names and IP addresses (rcgen tells them apart).
    pub fn server(&self, common_name: &str, names: &[String]) -> Result<Issued, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// A client certificate: CN `common_name`, one O per organization.
    pub fn client(&self, common_name: &str, organizations: &[&str]) -> Result<Issued, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for org in organizations {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *org);
        }
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_ca_signs_like_the_minted_one() {
        let ca = Authority::generate("test CA").unwrap();
        let again = Authority::load("test CA", &ca.pem.cert, &ca.pem.key).unwrap();
        let client = again.client("berth-admin", &["system:masters"]).unwrap();
        assert!(client.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let server = ca
            .server("s", &["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        assert!(server.key.contains("PRIVATE KEY"));
    }
}
