//! A userland TCP proxy for published ports the kernel cannot DNAT: connections to the IPv6
//! loopback address. The kernel routes ::1 only through `lo` (IPv6 has no `route_localnet`),
//! so a reply from a container can never reach a socket bound to ::1; Docker's docker-proxy
//! covers the same case. One process per binding, started by the engine with the listening
//! socket already bound, so a taken port fails before anything runs.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::Error;

/// Accepts connections on `listener` for ever, each relayed to `target` on its own threads.
pub fn serve(listener: TcpListener, target: SocketAddr) -> Result<(), Error> {
    loop {
        let (client, _) = listener
            .accept()
            .map_err(|e| Error::io("accepting a proxied connection", e))?;
        std::thread::spawn(move || relay(client, target));
    }
}

/// Copies both ways between `client` and a new connection to `target` until both sides end.
fn relay(client: TcpStream, target: SocketAddr) {
    let Ok(upstream) = TcpStream::connect_timeout(&target, Duration::from_secs(10)) else {
        return;
    };
    let (Ok(client_reader), Ok(upstream_reader)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let back = std::thread::spawn(move || pump(upstream_reader, client));
    pump(client_reader, upstream);
    let _ = back.join();
}

/// Copies `from` into `to` until end of stream, then ends `to`'s writing half (a half-close
/// passes through, as a request followed by `shutdown(WR)` needs).
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
