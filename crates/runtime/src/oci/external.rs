//! An external OCI runtime binary (runc, crun, youki, or a path), driven through the command
//! line every OCI runtime shares: `create --bundle`, `start`, `pause`, `resume`, `delete`,
//! `exec --process`. Its init process is re-parented to the caller, which must be a child
//! subreaper (the shim is).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{CreateOptions, ExecOptions, OciRuntime, RuntimeError};

pub struct External {
    binary: PathBuf,
}

impl External {
    /// Finds `name` on $PATH (or takes it as a path).
    pub fn find(name: &str) -> Result<External, RuntimeError> {
        let candidate = Path::new(name);
        if name.contains('/') {
            if candidate.is_file() {
                return Ok(External {
                    binary: candidate.to_path_buf(),
                });
            }
            return Err(RuntimeError::UnknownRuntime(name.to_string()));
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(|binary| External { binary })
            .ok_or_else(|| RuntimeError::UnknownRuntime(name.to_string()))
    }

    fn name(&self) -> String {
        self.binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn command(&self, state_root: &Path) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--root").arg(state_root);
        cmd
    }

    /// Runs a runtime command and turns a failure into its stderr's last line.
    fn run(&self, mut cmd: Command) -> Result<(), RuntimeError> {
        let output = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| RuntimeError::Io {
                context: format!("running {}", self.binary.display()),
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(self.failure(&output.stderr))
    }

    fn failure(&self, stderr: &[u8]) -> RuntimeError {
        let text = String::from_utf8_lossy(stderr);
        let message = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
            .to_string();
        RuntimeError::External {
            runtime: self.name(),
            message,
        }
    }

    /// Runs `create` or `exec`, whose stdio become the container process's, and returns the pid
    /// the runtime wrote. The runtime's own errors go to a `--log` file, since its stderr is the
    /// container's.
    fn run_with_stdio(
        &self,
        state_root: &Path,
        subcommand: &[&std::ffi::OsStr],
        stdio: [Option<OwnedFd>; 3],
        pid_file: &Path,
    ) -> Result<i32, RuntimeError> {
        let io = |source| RuntimeError::Io {
            context: format!("running {}", self.binary.display()),
            source,
        };
        let log = pid_file.with_extension("log");
        let mut cmd = self.command(state_root);
        cmd.arg("--log")
            .arg(&log)
            .arg("--log-format")
            .arg("text")
            .args(subcommand);
        let [stdin, stdout, stderr] = stdio;
        cmd.stdin(stdin.map(Stdio::from).unwrap_or_else(Stdio::null));
        cmd.stdout(stdout.map(Stdio::from).unwrap_or_else(Stdio::null));
        cmd.stderr(stderr.map(Stdio::from).unwrap_or_else(Stdio::null));
        let status = cmd.status().map_err(io)?;
        let text = std::fs::read(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        if !status.success() {
            let text = String::from_utf8_lossy(&text);
            // runc's text log lines look like: time=... level=error msg="..."
            let message = text
                .lines()
                .rev()
                .find_map(|l| {
                    l.split_once("msg=")
                        .map(|(_, m)| m.trim_matches('"').to_string())
                })
                .unwrap_or_else(|| "failed".into());
            return Err(RuntimeError::External {
                runtime: self.name(),
                message,
            });
        }
        let pid = std::fs::read_to_string(pid_file).map_err(io)?;
        pid.trim().parse().map_err(|_| RuntimeError::External {
            runtime: self.name(),
            message: format!("bad pid file {}", pid_file.display()),
        })
    }
}

impl OciRuntime for External {
    fn create(&self, options: CreateOptions) -> Result<i32, RuntimeError> {
        let pid_file = options.bundle.join("init.pid");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "create".as_ref(),
            "--bundle".as_ref(),
            options.bundle.as_os_str(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
        ];
        if let Some(socket) = &options.console_socket {
            args.extend(["--console-socket".as_ref(), socket.as_os_str()]);
        }
        args.push(options.id.as_ref());
        self.run_with_stdio(
            &options.state_root,
            &args,
            [options.stdin, options.stdout, options.stderr],
            &pid_file,
        )
    }

    fn start(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        let mut cmd = self.command(state_root);
        cmd.arg("start").arg(id);
        self.run(cmd)
    }

    fn pause(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        let mut cmd = self.command(state_root);
        cmd.arg("pause").arg(id);
        self.run(cmd)
    }

    fn resume(&self, state_root: &Path, id: &str) -> Result<(), RuntimeError> {
        let mut cmd = self.command(state_root);
        cmd.arg("resume").arg(id);
        self.run(cmd)
    }

    fn delete(&self, state_root: &Path, id: &str, force: bool) -> Result<(), RuntimeError> {
        if !state_root.join(id).exists() {
            return Ok(());
        }
        let mut cmd = self.command(state_root);
        cmd.arg("delete");
        if force {
            cmd.arg("--force");
        }
        cmd.arg(id);
        self.run(cmd)
    }

    fn exec(&self, options: ExecOptions) -> Result<i32, RuntimeError> {
        let io = |source| RuntimeError::Io {
            context: "writing process.json".into(),
            source,
        };
        std::fs::create_dir_all(&options.scratch).map_err(io)?;
        let process = serde_json::json!({
            "terminal": options.terminal,
            "consoleSize": options.console_size.map(|(rows, cols)| serde_json::json!({"height": rows, "width": cols})),
            "user": { "uid": options.uid, "gid": options.gid, "additionalGids": options.additional_gids },
            "args": options.args,
            "env": options.env,
            "cwd": options.cwd.clone().unwrap_or_else(|| "/".into()),
        });
        let process_file = options.scratch.join("process.json");
        std::fs::write(&process_file, process.to_string()).map_err(io)?;
        let pid_file = options.scratch.join("exec.pid");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "exec".as_ref(),
            "--detach".as_ref(),
            "--process".as_ref(),
            process_file.as_os_str(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
        ];
        if let Some(socket) = &options.console_socket {
            args.extend(["--console-socket".as_ref(), socket.as_os_str()]);
        }
        args.push(options.id.as_ref());
        self.run_with_stdio(
            &options.state_root,
            &args,
            [options.stdin, options.stdout, options.stderr],
            &pid_file,
        )
    }
}
