//! A command on a terminal of the test's own: a pty pair whose slave is the command's stdio, a
//! thread collecting what the master reads, resizes as a terminal emulator makes them.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pty pair of this size; returns (master, slave).
pub fn pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let size = winsize(rows, cols);
    // SAFETY: openpty with valid out-pointers and a winsize.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(r, 0, "openpty");
    // SAFETY: openpty returned two fresh fds we now own.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

fn winsize(rows: u16, cols: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// A running command on its own terminal.
pub struct Terminal {
    child: Child,
    master: Option<OwnedFd>,
    seen: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Terminal {
    /// Starts `cmd` with a `rows` x `cols` terminal as its stdin, stdout and stderr.
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> Terminal {
        let (master, slave) = pty(rows, cols);
        let child = cmd
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = seen.clone();
        let mut file = std::fs::File::from(master.try_clone().unwrap());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = file.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal {
            child,
            master: Some(master),
            seen,
            reader: Some(reader),
        }
    }

    /// Everything the terminal showed so far.
    pub fn seen(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until the terminal shows `text`; panics with what it shows after `within`.
    pub fn wait_for(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.seen.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}: {}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resizes the terminal and tells the command, as a terminal emulator does (SIGWINCH).
    pub fn resize(&self, rows: u16, cols: u16) {
        let size = winsize(rows, cols);
        let master = self.master.as_ref().unwrap();
        // SAFETY: TIOCSWINSZ with a valid winsize on the master we hold.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGWINCH) };
    }

    /// Types `bytes` on the terminal.
    pub fn type_in(&self, bytes: &[u8]) {
        nix::unistd::write(self.master.as_ref().unwrap(), bytes).unwrap();
    }

    /// Waits for the command to exit (killing it after `within`); returns its status and all
    /// the terminal showed.
    pub fn finish(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the command did not exit: {}", self.seen());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.master.take();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.seen())
    }
}
