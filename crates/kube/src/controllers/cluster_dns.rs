//! The cluster's DNS (what CoreDNS is to a cluster): `NAME.NAMESPACE.svc.cluster.local` is
//! the Service's cluster IP (a headless Service's ready pod IPs), any other name under
//! `cluster.local` is NXDOMAIN, the rest is forwarded to the host's resolvers. It is berth's
//! embedded resolver ([`berth_net::dns::Server`], the one user networks' containers ask),
//! bound on the pods' bridge gateway in the host's namespace and answering from the API's
//! objects; pods reach it as the `kube-dns` Service of kube-system, whose cluster IP is in
//! their resolv.conf (the kubelet's search list makes `web` and `web.NS` work).
//!
//! It runs in `berth serve` (a thread polling its sockets): pods resolve Services only while
//! the API runs, as they do with a cluster's DNS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Duration;

use berth_net::dns::{Directory, Server};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Value, json};

use super::kind;
use crate::kubelet::CLUSTER_DNS_IP;
use crate::objects::Objects;

/// The zone the cluster's names live in.
const ZONE: &str = "cluster.local";

/// The kube-dns Service (kube-system), at the address the kubelet gives pods.
pub fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": CLUSTER_DNS_IP, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
        ]},
    })
}

pub fn run(objects: Arc<Objects>) {
    let engine = match berth_engine::Engine::open() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("berth serve: the cluster DNS cannot open the engine: {e}");
            return;
        }
    };
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let upstreams = berth_net::dns::upstreams(&host, &[]);
    // The gateway is on the host once the pods' bridge exists (made with the network).
    let mut server = loop {
        let bound = engine
            .network(berth_engine::networks::DEFAULT_NETWORK)
            .map_err(|e| e.to_string())
            .and_then(|network| {
                let at = SocketAddr::new(IpAddr::V4(network.gateway), 0);
                Server::bind_host(at, &upstreams).map_err(|e| e.to_string())
            });
        match bound {
            Ok(server) => break server,
            Err(e) => {
                eprintln!("berth serve: cluster DNS: {e}; trying again");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    };
    if let Err(e) = publish_endpoints(&objects, &server) {
        eprintln!("berth serve: cluster DNS: writing kube-dns's endpoints: {e}");
    }
    let mut directory = Services { objects: &objects };
    loop {
        let fds = server.fds();
        // SAFETY: the descriptors are the server's open sockets, which it keeps for as long
        // as this loop borrows them (the server is not touched until poll returns).
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::new(unsafe { BorrowedFd::borrow_raw(*fd) }, PollFlags::POLLIN))
            .collect();
        let ready = match poll(&mut polled, PollTimeout::from(1000u16)) {
            Ok(_) => polled
                .iter()
                .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                .collect(),
            Err(_) => vec![false; fds.len()],
        };
        drop(polled);
        for (fd, readable) in fds.iter().zip(ready) {
            if readable {
                server.readable(*fd, &mut directory);
            }
        }
        server.expire();
    }
}

/// kube-dns's Endpoints: the server's UDP and TCP addresses on the gateway.
fn publish_endpoints(objects: &Objects, server: &Server) -> Result<(), String> {
    let (udp, tcp) = server.local_addrs().map_err(|e| e.to_string())?;
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "subsets": [
            {"addresses": [{"ip": udp.ip().to_string()}], "ports": [{"name": "dns", "port": udp.port(), "protocol": "UDP"}]},
            {"addresses": [{"ip": tcp.ip().to_string()}], "ports": [{"name": "dns-tcp", "port": tcp.port(), "protocol": "TCP"}]},
        ],
    });
    super::endpoints::write(objects, "", "endpoints", "kube-system", endpoints)
        .map_err(|e| e.message)
}

/// The names the cluster DNS answers, read from the API's objects at each query.
struct Services<'a> {
    objects: &'a Objects,
}

impl Services<'_> {
    fn service_addresses(&self, name: &str, namespace: &str) -> Option<Vec<Ipv4Addr>> {
        let service = self
            .objects
            .get(kind("", "services"), namespace, name)
            .ok()?;
        match service["spec"]["clusterIP"].as_str() {
            Some("None") => {
                // Headless: the ready pods themselves.
                let endpoints = self
                    .objects
                    .get(kind("", "endpoints"), namespace, name)
                    .ok()?;
                Some(
                    endpoints["subsets"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
                        .filter_map(|a| a["ip"].as_str()?.parse().ok())
                        .collect(),
                )
            }
            Some(ip) => Some(ip.parse().ok().into_iter().collect()),
            None => None,
        }
    }
}

impl Directory for Services<'_> {
    fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let relative = name.strip_suffix(ZONE)?.strip_suffix('.')?;
        let mut labels = relative.split('.');
        match (labels.next(), labels.next(), labels.next(), labels.next()) {
            (Some(service), Some(namespace), Some("svc"), None) => {
                self.service_addresses(service, namespace)
            }
            _ => None,
        }
    }

    fn authoritative(&mut self, name: &str) -> bool {
        name == ZONE || name.ends_with(".cluster.local")
    }
}
