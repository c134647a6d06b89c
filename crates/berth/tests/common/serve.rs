//! A `berth serve` on a unix socket in the test's directory, killed on drop.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Serve {
    child: Child,
    pub socket: PathBuf,
}

impl Serve {
    /// Starts the server from `cmd` (the env's `berth serve -H unix://SOCKET` command, with any
    /// extra environment) and waits until it listens on `socket`.
    pub fn start(mut cmd: Command, socket: PathBuf) -> Serve {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let serve = Serve { child, socket };
        super::wait_for(
            || std::os::unix::net::UnixStream::connect(&serve.socket).is_ok(),
            "berth serve to listen",
        );
        serve
    }
}

impl super::Env {
    /// `berth serve` on `<test dir>/api.sock`.
    pub fn serve_command(&self) -> (Command, PathBuf) {
        let socket = self.run.parent().unwrap().join("api.sock");
        (
            self.cmd(&["serve", "-H", &format!("unix://{}", socket.display())]),
            socket,
        )
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
