//! `kubectl port-forward`: each connection kubectl accepts on its local port is a pair of SPDY
//! streams (`streamType: error` and `data`, with the same `requestID` and the pod's `port`);
//! the data stream is spliced to a TCP connection made to that port on localhost inside the
//! pod's network namespace, as kubelet makes it. A port nobody listens on is an error on that
//! pair's error stream (kubectl prints it and goes on forwarding). No port is opened on the
//! host: the connection is made from a short-lived thread that entered the pod's namespace.

use std::collections::HashMap;
use std::os::fd::AsFd;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::spdy::{Stream, Writer};

/// Connects to 127.0.0.1:port inside the network namespace of process `pid` (a thread of its
/// own enters it; the socket stays in that namespace when used from here).
fn connect_in_namespace(pid: i32, port: u16) -> Result<std::net::TcpStream, String> {
    let netns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| format!("opening the pod's network namespace: {e}"))?;
    std::thread::spawn(move || {
        nix::sched::setns(netns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("entering the pod's network namespace: {e}"))?;
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| {
            // Go's wording of the errno ("connection refused"), as kubelet's message has it.
            let reason = e
                .raw_os_error()
                .map(|n| nix::errno::Errno::from_raw(n).desc().to_lowercase())
                .unwrap_or_else(|| e.to_string());
            format!("dial tcp4 127.0.0.1:{port}: connect: {reason}")
        })
    })
    .join()
    .map_err(|_| "the connecting thread panicked".to_string())?
}

/// Serves the streams of one port-forward connection until the client closes it.
pub async fn serve(
    mut streams: mpsc::UnboundedReceiver<Stream>,
    writer: Writer,
    pod: String,
    uid: String,
    netns_pid: i32,
) {
    let mut pending: HashMap<String, Stream> = HashMap::new();
    while let Some(stream) = streams.recv().await {
        let request = stream.header("requestid").to_string();
        let Some(other) = pending.remove(&request) else {
            pending.insert(request, stream);
            continue;
        };
        let (error, data) = if stream.header("streamtype") == "error" {
            (stream, other)
        } else {
            (other, stream)
        };
        let writer = writer.clone();
        let (pod, uid) = (pod.clone(), uid.clone());
        tokio::spawn(async move {
            forward(error, data, writer, &pod, &uid, netns_pid).await;
        });
    }
}

async fn forward(error: Stream, mut data: Stream, writer: Writer, pod: &str, uid: &str, pid: i32) {
    let port: Option<u16> = data.header("port").parse().ok();
    let connected = match port {
        Some(port) => tokio::task::spawn_blocking(move || connect_in_namespace(pid, port))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r),
        None => Err(format!("invalid port {:?}", data.header("port"))),
    };
    let tcp = connected.and_then(|s| {
        s.set_nonblocking(true)
            .and_then(|_| tokio::net::TcpStream::from_std(s))
            .map_err(|e| e.to_string())
    });
    let tcp = match tcp {
        Ok(tcp) => tcp,
        Err(e) => {
            // kubelet's wording, which kubectl prints after "an error occurred forwarding".
            let message = format!(
                "error forwarding port {} to pod {pod}, uid {uid}: failed to connect to localhost:{} inside the pod's network namespace: {e}",
                port.unwrap_or(0),
                port.unwrap_or(0)
            );
            writer.data(error.id, message.as_bytes());
            writer.close(error.id);
            writer.close(data.id);
            return;
        }
    };
    let (mut from_pod, mut to_pod) = tcp.into_split();
    let data_id = data.id;
    let upstream = tokio::spawn(async move {
        while let Some(bytes) = data.data.recv().await {
            if to_pod.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_pod.shutdown().await;
    });
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = from_pod.read(&mut buf).await {
        if n == 0 {
            break;
        }
        writer.data(data_id, &buf[..n]);
    }
    writer.close(data_id);
    writer.close(error.id);
    upstream.abort();
}
