//! The HTTPS listener with kube-apiserver's client-certificate auth: a client may connect
//! without a certificate (then every request is 401 Unauthorized, as kube-apiserver answers an
//! anonymous request with anonymous auth off); one it presents must chain to the state root's
//! CA. Handshakes run off the accept loop, so one slow client cannot hold up others.

use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use crate::error::KubeError;

pub use berth_pki::listener::TlsListener;

pub fn acceptor(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<tokio_rustls::TlsAcceptor, KubeError> {
    let tls = |e: &dyn std::fmt::Display| KubeError::Tls(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| tls(&e))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))?;
    // kubectl offers h2 and http/1.1; the server speaks HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Who is on a connection: whether it presented a certificate the CA signed.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub authenticated: bool,
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Peer {
        let (_, session) = stream.io().get_ref();
        Peer {
            authenticated: session.peer_certificates().is_some_and(|c| !c.is_empty()),
        }
    }
}
