//! The API server: `berth serve --kube ADDR` binds here, then serves on its own runtime.

mod exec;
mod logs;
mod portforward;
mod protobuf;
mod resources;
mod routes;
mod spdy;
mod streaming;
mod tls;
mod watch;
mod websocket;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use crate::error::KubeError;
use crate::kinds;
use crate::objects::Objects;
use crate::store::Store;

/// A bound, ready API: its store opened and seeded, its port taken.
pub struct KubeServer {
    objects: Arc<Objects>,
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl KubeServer {
    /// Opens `<kube_dir>/store.db`, makes sure the default namespaces and this node exist,
    /// mints the server certificate for `addr`, and binds it.
    pub fn bind(addr: SocketAddr, kube_dir: &Path) -> Result<KubeServer, KubeError> {
        let objects = Objects::new(Store::open(&kube_dir.join("store.db"))?);
        let namespaces = kinds::find("", "v1", "namespaces").expect("namespaces are served");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            objects.ensure(
                namespaces,
                "",
                json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}),
            )?;
        }
        let nodes = kinds::find("", "v1", "nodes").expect("nodes are served");
        objects.ensure(nodes, "", crate::node::this_host())?;
        // The services every cluster shows: the API's own at .1 (no endpoint pods can use:
        // the API listens where `--kube` says) and the cluster DNS.
        let services = kinds::find("", "v1", "services").expect("services are served");
        objects.ensure(
            services,
            "default",
            json!({"metadata": {"name": "kubernetes", "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": addr.port()}]}}),
        )?;
        objects.ensure(
            services,
            "kube-system",
            crate::controllers::cluster_dns::service(),
        )?;
        let ca = crate::certs::authority(kube_dir)?;
        let mut names = vec![addr.ip().to_string(), crate::node::hostname()];
        if addr.ip().is_unspecified() {
            names.push("::1".into());
        }
        let server = crate::certs::server(&ca, &names)?;
        let acceptor = tls::acceptor(&ca.pem.cert, &server.cert, &server.key)?;
        let listener = std::net::TcpListener::bind(addr).map_err(|source| KubeError::Io {
            what: format!("listening on {addr}"),
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| KubeError::Io {
                what: "configuring the listener".into(),
                source,
            })?;
        Ok(KubeServer {
            objects: Arc::new(objects),
            listener,
            acceptor,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends (on a runtime of its own: `berth serve`'s Docker API has
    /// another).
    pub fn run(self) -> Result<(), KubeError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| KubeError::Io { what, source }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-api")
            .enable_all()
            .build()
            .map_err(io("starting the API's runtime"))?;
        crate::controllers::start(self.objects.clone(), crate::node::hostname());
        runtime.block_on(async move {
            let tcp = tokio::net::TcpListener::from_std(self.listener).map_err(io("listening"))?;
            let listener = tls::TlsListener::new(tcp, self.acceptor).map_err(io("listening"))?;
            let app = routes::router(self.objects);
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<tls::Peer>(),
            )
            .await
            .map_err(io("serving the Kubernetes API"))
        })
    }
}
