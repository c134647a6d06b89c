//! Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port, anonymous, killed on
//! drop: the registry the build and API tests pull from and push to.
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = "/usr/bin/docker-registry";

pub struct LocalRegistry {
    child: Child,
    pub port: u16,
}

impl LocalRegistry {
    /// Starts one keeping its data under `dir`; `None` (the test skips) when it is not installed.
    pub fn start(dir: &Path) -> Option<LocalRegistry> {
        if !Path::new(BIN).is_file() {
            super::cannot_run(&format!(
                "{BIN} is not installed (apt-get install docker-registry)"
            ));
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = LocalRegistry { child, port };
        super::wait_for(
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the registry to listen",
        );
        Some(registry)
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
