//! A `berth serve --kube` for a test and the real kubectl to drive it: the oldest and the newest
//! kubectl this machine has (1.27 and 1.33, beside `kubectl` in Google Cloud SDK's layout).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Env, Run, cannot_run, output_within};

/// The versioned kubectl binaries' directory (where `kubectl` resolves to).
fn kubectl_dir() -> Option<PathBuf> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("readlink -f \"$(command -v kubectl)\"")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    path.parent().map(Path::to_path_buf)
}

/// kubectl 1.27 and 1.33; the test fails, saying why, when they are not both there.
pub fn kubectls() -> Vec<PathBuf> {
    let dir = kubectl_dir();
    let found: Vec<PathBuf> = ["kubectl.1.27", "kubectl.1.33"]
        .iter()
        .filter_map(|name| Some(dir.as_ref()?.join(name)))
        .filter(|p| p.is_file())
        .collect();
    if found.len() != 2 {
        cannot_run("kubectl.1.27 and kubectl.1.33 are not both beside the installed kubectl");
        panic!("this test needs kubectl 1.27 and 1.33 (see the reason above)");
    }
    found
}

/// `kubectl.1.33` for a path to it.
pub fn name(kubectl: &Path) -> String {
    kubectl.file_name().unwrap().to_string_lossy().into_owned()
}

/// A `berth serve --kube 127.0.0.1:PORT` and a kubeconfig for it; SIGKILLed on drop.
pub struct Api {
    child: Child,
    pub kubeconfig: PathBuf,
    pub port: u16,
    pub ready_in: Duration,
}

impl Api {
    pub fn start(env: &Env) -> Api {
        let port = super::free_port();
        let dir = env.run.parent().unwrap().to_path_buf();
        let kubeconfig = dir.join("kubeconfig");
        let server = format!("https://127.0.0.1:{port}");
        env.ok(&[
            "kube",
            "config",
            "--server",
            &server,
            "-o",
            kubeconfig.to_str().unwrap(),
        ]);
        let socket = dir.join("api.sock");
        let started = Instant::now();
        let child = env
            .cmd(&[
                "serve",
                "-H",
                &format!("unix://{}", socket.display()),
                "--kube",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        super::wait_for(
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the Kubernetes API to listen",
        );
        Api {
            child,
            kubeconfig,
            port,
            ready_in: started.elapsed(),
        }
    }

    /// A kubectl command with this API's kubeconfig, ready to spawn.
    pub fn command(&self, kubectl: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.kubeconfig.parent().unwrap())
            .stdin(Stdio::null());
        cmd
    }

    pub fn kubectl(&self, kubectl: &Path, args: &[&str]) -> Run {
        output_within(self.command(kubectl, args), Duration::from_secs(60))
    }

    /// The command's stdout; the test fails with its stderr when it exits non-zero.
    pub fn ok(&self, kubectl: &Path, args: &[&str]) -> String {
        let r = self.kubectl(kubectl, args);
        assert_eq!(
            r.code,
            0,
            "{} {args:?} failed: {}{}",
            kubectl.display(),
            r.stdout,
            r.stderr
        );
        r.stdout
    }

    pub fn apply(&self, kubectl: &Path, yaml: &str) -> Run {
        let file = self
            .kubeconfig
            .with_file_name(format!("manifest-{}.yaml", yaml.len()));
        std::fs::write(&file, yaml).unwrap();
        self.kubectl(kubectl, &["apply", "-f", file.to_str().unwrap()])
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
