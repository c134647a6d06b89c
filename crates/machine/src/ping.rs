//! The readiness probe: `GET /_ping` to the machine's engine over mutual TLS, with the machine's
//! client certificate and its CA as the only root, exactly as the docker CLI will connect.
//! `start` returns when this answers `OK`, so "started" means "usable", never "probably booted".
//! Synchronous rustls over a std TcpStream: one request, no runtime needed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::MachineError;
use crate::certs;

/// A TLS client for one machine's API.
pub struct ApiClient {
    config: Arc<rustls::ClientConfig>,
}

impl ApiClient {
    pub fn new(certs_dir: &Path) -> Result<ApiClient, MachineError> {
        let tls = |e: &dyn std::fmt::Display| MachineError::Tls(e.to_string());
        let ca = certs::read(certs_dir, certs::CA)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
        }
        let chain =
            CertificateDer::pem_slice_iter(certs::read(certs_dir, certs::CLIENT)?.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls(&e))?;
        let key =
            PrivateKeyDer::from_pem_slice(certs::read(certs_dir, certs::CLIENT_KEY)?.as_bytes())
                .map_err(|e| tls(&e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(&e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls(&e))?;
        Ok(ApiClient {
            config: Arc::new(config),
        })
    }

    /// One `/_ping`; Ok(()) when the engine answered 200 OK.
    pub fn ping(&self, port: u16, timeout: Duration) -> Result<(), String> {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut tcp =
            TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
        tcp.set_read_timeout(Some(timeout)).ok();
        tcp.set_write_timeout(Some(timeout)).ok();
        let server = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let connection = rustls::ClientConnection::new(self.config.clone(), server)
            .map_err(|e| format!("TLS: {e}"))?;
        let mut stream = rustls::StreamOwned::new(connection, &mut tcp);
        stream
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .map_err(|e| format!("request: {e}"))?;
        let mut answer = Vec::new();
        // A server that closes without TLS close_notify still gave its answer: read what came.
        if let Err(e) = stream.read_to_end(&mut answer)
            && answer.is_empty()
        {
            return Err(format!("response: {e}"));
        }
        let text = String::from_utf8_lossy(&answer);
        if text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(format!(
                "unexpected answer: {}",
                text.lines().next().unwrap_or("(nothing)")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS server with the machine's server certificate that requires a client certificate
    /// from the machine's CA, as `berth serve --tlsverify` does; answers one request.
    fn serve_once(dir: &Path) -> (u16, std::thread::JoinHandle<Result<(), String>>) {
        let pem = |file| certs::read(dir, file).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem(certs::CA).as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            provider.clone(),
        )
        .build()
        .unwrap();
        let chain = CertificateDer::pem_slice_iter(pem(certs::SERVER).as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(pem(certs::SERVER_KEY).as_bytes()).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            let connection = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(connection, &mut tcp);
            let mut request = [0u8; 512];
            let n = tls.read(&mut request).map_err(|e| e.to_string())?;
            if !request[..n].starts_with(b"GET /_ping ") {
                return Err("not a ping".into());
            }
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                .map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())
        });
        (port, server)
    }

    #[test]
    fn the_machine_client_and_server_certificates_meet_over_loopback() {
        let dir = tempfile::tempdir().unwrap();
        certs::generate("m1").unwrap().write(dir.path()).unwrap();
        let (port, server) = serve_once(dir.path());
        let client = ApiClient::new(dir.path()).unwrap();
        client.ping(port, Duration::from_secs(5)).unwrap();
        server.join().unwrap().unwrap();
    }

    #[test]
    fn another_machines_certificates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        certs::generate("m1").unwrap().write(dir.path()).unwrap();
        certs::generate("m2").unwrap().write(other.path()).unwrap();
        let (port, server) = serve_once(dir.path());
        let stranger = ApiClient::new(other.path()).unwrap();
        assert!(stranger.ping(port, Duration::from_secs(5)).is_err());
        assert!(server.join().unwrap().is_err());
    }
}
