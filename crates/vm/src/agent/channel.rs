//! The agent's end of the host channel: one virtio-serial port, read by the main loop and
//! written by every thread that has something to say, one whole frame per write.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::protocol::{Frame, Kind};

/// A cloneable writer of frames to the host.
#[derive(Clone)]
pub struct Sender {
    port: Arc<Mutex<File>>,
}

impl Sender {
    pub fn new(port: File) -> Sender {
        Sender {
            port: Arc::new(Mutex::new(port)),
        }
    }

    /// Sends one frame. A failed write means the host is gone: there is no one to tell, so the
    /// error is only logged to the console.
    pub fn send(&self, frame: &Frame) {
        let bytes = frame.encode();
        let mut port = self.port.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = port.write_all(&bytes) {
            eprintln!("berth-agent: writing a {:?} frame: {e}", frame.kind);
        }
    }

    pub fn data(&self, kind: Kind, stream: u32, bytes: &[u8]) {
        self.send(&Frame::new(kind, stream, bytes.to_vec()));
    }

    pub fn json<T: serde::Serialize>(&self, kind: Kind, stream: u32, value: &T) {
        self.send(&Frame::json(kind, stream, value));
    }

    /// A process that could not start: Failed with the reason, then its Exit.
    pub fn failed(&self, stream: u32, message: String, exit_code: i32) {
        eprintln!("berth-agent: stream {stream}: {message}");
        self.json(
            Kind::Failed,
            stream,
            &crate::config::Failed { message, exit_code },
        );
        self.send(&Frame::int(Kind::Exit, stream, exit_code));
    }
}
