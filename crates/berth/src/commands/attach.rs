//! `berth attach [--no-stdin] [--sig-proxy] [--detach-keys] CONTAINER`: joins a running
//! container's stdio through its shim, as `docker attach` does.
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_engine::Error;
use berth_engine::attach::{self, AttachOptions, DetachKeys, Event};

use super::CliError;
use crate::terminal;

#[derive(clap::Args)]
pub struct Args {
    /// Do not attach STDIN
    #[arg(long)]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true)]
    sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    container: String,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let keys = DetachKeys::parse(&args.detach_keys)?;
    let options = AttachOptions {
        stdin: !args.no_stdin,
    };
    // docker attach exits 1 on a missing or stopped container.
    let mut stream = engine
        .attach(&args.container, options)
        .map_err(|e| match e {
            Error::NotFound(_) | Error::Conflict(_) => CliError {
                message: e.to_string(),
                code: 1,
                daemon: false,
            },
            e => e.into(),
        })?;
    let input = std::io::stdin();
    let raw = (stream.tty && stream.stdin && terminal::is_terminal(input.as_fd()))
        .then(terminal::RawMode::enter);
    let sender = stream
        .socket
        .try_clone()
        .map(|s| Arc::new(Mutex::new(s)))
        .map_err(|e| CliError::usage(format!("attaching to {}: {e}", args.container)))?;
    if stream.tty {
        let sender = sender.clone();
        terminal::on_window_size(move |size| {
            let frame = attach::resize_frame(size.ws_row, size.ws_col);
            let _ = sender.lock().map(|mut s| s.write_all(&frame));
        });
    } else if args.sig_proxy
        && let Some(init) = stream.init.take()
    {
        terminal::proxy_signals(init);
    }
    let detached = Arc::new(AtomicBool::new(false));
    let quiet = Arc::new(QuietClock::new());
    if stream.stdin {
        let detached = detached.clone();
        let quiet = quiet.clone();
        std::thread::spawn(move || forward_stdin(&sender, keys, &detached, &quiet));
    }
    let mut code = None;
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    loop {
        match stream.next_event() {
            Ok(Some(Event::Stdout(data))) => {
                quiet.reset();
                let _ = stdout.write_all(&data).and_then(|_| stdout.flush());
            }
            Ok(Some(Event::Stderr(data))) => {
                quiet.reset();
                let _ = stderr.write_all(&data);
            }
            Ok(Some(Event::Exited(exit))) => {
                code = Some(exit);
                break;
            }
            Ok(None) | Err(_) => break,
        }
    }
    drop(raw);
    if let Some(code) = code {
        return Ok(code);
    }
    if detached.load(Ordering::SeqCst) {
        return Ok(0);
    }
    // The shim let us go without an exit code: the client's stdin ended (the container runs
    // on), or the shim died (the record says how the container ended).
    Ok(match engine.container(&stream.id) {
        Ok(rec) if !rec.state.has_shim() => rec.exit_code as i32,
        _ => 0,
    })
}

/// When the container's output last arrived.
struct QuietClock {
    since: Instant,
    last_output_ms: AtomicU64,
}

impl QuietClock {
    fn new() -> QuietClock {
        QuietClock {
            since: Instant::now(),
            last_output_ms: AtomicU64::new(0),
        }
    }

    fn reset(&self) {
        let now = self.since.elapsed().as_millis() as u64;
        self.last_output_ms.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let now = self.since.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_output_ms.load(Ordering::Relaxed)))
    }
}

/// After our stdin ends, how long the container's output must pause (at most [`LINGER_MAX`])
/// before we let go: the answer to the last input (`echo hi | berth attach c`) still arrives.
const LINGER_QUIET: Duration = Duration::from_millis(300);
const LINGER_MAX: Duration = Duration::from_secs(3);

/// Copies our stdin to the shim, watching for the detach keys; on them, closes the connection.
fn forward_stdin(
    sender: &Mutex<UnixStream>,
    mut keys: DetachKeys,
    detached: &AtomicBool,
    quiet: &QuietClock,
) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match nix::unistd::read(0, &mut buf) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => 0,
        };
        if n == 0 {
            let end = Instant::now() + LINGER_MAX;
            quiet.reset();
            while quiet.quiet_for() < LINGER_QUIET && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(socket) = sender.lock() {
                let _ = (&*socket).write_all(&attach::frame(attach::STDIN_EOF, &[]));
            }
            return;
        }
        let Ok(socket) = sender.lock() else { return };
        let (data, detach) = keys.feed(&buf[..n]);
        if !data.is_empty()
            && (&*socket)
                .write_all(&attach::frame(attach::STDIN, &data))
                .is_err()
        {
            return;
        }
        if detach {
            detached.store(true, Ordering::SeqCst);
            let _ = socket.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}
