//! The TLS listener both HTTPS front ends (the Docker API, the Kubernetes API) serve on: what
//! a client may present is the acceptor's business, given by the caller.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

/// A TLS connection as the listener yields it.
pub type TlsStream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// A TCP listener whose connections are TLS; handshakes run off the accept loop, so one slow
/// client cannot hold up others.
pub struct TlsListener {
    accepted: tokio::sync::mpsc::Receiver<(TlsStream, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, accepted) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            // Ends when the server drops the listener.
            while !tx.is_closed() {
                let Ok((stream, peer)) = tcp.accept().await else {
                    // Out of fds or the like: do not spin; clients retry.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener { accepted, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
