//! The guest's DNS queries, answered from the container's network namespace (the relay runs
//! in it): each query goes to the container's embedded DNS server at 127.0.0.11:53 over UDP,
//! as a container's own resolver would send it.

use std::net::UdpSocket;
use std::time::Duration;

/// The embedded DNS server every container on a user network resolves through.
const EMBEDDED_DNS: &str = "127.0.0.11:53";

/// How long a query may take: glibc's resolver gives up after 5 s too.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The answer to `query` (a raw DNS message); none when the server does not answer in time.
/// The guest's resolver then times out and retries, as it would against a lost packet.
pub(super) fn resolve(query: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket.connect(EMBEDDED_DNS).ok()?;
    socket.set_read_timeout(Some(TIMEOUT)).ok()?;
    socket.send(query).ok()?;
    let mut answer = vec![0u8; 65535];
    let n = socket.recv(&mut answer).ok()?;
    answer.truncate(n);
    Some(answer)
}
