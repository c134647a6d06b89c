//! The embedded DNS server of a container on a user-defined network, as Docker's 127.0.0.11:
//! UDP and TCP sockets bound to ephemeral ports of 127.0.0.11 inside the container's network
//! namespace (127/8 is on its loopback: no address to add), reached on port 53 through an
//! nftables DNAT in that namespace (port 53 stays free for the container), answering
//! container names from a [`Directory`] the caller provides, and forwarding every other query
//! upstream from a socket in the caller's (the host's) namespace, so that loopback resolvers
//! such as 127.0.0.53 work.
//!
//! Owned by the container's shim, which polls [`Server::fds`] in its loop: no thread, no
//! runtime, nothing to start or stop beside the container (berth has no daemon to host one
//! resolver for all; a per-network resolver process would need its own lifecycle and repair).
//! Must not know where names come from (the engine's state): the [`Directory`] says.

mod answer;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use nix::sched::{CloneFlags, setns};

use crate::Error;

/// Where containers find the server, as with Docker.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

/// How long an upstream has to answer before the query is dropped (the client retries) and the
/// next upstream is preferred.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// Forwarded queries waiting at most at once (memory a container's queries can hold).
const MAX_PENDING: usize = 256;

/// How long a TCP client may take to send its query, and an upstream over TCP to answer: the
/// shim's loop waits meanwhile.
const TCP_TIMEOUT: Duration = Duration::from_millis(500);

/// The names a container can resolve, read at each query: a peer started or removed a moment
/// ago is seen at once.
pub trait Directory {
    /// The addresses of a container name, alias or link alias (lower case, no trailing dot);
    /// `None` when the name is no container's: the query goes upstream.
    fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>>;

    /// The name for a reverse lookup of a container's address; `None`: forwarded.
    fn name_of(&mut self, _address: Ipv4Addr) -> Option<String> {
        None
    }

    /// Whether the directory is the authority for `name` (a zone it owns, such as a cluster's
    /// `cluster.local`): a name there that [`Directory::addresses`] does not know is answered
    /// NXDOMAIN at once instead of going upstream.
    fn authoritative(&mut self, _name: &str) -> bool {
        false
    }
}

/// A query sent upstream, waiting for its answer.
struct Pending {
    upstream_id: u16,
    client_id: u16,
    client: SocketAddr,
    upstream: SocketAddr,
    sent: Instant,
}

/// One container's DNS server. Dropping it closes its sockets (and lets the namespace go).
pub struct Server {
    udp: UdpSocket,
    tcp: TcpListener,
    /// The namespace the sockets live in (a fallback rebinds there).
    netns: std::path::PathBuf,
    /// The `nft` loading the DNAT, until [`Server::ready`] has its answer.
    redirect: Option<std::process::Child>,
    /// In the host's namespace, for forwarded queries.
    outbound: UdpSocket,
    upstreams: Vec<SocketAddr>,
    /// The upstream tried first: the next one after a timeout.
    preferred: usize,
    pending: Vec<Pending>,
    next_id: u16,
    rotation: usize,
}

impl Server {
    /// Serves 127.0.0.11:53 (UDP and TCP) inside the namespace pinned at `netns` (see the
    /// module doc: ephemeral ports behind a DNAT), with a forwarding socket in the caller's.
    /// `upstreams`: the resolvers to forward to (port 53).
    ///
    /// The DNAT rules load meanwhile (the first nat table of a namespace costs the kernel an
    /// RCU grace period, ~15 ms here): [`Server::ready`] waits for them, so a caller overlaps
    /// that with its own work and calls it before the container's first lookup can happen.
    pub fn bind(netns: &Path, upstreams: &[IpAddr]) -> Result<Server, Error> {
        let (udp, tcp, redirect) = in_namespace(netns, bind_redirected)?;
        Server::serving(udp, tcp, netns.to_path_buf(), redirect, upstreams)
    }

    /// A server over its bound sockets, forwarding what it does not own to `upstreams`.
    fn serving(
        udp: UdpSocket,
        tcp: TcpListener,
        netns: std::path::PathBuf,
        redirect: Option<std::process::Child>,
        upstreams: &[IpAddr],
    ) -> Result<Server, Error> {
        let outbound = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .map_err(|e| Error::io("binding the DNS forwarding socket", e))?;
        for socket in [&udp, &outbound] {
            socket
                .set_nonblocking(true)
                .map_err(|e| Error::io("setting a DNS socket non-blocking", e))?;
        }
        tcp.set_nonblocking(true)
            .map_err(|e| Error::io("setting the DNS listener non-blocking", e))?;
        let mut seed = [0u8; 2];
        let _ = File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed));
        Ok(Server {
            udp,
            tcp,
            netns,
            redirect,
            outbound,
            upstreams: upstreams
                .iter()
                .map(|ip| SocketAddr::new(*ip, 53))
                .collect(),
            preferred: 0,
            pending: Vec::new(),
            next_id: u16::from_ne_bytes(seed),
            rotation: 0,
        })
    }

    /// Serves `address` (UDP and TCP; port 0: one the kernel picks, the same for both when it
    /// is free) in the caller's own namespace, for a resolver that clients reach by routing
    /// rather than at 127.0.0.11 (the Kubernetes API's cluster DNS, behind its service IP).
    pub fn bind_host(address: SocketAddr, upstreams: &[IpAddr]) -> Result<Server, Error> {
        let udp =
            UdpSocket::bind(address).map_err(|e| Error::io(format!("binding {address}/udp"), e))?;
        let port = udp
            .local_addr()
            .map_err(|e| Error::io("reading the DNS socket's address", e))?
            .port();
        let tcp = TcpListener::bind(SocketAddr::new(address.ip(), port))
            .or_else(|_| TcpListener::bind(address))
            .map_err(|e| Error::io(format!("binding {address}/tcp"), e))?;
        // Never entered: with no redirect to wait for, `ready` has nothing to do.
        let netns = std::path::PathBuf::from("/proc/thread-self/ns/net");
        Server::serving(udp, tcp, netns, None, upstreams)
    }

    /// The UDP and TCP addresses the server answers on.
    pub fn local_addrs(&self) -> Result<(SocketAddr, SocketAddr), Error> {
        let udp = self
            .udp
            .local_addr()
            .map_err(|e| Error::io("reading the DNS socket's address", e))?;
        let tcp = self
            .tcp
            .local_addr()
            .map_err(|e| Error::io("reading the DNS listener's address", e))?;
        Ok((udp, tcp))
    }

    /// Waits for the DNAT to 127.0.0.11:53 to be in place; where `nft` could not load it, the
    /// server takes port 53 itself. Called once, before anything in the namespace may ask.
    pub fn ready(&mut self) -> Result<(), Error> {
        let Some(child) = self.redirect.take() else {
            return Ok(());
        };
        if redirect_loaded(child).is_ok() {
            return Ok(());
        }
        let (udp, tcp) = in_namespace(&self.netns, bind_port_53)?;
        udp.set_nonblocking(true)
            .map_err(|e| Error::io("setting a DNS socket non-blocking", e))?;
        tcp.set_nonblocking(true)
            .map_err(|e| Error::io("setting the DNS listener non-blocking", e))?;
        self.udp = udp;
        self.tcp = tcp;
        Ok(())
    }

    /// The descriptors to poll for reading.
    pub fn fds(&self) -> [RawFd; 3] {
        [
            self.udp.as_raw_fd(),
            self.tcp.as_raw_fd(),
            self.outbound.as_raw_fd(),
        ]
    }

    /// Whether forwarded queries wait for answers (the caller then wakes within a second, so
    /// [`Server::expire`] can drop them).
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Serves what `fd` (one of [`Server::fds`]) has to read.
    pub fn readable(&mut self, fd: RawFd, directory: &mut dyn Directory) {
        if fd == self.udp.as_raw_fd() {
            self.serve_udp(directory);
        } else if fd == self.tcp.as_raw_fd() {
            self.serve_tcp(directory);
        } else if fd == self.outbound.as_raw_fd() {
            self.relay_answers();
        }
    }

    /// Forgets forwarded queries whose upstream did not answer in time; the next query tries
    /// the next upstream.
    pub fn expire(&mut self) {
        let before = self.pending.len();
        self.pending.retain(|p| p.sent.elapsed() < UPSTREAM_TIMEOUT);
        if self.pending.len() != before && !self.upstreams.is_empty() {
            self.preferred = (self.preferred + 1) % self.upstreams.len();
        }
        if self.pending.is_empty() {
            self.pending = Vec::new();
        }
    }

    fn serve_udp(&mut self, directory: &mut dyn Directory) {
        let mut buf = [0u8; 4096];
        while let Ok((n, client)) = self.udp.recv_from(&mut buf) {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            match self.answer(&query, directory) {
                Some(response) => {
                    if let Some(bytes) = answer::fit(response, query.max_payload() as usize) {
                        let _ = self.udp.send_to(&bytes, client);
                    }
                }
                None => self.forward(&buf[..n], &query, client),
            }
        }
    }

    /// A local answer, or `None` when the query goes upstream (a SERVFAIL with no upstream).
    fn answer(&mut self, query: &Message, directory: &mut dyn Directory) -> Option<Message> {
        // Turned per A question (not per AAAA too: resolvers ask both for each lookup).
        if query
            .queries
            .first()
            .is_some_and(|q| q.query_type() == hickory_proto::rr::RecordType::A)
        {
            self.rotation = self.rotation.wrapping_add(1);
        }
        match answer::local_answer(query, directory, self.rotation) {
            Some(response) => Some(response),
            None if self.upstreams.is_empty() => {
                Some(answer::failure(query, ResponseCode::ServFail))
            }
            None => None,
        }
    }

    fn forward(&mut self, bytes: &[u8], query: &Message, client: SocketAddr) {
        if bytes.len() < 2 {
            return;
        }
        let upstream = self.upstreams[self.preferred % self.upstreams.len()];
        self.next_id = self.next_id.wrapping_add(1);
        let upstream_id = self.next_id;
        let mut out = bytes.to_vec();
        out[..2].copy_from_slice(&upstream_id.to_be_bytes());
        if self.pending.len() >= MAX_PENDING {
            // A container flooding unanswered queries: the oldest is given up.
            self.pending.remove(0);
        }
        if self.outbound.send_to(&out, upstream).is_ok() {
            self.pending.push(Pending {
                upstream_id,
                client_id: query.metadata.id,
                client,
                upstream,
                sent: Instant::now(),
            });
        }
    }

    /// Upstream answers back to the clients that asked, with their own query ids.
    fn relay_answers(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = self.outbound.recv_from(&mut buf) {
            if n < 2 {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            // Only the upstream asked may answer (a spoofed answer from elsewhere is dropped).
            let Some(at) = self
                .pending
                .iter()
                .position(|p| p.upstream_id == id && p.upstream == from)
            else {
                continue;
            };
            let pending = self.pending.swap_remove(at);
            buf[..2].copy_from_slice(&pending.client_id.to_be_bytes());
            let _ = self.udp.send_to(&buf[..n], pending.client);
        }
        self.expire();
    }

    /// One TCP client: a length-prefixed query, answered locally or relayed to an upstream over
    /// TCP, then the connection closes (clients reconnect per query, as dig and libc do).
    fn serve_tcp(&mut self, directory: &mut dyn Directory) {
        while let Ok((mut stream, _)) = self.tcp.accept() {
            let Some(bytes) = read_framed(&mut stream) else {
                continue;
            };
            let reply = match Message::from_vec(&bytes) {
                Ok(query) => match self.answer(&query, directory) {
                    Some(response) => response.to_vec().ok(),
                    None => self.forward_tcp(&bytes),
                },
                Err(_) => None,
            };
            if let Some(reply) = reply {
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                let _ = stream.write_all(&framed);
            }
        }
    }

    fn forward_tcp(&mut self, query: &[u8]) -> Option<Vec<u8>> {
        let upstream = self.upstreams[self.preferred % self.upstreams.len()];
        let mut stream = TcpStream::connect_timeout(&upstream, TCP_TIMEOUT).ok()?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed).ok()?;
        read_framed(&mut stream)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never left a zombie, even by a server dropped before it was ready.
        if let Some(mut child) = self.redirect.take() {
            let _ = child.wait();
        }
    }
}

/// In the container's namespace: the server's sockets on ephemeral ports of 127.0.0.11, and
/// an `nft` started there to load the rules that send 127.0.0.11:53 to them, as Docker does:
/// port 53 itself stays free for a DNS server of the container's own (bound to 0.0.0.0:53 it
/// would clash with a listener on 127.0.0.11:53). Without a working `nft`, the sockets take
/// port 53 itself ([`Server::ready`]).
fn bind_redirected() -> Result<(UdpSocket, TcpListener, Option<std::process::Child>), Error> {
    let udp = UdpSocket::bind((ADDRESS, 0)).map_err(|e| Error::io("binding 127.0.0.11/udp", e))?;
    let tcp =
        TcpListener::bind((ADDRESS, 0)).map_err(|e| Error::io("binding 127.0.0.11/tcp", e))?;
    let port = |addr: std::io::Result<SocketAddr>| addr.map(|a| a.port()).unwrap_or(0);
    let (udp_port, tcp_port) = (port(udp.local_addr()), port(tcp.local_addr()));
    match start_redirect(udp_port, tcp_port) {
        Ok(child) => Ok((udp, tcp, Some(child))),
        Err(_) => {
            drop((udp, tcp));
            let (udp, tcp) = bind_port_53()?;
            Ok((udp, tcp, None))
        }
    }
}

fn bind_port_53() -> Result<(UdpSocket, TcpListener), Error> {
    let udp =
        UdpSocket::bind((ADDRESS, 53)).map_err(|e| Error::io("binding 127.0.0.11:53/udp", e))?;
    let tcp =
        TcpListener::bind((ADDRESS, 53)).map_err(|e| Error::io("binding 127.0.0.11:53/tcp", e))?;
    Ok((udp, tcp))
}

/// Starts `nft` loading the DNAT rules in the calling thread's namespace (the child inherits
/// it); the ruleset is written whole before this returns.
fn start_redirect(udp_port: u16, tcp_port: u16) -> Result<std::process::Child, Error> {
    use std::process::{Command, Stdio};
    let ruleset = format!(
        "table ip berth-dns {{\n\
         \tchain output {{\n\
         \t\ttype nat hook output priority -100; policy accept;\n\
         \t\tip daddr {ADDRESS} udp dport 53 dnat to {ADDRESS}:{udp_port}\n\
         \t\tip daddr {ADDRESS} tcp dport 53 dnat to {ADDRESS}:{tcp_port}\n\
         \t}}\n\
         }}\n"
    );
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("running nft for the DNS redirect", e))?;
    // Far below a pipe's capacity: the write never waits for nft to read.
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(ruleset.as_bytes()),
        None => Ok(()),
    };
    if let Err(e) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::io("writing the DNS redirect to nft", e));
    }
    Ok(child)
}

/// Whether the `nft` of [`start_redirect`] loaded the rules.
fn redirect_loaded(child: std::process::Child) -> Result<(), Error> {
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("waiting for nft", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "nft refused the DNS redirect: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Reads one length-prefixed DNS message, waiting at most [`TCP_TIMEOUT`] per read.
fn read_framed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(TCP_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(TCP_TIMEOUT)).ok()?;
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).ok()?;
    let mut bytes = vec![0u8; u16::from_be_bytes(length) as usize];
    stream.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

/// Runs `f` with the calling thread in the namespace pinned at `path`, then returns it to its
/// own (sockets made by `f` stay in the namespace they were made in).
fn in_namespace<T>(path: &Path, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let target =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let original = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the host network namespace", e))?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io(format!("entering {}", path.display()), e.into()))?;
    let result = f();
    if let Err(e) = setns(&original, CloneFlags::CLONE_NEWNET) {
        // Nothing this thread does from here would be in the right namespace.
        eprintln!("berth: cannot return to the host network namespace: {e}");
        std::process::abort();
    }
    result
}

/// The upstream resolvers for a container: `--dns` when given, else the host's resolv.conf
/// nameservers, loopback ones included (forwarding happens in the host's namespace), IPv4
/// only; Docker's 8.8.8.8/8.8.4.4 when there is none.
pub fn upstreams(host_resolv_conf: &str, dns: &[String]) -> Vec<IpAddr> {
    let parsed: Vec<IpAddr> = if dns.is_empty() {
        host_resolv_conf
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("nameserver"))
                    .then(|| words.next())
                    .flatten()
                    .and_then(|ns| ns.parse().ok())
            })
            .collect()
    } else {
        dns.iter().filter_map(|ns| ns.parse().ok()).collect()
    };
    // The server itself is no upstream (a container's resolv.conf copied as the host's);
    // forwarding goes out of an IPv4 socket, so IPv6 resolvers are left out.
    let parsed: Vec<IpAddr> = parsed
        .into_iter()
        .filter(|ip| ip.is_ipv4() && *ip != IpAddr::V4(ADDRESS))
        .collect();
    if parsed.is_empty() {
        vec![
            IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
        ]
    } else {
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_keep_loopback_and_prefer_dns_flags() {
        let host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nsearch x\n";
        assert_eq!(
            upstreams(host, &[]),
            [
                "127.0.0.53".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
        assert_eq!(
            upstreams(host, &["1.1.1.1".into()]),
            ["1.1.1.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(upstreams("", &[]).len(), 2);
    }
}
