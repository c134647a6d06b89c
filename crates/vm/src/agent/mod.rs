//! The guest agent, `berth vm-agent`: PID 1 of every guest, the initramfs's `/init` (the berth
//! binary itself). It mounts the pseudo-filesystems, loads the modules, opens its virtio-serial
//! port and says Hello; then it sets the guest up as the host's [`GuestRun`] says (clock,
//! hostname, the container's root over 9p, mounts, files, network, DNS), runs the main process
//! and every exec, relays their stdio, signals and exits as frames, reaps every zombie, and
//! powers the guest off when the main process is gone or the host asks. Any fatal setup error
//! is reported (Failed, Exit 125) and the guest powers off: it never leaves the host waiting.
//!
//! Must not: run anywhere but as a guest's PID 1 (it mounts, kills every process and reboots).

mod boot;
mod channel;
mod dns;
mod network;
mod power;
mod process;
mod reaper;
mod rootfs;
mod switch_root;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channel::Sender;
use process::Streams;

use crate::config::{GuestExec, GuestRun, Hello, PROTOCOL_VERSION};
use crate::protocol::{Frame, Kind, MAIN_STREAM};
use crate::qemu::FLOOR_FLAG;

/// How long the agent waits for its port to show up after virtio_console loads.
const PORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether this process is a guest's init: PID 1 started as `/init` (the kernel runs the
/// initramfs's `/init` with that argv[0]). Both are required, so the berth binary run as a
/// container's PID 1 under another name stays the CLI.
pub fn is_guest_init() -> bool {
    std::process::id() == 1
        && std::env::args_os()
            .next()
            .is_some_and(|arg0| arg0 == "/init")
}

/// Runs the agent; returns only when it is not PID 1 (the exit code of that refusal).
pub fn main() -> i32 {
    if std::process::id() != 1 {
        eprintln!("berth vm-agent is a micro-VM's init (PID 1); it does not run on a host");
        return 125;
    }
    if let Err(reason) = boot_and_serve() {
        eprintln!("berth-agent: {reason}");
    }
    power::off()
}

/// Boots, greets the host and serves frames until the port closes.
fn boot_and_serve() -> Result<(), String> {
    boot::mount_proc()?;
    if boot::cmdline_has(FLOOR_FLAG) {
        boot::trace("floor: powering off");
        power::reboot_now();
    }
    boot::trace("init");
    boot::mount_basics()?;
    boot::load_modules()?;
    boot::trace("modules loaded");
    reaper::start();
    let port = boot::open_port(PORT_TIMEOUT)?;
    boot::trace("port open");
    let mut input = port
        .try_clone()
        .map_err(|e| format!("duplicating the port: {e}"))?;
    let sender = Sender::new(port);
    sender.json(
        Kind::Hello,
        MAIN_STREAM,
        &Hello {
            version: PROTOCOL_VERSION,
            uptime_ms: boot::uptime_ms(),
        },
    );
    let agent = Agent {
        sender,
        streams: Arc::new(Streams::default()),
        root: Mutex::new(PathBuf::from("/")),
        dns: dns::Forwarder::default(),
    };
    loop {
        match Frame::read_from(&mut input) {
            Ok(Some(frame)) => agent.handle(frame),
            Ok(None) => return Err("the host closed the channel".to_string()),
            Err(e) => return Err(format!("the host channel: {e}")),
        }
    }
}

struct Agent {
    sender: Sender,
    streams: Arc<Streams>,
    /// The root the main process got, where execs run too.
    root: Mutex<PathBuf>,
    dns: dns::Forwarder,
}

impl Agent {
    fn handle(&self, frame: Frame) {
        match frame.kind {
            Kind::Run if frame.stream == MAIN_STREAM => match frame.parse::<GuestRun>() {
                Ok(run) => self.run_main(run),
                Err(e) => self.fatal(format!("the host's run request: {e}")),
            },
            Kind::Run => match frame.parse::<GuestExec>() {
                Ok(exec) => {
                    let root = self.root.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    process::start(
                        frame.stream,
                        &exec.process,
                        &root,
                        &self.sender,
                        &self.streams,
                        None,
                        Box::new(|_| {}),
                    );
                }
                Err(e) => {
                    self.sender
                        .failed(frame.stream, format!("the host's exec request: {e}"), 126)
                }
            },
            Kind::Stdin => self.streams.stdin(frame.stream, frame.payload),
            Kind::Signal => {
                if let Ok(signal) = frame.as_int() {
                    self.streams.signal(frame.stream, signal);
                }
            }
            Kind::Resize if frame.payload.len() == 4 => {
                let rows = u16::from_le_bytes([frame.payload[0], frame.payload[1]]);
                let columns = u16::from_le_bytes([frame.payload[2], frame.payload[3]]);
                self.streams.resize(frame.stream, rows, columns);
            }
            Kind::DnsReply => self.dns.reply(frame.stream, frame.payload),
            Kind::Clock if frame.payload.len() == 8 => {
                let ns = i64::from_le_bytes(frame.payload[..8].try_into().expect("8 bytes"));
                set_clock(ns);
            }
            Kind::Poweroff => power::off(),
            other => eprintln!("berth-agent: ignoring a {other:?} frame"),
        }
    }

    /// Sets the guest up and starts the main process; its exit powers the guest off.
    fn run_main(&self, run: GuestRun) {
        boot::trace("run received");
        if let Err(reason) = self.set_up(&run) {
            self.fatal(reason);
        }
        let root = self.root.lock().unwrap_or_else(|e| e.into_inner()).clone();
        process::start(
            MAIN_STREAM,
            &run.process,
            &root,
            &self.sender,
            &self.streams,
            // The container ends with its main process: whatever else runs goes too, so no
            // straggler keeps the main process's output open.
            Some(Box::new(|| {
                // SAFETY: kill(-1) signals every process but PID 1 (the agent).
                unsafe {
                    libc::kill(-1, libc::SIGKILL);
                }
            })),
            Box::new(|_| power::off()),
        );
    }

    fn set_up(&self, run: &GuestRun) -> Result<(), String> {
        if run.clock_ns > 0 {
            set_clock(run.clock_ns);
        }
        if !run.hostname.is_empty() {
            nix::unistd::sethostname(&run.hostname)
                .map_err(|e| format!("setting the hostname: {e}"))?;
        }
        network::bring_up_loopback()?;
        if let Some(guest_network) = &run.network {
            network::configure(guest_network)?;
        }
        boot::trace("network up");
        let root = rootfs::prepare(run.shared_root, &run.mounts, &run.files)?;
        boot::trace("root ready");
        *self.root.lock().unwrap_or_else(|e| e.into_inner()) = root;
        if run.dns_forward {
            self.dns.serve(&self.sender)?;
        }
        Ok(())
    }

    /// A setup error: the main process fails with 125 and the guest powers off.
    fn fatal(&self, reason: String) -> ! {
        self.sender.failed(MAIN_STREAM, reason, 125);
        power::off()
    }
}

fn set_clock(ns: i64) {
    let time = libc::timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    };
    // SAFETY: clock_settime with a valid timespec.
    unsafe {
        libc::clock_settime(libc::CLOCK_REALTIME, &time);
    }
}
