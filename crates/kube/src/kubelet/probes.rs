//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket), as the kubelet runs
//! them: each when its period is due, with its thresholds, from the host into the pod's
//! network. Results live in the [`Prober`] of the kubelet that ran them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::containers::ContainerRecord;
use berth_engine::exec::ExecRequest;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

/// One probe's running state for one container run.
#[derive(Debug, Clone)]
struct State {
    /// The container run it belongs to (its start time): a restart starts afresh.
    started_at: String,
    next: Instant,
    successes: i32,
    failures: i32,
    /// Passed (successThreshold reached) and not failed since (failureThreshold reached).
    passing: bool,
}

/// What the probes of a container decided now.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Verdict {
    /// Readiness: None when the container has no readiness probe.
    pub ready: Option<bool>,
    /// The liveness (or startup) probe failed its threshold: the container is to be restarted.
    pub restart: bool,
}

/// The probes' states of every container this kubelet probes, by (pod uid, container, kind).
#[derive(Default)]
pub struct Prober {
    states: BTreeMap<(String, String, Kind), State>,
}

/// How to reach the pod: its IP (the host's loopback with the host's network).
pub struct Target<'a> {
    pub pod_ip: &'a str,
}

impl Prober {
    /// Runs the due probes of running container `c` (record `rec`) and says what they decided.
    pub fn probe(
        &mut self,
        engine: &Engine,
        uid: &str,
        c: &Container,
        rec: &ContainerRecord,
        target: &Target<'_>,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        if let Some(probe) = &c.startup_probe {
            let passed = self.run_if_due(engine, uid, c, rec, target, Kind::Startup, probe);
            if !passed {
                verdict.ready = c.readiness_probe.as_ref().map(|_| false);
                verdict.restart = self.failed_out(uid, &c.name, Kind::Startup, probe);
                return verdict;
            }
        }
        if let Some(probe) = &c.liveness_probe {
            self.run_if_due(engine, uid, c, rec, target, Kind::Liveness, probe);
            verdict.restart = self.failed_out(uid, &c.name, Kind::Liveness, probe);
        }
        if let Some(probe) = &c.readiness_probe {
            verdict.ready =
                Some(self.run_if_due(engine, uid, c, rec, target, Kind::Readiness, probe));
        }
        verdict
    }

    /// Forgets the probes of pod `uid` (removed).
    pub fn forget(&mut self, uid: &str) {
        self.states.retain(|(u, _, _), _| u != uid);
    }

    /// Whether probe `kind` of the container passes, after running it if its period is due.
    #[allow(clippy::too_many_arguments)]
    fn run_if_due(
        &mut self,
        engine: &Engine,
        uid: &str,
        c: &Container,
        rec: &ContainerRecord,
        target: &Target<'_>,
        kind: Kind,
        probe: &Probe,
    ) -> bool {
        let key = (uid.to_string(), c.name.clone(), kind);
        let now = Instant::now();
        let state = self.states.entry(key).or_insert_with(|| State {
            started_at: String::new(),
            next: now,
            successes: 0,
            failures: 0,
            passing: false,
        });
        if state.started_at != rec.started_at {
            // A new run of the container: the initial delay, then its first probe.
            *state = State {
                started_at: rec.started_at.clone(),
                next: now + secs(probe.initial_delay_seconds.unwrap_or(0)),
                successes: 0,
                failures: 0,
                // Liveness passes until it fails; readiness and startup fail until they pass.
                passing: kind == Kind::Liveness,
            };
        }
        if now < state.next {
            return state.passing;
        }
        state.next = now + secs(probe.period_seconds.unwrap_or(10).max(1));
        let ok = run(engine, c, rec, target, probe);
        if ok {
            state.successes += 1;
            state.failures = 0;
            if state.successes >= probe.success_threshold.unwrap_or(1).max(1) {
                state.passing = true;
            }
        } else {
            state.failures += 1;
            state.successes = 0;
            if state.failures >= probe.failure_threshold.unwrap_or(3).max(1) {
                state.passing = false;
            }
        }
        state.passing
    }

    /// Whether a liveness or startup probe reached its failure threshold.
    fn failed_out(&self, uid: &str, container: &str, kind: Kind, probe: &Probe) -> bool {
        self.states
            .get(&(uid.to_string(), container.to_string(), kind))
            .is_some_and(|s| s.failures >= probe.failure_threshold.unwrap_or(3).max(1))
    }
}

fn secs(n: i32) -> Duration {
    Duration::from_secs(n.max(0) as u64)
}

/// Runs the probe once: whether it succeeded.
fn run(
    engine: &Engine,
    c: &Container,
    rec: &ContainerRecord,
    target: &Target<'_>,
    probe: &Probe,
) -> bool {
    let timeout = secs(probe.timeout_seconds.unwrap_or(1).max(1));
    if let Some(exec) = &probe.exec {
        return run_exec(
            engine,
            rec,
            exec.command.clone().unwrap_or_default(),
            timeout,
        );
    }
    if let Some(http) = &probe.http_get {
        let Some(addr) = address(c, http.host.as_deref(), &http.port, target) else {
            return false;
        };
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        return http_get(addr, &path, &headers, timeout);
    }
    if let Some(tcp) = &probe.tcp_socket {
        let Some(addr) = address(c, tcp.host.as_deref(), &tcp.port, target) else {
            return false;
        };
        return TcpStream::connect_timeout(&addr, timeout).is_ok();
    }
    // A probe with no handler (grpc) cannot fail here.
    true
}

/// The probe's address: its host (the pod's IP by default) and its port, by number or by the
/// name of one of the container's ports.
fn address(
    c: &Container,
    host: Option<&str>,
    port: &IntOrString,
    target: &Target<'_>,
) -> Option<SocketAddr> {
    let port = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse() {
            Ok(n) => n,
            Err(_) => {
                c.ports
                    .iter()
                    .flatten()
                    .find(|p| p.name.as_deref() == Some(name))?
                    .container_port
            }
        },
    };
    let host = host
        .filter(|h| !h.is_empty())
        .unwrap_or(if target.pod_ip.is_empty() {
            "127.0.0.1"
        } else {
            target.pod_ip
        });
    (host, u16::try_from(port).ok()?)
        .to_socket_addrs()
        .ok()?
        .next()
}

/// An HTTP GET: success is a status from 200 to 399, as the kubelet's.
fn http_get(addr: SocketAddr, path: &str, headers: &[(String, String)], timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut request = format!(
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: kube-probe/berth\r\nAccept: */*\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 32];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..400).contains(&code))
}

/// An exec probe, through the engine's exec helper (the kubelet may run in a multi-threaded
/// server): success is exit code 0 within the timeout.
fn run_exec(engine: &Engine, rec: &ContainerRecord, cmd: Vec<String>, timeout: Duration) -> bool {
    let request = ExecRequest {
        cmd,
        ..Default::default()
    };
    let Ok(mut command) = engine.exec_helper_command(&rec.id, &request, false) else {
        return false;
    };
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let Ok(mut child) = command.spawn() else {
        return false;
    };
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::types::{CreateRequest, State as RunState};
    use k8s_openapi::api::core::v1::{HTTPGetAction, TCPSocketAction};

    /// A server answering every connection with `status`, on a free port.
    fn server(status: u16) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            }
        });
        port
    }

    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn record() -> ContainerRecord {
        ContainerRecord {
            id: "abc".into(),
            name: "c".into(),
            image: "bb:1".into(),
            image_id: "sha256:1".into(),
            created: String::new(),
            config: CreateRequest::default(),
            state: RunState::Running,
            pid: 1,
            shim_pid: 0,
            shim_start: 0,
            exit_code: 0,
            started_at: "2026-01-01T00:00:01Z".into(),
            finished_at: String::new(),
            error: String::new(),
            restart_count: 0,
            manually_stopped: false,
            oom_killed: false,
            health: None,
        }
    }

    fn http_probe(port: u16) -> Probe {
        Probe {
            http_get: Some(HTTPGetAction {
                port: IntOrString::Int(port.into()),
                path: Some("/healthz".into()),
                ..Default::default()
            }),
            period_seconds: Some(1),
            failure_threshold: Some(1),
            ..Default::default()
        }
    }

    fn engine() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_at(&dir.path().join("root"), &dir.path().join("run")).unwrap();
        (dir, engine)
    }

    #[test]
    fn http_get_succeeds_on_2xx_and_3xx_only() {
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let t = Duration::from_secs(1);
        assert!(http_get(addr(server(200)), "/", &[], t));
        assert!(http_get(addr(server(302)), "/", &[], t));
        assert!(!http_get(addr(server(500)), "/", &[], t));
        assert!(!http_get(addr(closed_port()), "/", &[], t));
    }

    #[test]
    fn readiness_follows_the_probe_and_a_failed_liveness_asks_for_a_restart() {
        let (_dir, engine) = engine();
        let target = Target {
            pod_ip: "127.0.0.1",
        };
        let mut c = Container {
            name: "web".into(),
            readiness_probe: Some(http_probe(server(200))),
            ..Default::default()
        };
        let mut prober = Prober::default();
        let verdict = prober.probe(&engine, "uid", &c, &record(), &target);
        assert_eq!(verdict.ready, Some(true));
        assert!(!verdict.restart);

        c.readiness_probe = Some(http_probe(server(503)));
        c.liveness_probe = Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(closed_port().into()),
                ..Default::default()
            }),
            period_seconds: Some(1),
            failure_threshold: Some(1),
            ..Default::default()
        });
        // A new run of the container starts the probes afresh.
        let mut rec = record();
        rec.started_at = "2026-01-01T00:00:09Z".into();
        let verdict = prober.probe(&engine, "uid2", &c, &rec, &target);
        assert_eq!(verdict.ready, Some(false));
        assert!(verdict.restart);
    }

    #[test]
    fn a_named_port_is_the_containers() {
        let c = Container {
            name: "web".into(),
            ports: Some(vec![k8s_openapi::api::core::v1::ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }]),
            ..Default::default()
        };
        let target = Target { pod_ip: "10.1.2.3" };
        let addr = address(&c, None, &IntOrString::String("http".into()), &target).unwrap();
        assert_eq!(addr.to_string(), "10.1.2.3:8080");
        assert!(address(&c, None, &IntOrString::String("nope".into()), &target).is_none());
    }
}
