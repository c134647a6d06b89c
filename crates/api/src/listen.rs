//! Where `berth serve` listens: a unix socket (default `$BERTH_RUN/berth.sock`, mode 0660;
//! a stale socket file is replaced, a live one refused) and TCP with mutual TLS (or, only when
//! asked to, without). Shutdown on SIGTERM/SIGINT: stop accepting, give open requests a moment,
//! remove the socket file. Containers are not the server's: they keep running. Each listener
//! puts its kind's `guard` in front of the routes (what browsers may do, which Host names).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::ServiceExt;
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt as _;

use crate::guard::{self, Guard, Listener};
use crate::routes;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Endpoint {
    /// `unix:///path`, `tcp://host:port` (Docker's -H syntax).
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        if let Some(path) = text.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("invalid -H {text:?}: no socket path"));
            }
            return Ok(Endpoint::Unix(path.into()));
        }
        if let Some(addr) = text.strip_prefix("tcp://") {
            return addr
                .parse()
                .map(Endpoint::Tcp)
                .map_err(|e| format!("invalid -H {text:?}: {e} (expected tcp://IP:PORT)"));
        }
        Err(format!(
            "invalid -H {text:?}: expected unix:///path or tcp://IP:PORT"
        ))
    }
}

#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub endpoints: Vec<Endpoint>,
    /// Required for TCP unless `insecure_tcp`: clients must present a certificate the CA signed.
    pub tls: Option<TlsFiles>,
    pub insecure_tcp: bool,
    /// Which browser origins and (on plain TCP) host names are served.
    pub access: crate::guard::AccessPolicy,
}

/// The default socket: `$BERTH_RUN/berth.sock` (BERTH_RUN defaults to /run/berth).
pub fn default_socket() -> PathBuf {
    std::env::var_os("BERTH_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/run/berth".into())
        .join("berth.sock")
}

fn bind_unix(path: &Path) -> Result<UnixListener, String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!("another server is listening on {}", path.display()));
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("removing the stale socket {}: {e}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).map_err(|e| format!("listening on {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    Ok(listener)
}

fn load_tls(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let read_certs = |path: &Path| -> Result<Vec<CertificateDer<'static>>, String> {
        CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("reading certificates from {}: {e}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(&files.ca)? {
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate in {}: {e}", files.ca.display()))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("client verifier: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("reading the key {}: {e}", files.key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs(&files.cert)?, key)
        .map_err(|e| format!("server certificate {}: {e}", files.cert.display()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

pub async fn run(options: ServeOptions) -> Result<(), String> {
    let mut endpoints = options.endpoints.clone();
    if endpoints.is_empty() {
        endpoints.push(Endpoint::Unix(default_socket()));
    }
    options.access.validate()?;
    let access = Arc::new(options.access.clone());
    let router = routes::router(AppState::new());
    // The same routes and state on every listener, each behind the guard for its kind.
    let service = |listener: Listener| {
        router
            .clone()
            .layer(axum::middleware::from_fn_with_state(
                Guard::new(access.clone(), listener),
                guard::check,
            ))
            .map_request(routes::rewrite)
            .map_response(routes::decorate)
            .into_make_service()
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    let mut sockets = Vec::new();
    for endpoint in &endpoints {
        match endpoint {
            Endpoint::Unix(path) => {
                let listener = bind_unix(path)?;
                sockets.push(path.clone());
                eprintln!("berth serve: listening on unix://{}", path.display());
                let server = axum::serve(listener, service(Listener::Unix))
                    .with_graceful_shutdown(stopped());
                servers.spawn(async move { server.await.map_err(|e| e.to_string()) });
            }
            Endpoint::Tcp(addr) => {
                let tcp = TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("listening on tcp://{addr}: {e}"))?;
                match &options.tls {
                    Some(files) => {
                        let listener = berth_pki::listener::TlsListener::new(tcp, load_tls(files)?)
                            .map_err(|e| e.to_string())?;
                        eprintln!("berth serve: listening on tcp://{addr} (mutual TLS)");
                        let server = axum::serve(listener, service(Listener::Tls))
                            .with_graceful_shutdown(stopped());
                        servers.spawn(async move { server.await.map_err(|e| e.to_string()) });
                    }
                    None if options.insecure_tcp => {
                        eprintln!(
                            "WARNING: berth serve: listening on tcp://{addr} WITHOUT TLS OR AUTHENTICATION: anyone who can reach this \
                             port is root on this machine"
                        );
                        let server = axum::serve(tcp, service(Listener::PlainTcp))
                            .with_graceful_shutdown(stopped());
                        servers.spawn(async move { server.await.map_err(|e| e.to_string()) });
                    }
                    None => {
                        return Err(format!(
                            "refusing to listen on tcp://{addr} without TLS: pass --tlsverify --tlscacert --tlscert --tlskey (or --insecure-tcp)"
                        ));
                    }
                }
            }
        }
    }
    let result = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        Some(done) = servers.join_next() => done.map_err(|e| e.to_string()).and_then(|r| r),
    };
    let _ = stop_tx.send(true);
    // Open streams (logs -f, attach, wait) may never end by themselves: a short grace, then go.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while servers.join_next().await.is_some() {}
    })
    .await;
    for path in sockets {
        let _ = std::fs::remove_file(path);
    }
    result
}
