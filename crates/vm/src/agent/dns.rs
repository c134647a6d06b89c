//! The container's resolver at 127.0.0.11:53, UDP and TCP, inside the guest: every query goes
//! to the host as a DnsQuery frame (the stream numbers it) and the host's DnsReply is the
//! answer, because the container's embedded DNS lives in its network namespace on the host.
//! A client's UDP queries are answered in the order they came (one at a time per client).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::channel::Sender;
use crate::protocol::Kind;

const LISTEN: &str = "127.0.0.11:53";
/// A query the host does not answer in this time is dropped (the resolver retries).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Query numbers start high so they never look like a process stream.
const FIRST_QUERY: u32 = 0x8000_0000;

#[derive(Default)]
pub struct Forwarder {
    pending: Arc<Mutex<HashMap<u32, mpsc::Sender<Vec<u8>>>>>,
    next: Arc<AtomicU32>,
}

impl Forwarder {
    /// Binds both sockets and serves them on their own threads.
    pub fn serve(&self, sender: &Sender) -> Result<(), String> {
        self.next.store(FIRST_QUERY, Ordering::Relaxed);
        let udp = UdpSocket::bind(LISTEN).map_err(|e| format!("binding {LISTEN}/udp: {e}"))?;
        let tcp = TcpListener::bind(LISTEN).map_err(|e| format!("binding {LISTEN}/tcp: {e}"))?;
        let (pending, next, sender_udp) = (self.pending.clone(), self.next.clone(), sender.clone());
        std::thread::spawn(move || serve_udp(udp, pending, next, sender_udp));
        let (pending, next, sender_tcp) = (self.pending.clone(), self.next.clone(), sender.clone());
        std::thread::spawn(move || {
            for connection in tcp.incoming().flatten() {
                let (pending, next, sender) = (pending.clone(), next.clone(), sender_tcp.clone());
                std::thread::spawn(move || serve_tcp(connection, pending, next, sender));
            }
        });
        Ok(())
    }

    /// The host's answer to query `stream`.
    pub fn reply(&self, stream: u32, answer: Vec<u8>) {
        let waiter = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&stream);
        if let Some(waiter) = waiter {
            let _ = waiter.send(answer);
        }
    }
}

type Pending = Arc<Mutex<HashMap<u32, mpsc::Sender<Vec<u8>>>>>;

/// Sends `query` to the host and waits for its answer; `None` when the host does not answer in
/// time (the resolver retries).
fn ask(query: &[u8], pending: &Pending, next: &AtomicU32, sender: &Sender) -> Option<Vec<u8>> {
    let stream = next.fetch_add(1, Ordering::Relaxed).max(FIRST_QUERY);
    let (send, receive) = mpsc::channel();
    pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(stream, send);
    sender.data(Kind::DnsQuery, stream, query);
    let answer = receive.recv_timeout(REPLY_TIMEOUT).ok();
    if answer.is_none() {
        pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&stream);
    }
    answer
}

/// Queries from one client (address and port) are answered one after another, in the order
/// they came: a resolver such as busybox's sends A and AAAA from one socket with one id and
/// takes the first answer for the first question. Different clients are served at once.
fn serve_udp(socket: UdpSocket, pending: Pending, next: Arc<AtomicU32>, sender: Sender) {
    let socket = Arc::new(socket);
    let clients: Clients = Arc::new(Mutex::new(HashMap::new()));
    let mut buffer = [0u8; 4096];
    loop {
        let Ok((length, client)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let query = buffer[..length].to_vec();
        // Sent under the lock: a client's worker only leaves under it, after finding its
        // queue empty, so no query goes to a worker that has left.
        let mut workers = clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = workers.get(&client) {
            let _ = queue.send(query);
            continue;
        }
        let (queue, queries) = mpsc::channel();
        let _ = queue.send(query);
        workers.insert(client, queue);
        drop(workers);
        let worker = ClientWorker {
            client,
            socket: socket.clone(),
            clients: clients.clone(),
            pending: pending.clone(),
            next: next.clone(),
            sender: sender.clone(),
        };
        std::thread::spawn(move || worker.run(queries));
    }
}

type Clients = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

/// How long a client's worker waits for its next query before it leaves.
const CLIENT_IDLE: Duration = Duration::from_secs(2);

struct ClientWorker {
    client: SocketAddr,
    socket: Arc<UdpSocket>,
    clients: Clients,
    pending: Pending,
    next: Arc<AtomicU32>,
    sender: Sender,
}

impl ClientWorker {
    fn run(self, queries: mpsc::Receiver<Vec<u8>>) {
        loop {
            let query = match queries.recv_timeout(CLIENT_IDLE) {
                Ok(query) => query,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let mut workers = self.clients.lock().unwrap_or_else(|e| e.into_inner());
                    match queries.try_recv() {
                        Ok(query) => query,
                        Err(_) => {
                            workers.remove(&self.client);
                            return;
                        }
                    }
                }
            };
            if let Some(reply) = ask(&query, &self.pending, &self.next, &self.sender) {
                let _ = self.socket.send_to(&reply, self.client);
            }
        }
    }
}

/// DNS over TCP: each message is preceded by its length (u16, big-endian).
fn serve_tcp(mut connection: TcpStream, pending: Pending, next: Arc<AtomicU32>, sender: Sender) {
    loop {
        let mut length = [0u8; 2];
        if connection.read_exact(&mut length).is_err() {
            return;
        }
        let mut query = vec![0u8; u16::from_be_bytes(length) as usize];
        if connection.read_exact(&mut query).is_err() {
            return;
        }
        let Some(reply) = ask(&query, &pending, &next, &sender) else {
            return;
        };
        let mut message = (reply.len() as u16).to_be_bytes().to_vec();
        message.extend_from_slice(&reply);
        if connection.write_all(&message).is_err() {
            return;
        }
    }
}
