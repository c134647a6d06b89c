//! The client I/O kubectl needs beyond JSON CRUD, driven by the real kubectl 1.27 and 1.33:
//! protobuf request bodies (1.33's typed clients send them for `create` and `run`), and the
//! streaming subresources: exec and attach, port-forward (1.33 over WebSocket, 1.27 over
//! SPDY/3.1), and logs of each attempt of a restarted container (-f, -p, --tail, --since).

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use common::kube::{Api, kubectls, name};
use common::required_env;
use common::terminal::Terminal;

#[test]
fn create_and_run_send_protobuf_bodies_that_the_server_takes() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    for kubectl in &kubectls {
        let who = name(kubectl);
        let n = who.replace('.', "-");
        let r = api.kubectl(
            kubectl,
            &[
                "create",
                "configmap",
                &format!("cm-{n}"),
                "--from-literal=a=b",
                "-v=8",
            ],
        );
        assert_eq!(r.code, 0, "{who}: {}", r.stderr);
        if who.ends_with("1.33") {
            // The test means something only while 1.33 sends protobuf: check that it does.
            assert!(
                r.stderr
                    .contains("Content-Type: application/vnd.kubernetes.protobuf"),
                "{who} no longer sends protobuf: {}",
                r.stderr
            );
        }
        api.ok(
            kubectl,
            &[
                "create",
                "secret",
                "generic",
                &format!("s-{n}"),
                "--from-literal=pw=s3cret",
            ],
        );
        api.ok(
            kubectl,
            &[
                "create",
                "deployment",
                &format!("d-{n}"),
                "--image=bb",
                "--replicas=2",
                "--",
                "sleep",
                "1000",
            ],
        );
        api.ok(
            kubectl,
            &[
                "run",
                &format!("p-{n}"),
                "--image=bb",
                "--labels=tier=io",
                "--",
                "sleep",
                "1000",
            ],
        );

        let data = api.ok(
            kubectl,
            &["get", "cm", &format!("cm-{n}"), "-o", "jsonpath={.data}"],
        );
        assert_eq!(data, r#"{"a":"b"}"#, "{who}");
        let secret = api.ok(
            kubectl,
            &[
                "get",
                "secret",
                &format!("s-{n}"),
                "-o",
                "jsonpath={.data.pw}",
            ],
        );
        assert_eq!(
            secret, "czNjcmV0",
            "{who}: the secret's bytes, base64 as JSON shows them"
        );
        let deployment = api.ok(
            kubectl,
            &["get", "deploy", &format!("d-{n}"), "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].command}"],
        );
        assert_eq!(deployment, r#"2 bb ["sleep","1000"]"#, "{who}");
        let pod = api.ok(
            kubectl,
            &[
                "get",
                "pod",
                &format!("p-{n}"),
                "-o",
                "jsonpath={.metadata.labels.tier} {.spec.containers[0].args}",
            ],
        );
        assert_eq!(pod, r#"io ["sleep","1000"]"#, "{who}");
        // The pod runs: the body carried a spec the kubelet could start.
        common::eventually(std::time::Duration::from_secs(30), "the pod to run", || {
            let phase = api.ok(
                kubectl,
                &[
                    "get",
                    "pod",
                    &format!("p-{n}"),
                    "-o",
                    "jsonpath={.status.phase}",
                ],
            );
            (phase == "Running").then_some(()).ok_or(phase)
        });
    }
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: io
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: bb
    command: [sh, -c, 'mkdir -p /www && echo served-from-the-pod > /www/index.html && httpd -p 8080 -h /www && exec sleep 1000']
  - name: side
    image: bb
    command: [sleep, '1000']
";

/// Starts the pod and waits for both its containers.
fn running_pod(api: &Api, kubectl: &std::path::Path, yaml: &str, name: &str) {
    let r = api.apply(kubectl, yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    common::eventually(Duration::from_secs(30), "the pod to run", || {
        let phase = api.ok(
            kubectl,
            &["get", "pod", name, "-o", "jsonpath={.status.phase}"],
        );
        (phase == "Running").then_some(()).ok_or(phase)
    });
}

/// kubectl with stdin from `input`.
fn with_stdin(api: &Api, kubectl: &std::path::Path, args: &[&str], input: &[u8]) -> common::Run {
    let mut cmd = api.command(kubectl, args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    common::wait_within(child, Duration::from_secs(60), &format!("kubectl {args:?}"))
}

#[test]
fn exec_and_attach_over_websocket_and_spdy() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    running_pod(&api, &kubectls[1], POD, "io");
    for kubectl in &kubectls {
        let who = name(kubectl);
        // The exit code passes through, as kubectl reports it; stdout and stderr apart.
        let r = api.kubectl(
            kubectl,
            &[
                "exec",
                "io",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 7",
            ],
        );
        assert_eq!(r.code, 7, "{who}: {}", r.stderr);
        assert_eq!(r.stdout, "out\n", "{who}");
        assert!(r.stderr.contains("err\n"), "{who}: {}", r.stderr);
        assert!(
            r.stderr.contains("command terminated with exit code 7"),
            "{who}: {}",
            r.stderr
        );
        // -c picks the container; stdin piped through and closed.
        let r = with_stdin(
            &api,
            kubectl,
            &[
                "exec",
                "-i",
                "io",
                "-c",
                "side",
                "--",
                "sh",
                "-c",
                "cat; echo done",
            ],
            b"hi\n",
        );
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "hi\ndone\n"),
            "{who}: {}",
            r.stderr
        );
        // -it: a terminal of the exec's own, the client's window size.
        let terminal = Terminal::spawn(
            api.command(
                kubectl,
                &[
                    "exec",
                    "-it",
                    "io",
                    "-c",
                    "side",
                    "--",
                    "sh",
                    "-c",
                    "tty; stty size; exit 3",
                ],
            ),
            31,
            101,
        );
        let (status, seen) = terminal.finish(Duration::from_secs(30));
        assert_eq!(status.code(), Some(3), "{who}: {seen}");
        assert!(
            seen.contains("/dev/pts/") && seen.contains("31 101"),
            "{who}: {seen}"
        );
        // Bad input, worded as kube-apiserver and the runtime word it.
        let r = api.kubectl(kubectl, &["exec", "nope", "--", "true"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr
                .contains(r#"Error from server (NotFound): pods "nope" not found"#),
            "{who}: {}",
            r.stderr
        );
        let r = api.kubectl(kubectl, &["exec", "io", "-c", "nope", "--", "true"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr.contains("container nope is not valid for pod io"),
            "{who}: {}",
            r.stderr
        );
        let r = api.kubectl(kubectl, &["exec", "io", "--", "no-such-command"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr
                .contains(r#"exec: "no-such-command": executable file not found in $PATH"#),
            "{who}: {}",
            r.stderr
        );
        // attach: the container's own stdio, stdin to it, its output until it ends.
        let attached = format!("att-{}", who.replace('.', "-"));
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {attached}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: bb\n    stdin: true\n    command: [sh, -c, 'read line; echo got $line; sleep 0.5; echo bye']\n"
        );
        running_pod(&api, kubectl, &yaml, &attached);
        let r = with_stdin(&api, kubectl, &["attach", "-i", &attached], b"hello\n");
        assert_eq!(r.code, 0, "{who}: {}", r.stderr);
        assert_eq!(r.stdout, "got hello\nbye\n", "{who}: {}", r.stderr);
    }
}

/// An HTTP/1.0 GET to 127.0.0.1:port; the whole answer.
fn http_get(port: u16) -> Result<String, String> {
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer)
}

#[test]
fn port_forward_reaches_the_pod_over_websocket_and_spdy() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    running_pod(&api, &kubectls[1], POD, "io");
    for kubectl in &kubectls {
        let who = name(kubectl);
        let (good, bad) = (common::free_port(), common::free_port());
        let mut forward = api
            .command(
                kubectl,
                &[
                    "port-forward",
                    "pod/io",
                    &format!("{good}:8080"),
                    &format!("{bad}:9999"),
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let guard = KillOnDrop(&mut forward);
        let answer = common::eventually(
            Duration::from_secs(20),
            "the forwarded port to answer",
            || http_get(good),
        );
        assert!(
            answer.starts_with("HTTP/1.") && answer.contains("served-from-the-pod"),
            "{who}: {answer}"
        );
        // Again on a new connection (a new pair of streams).
        assert!(
            http_get(good).unwrap().contains("served-from-the-pod"),
            "{who}"
        );
        // A port nobody listens on in the pod: the connection ends with nothing, and kubectl
        // says why (then drops the connection to the pod, as it does with kube-apiserver).
        let answer = http_get(bad).unwrap_or_default();
        assert!(answer.is_empty(), "{who}: {answer}");
        drop(guard);
        let r = common::wait_within(forward, Duration::from_secs(20), "kubectl port-forward");
        assert!(
            r.stdout
                .contains(&format!("Forwarding from 127.0.0.1:{good} -> 8080")),
            "{who}: {}",
            r.stdout
        );
        assert!(
            r.stderr
                .contains(&format!("an error occurred forwarding {bad} -> 9999"))
                && r.stderr
                    .contains("dial tcp4 127.0.0.1:9999: connect: connection refused"),
            "{who}: {}",
            r.stderr
        );
    }
}

/// Kills a child when the test leaves the scope, passing or failing.
struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

const LOGS_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: lg
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: data
    emptyDir: {}
  containers:
  - name: main
    image: bb
    volumeMounts:
    - {name: data, mountPath: /data}
    command: [sh, -c, 'if [ -e /data/ran ]; then echo second; exec sleep 1000; fi; touch /data/ran; echo line1; echo line2; echo line3; exit 1']
  - name: side
    image: bb
    command: [sh, -c, 'echo side-says-hi; exec sleep 1000']
  - name: ticker
    image: bb
    command: [sh, -c, 'echo start; sleep 1; echo end; exit 1']
";

#[test]
fn logs_of_each_attempt_followed_tailed_and_previous() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let r = api.apply(&kubectls[1], LOGS_POD);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // main failed once and runs again.
    common::eventually(Duration::from_secs(30), "main to restart", || {
        let restarts = api.ok(
            &kubectls[1],
            &[
                "get",
                "pod",
                "lg",
                "-o",
                r#"jsonpath={.status.containerStatuses[?(@.name=="main")].restartCount}"#,
            ],
        );
        // Not created yet is a BadRequest: not yet.
        let current = api
            .kubectl(&kubectls[1], &["logs", "lg", "-c", "main"])
            .stdout;
        (restarts == "1" && current == "second\n")
            .then_some(())
            .ok_or(format!("{restarts} {current:?}"))
    });
    for kubectl in &kubectls {
        let who = name(kubectl);
        let logs = |args: &[&str]| {
            let mut all = vec!["logs", "lg"];
            all.extend_from_slice(args);
            api.ok(kubectl, &all)
        };
        // The current attempt only; the previous one with -p; --tail of either.
        assert_eq!(logs(&["-c", "main"]), "second\n", "{who}");
        assert_eq!(
            logs(&["-c", "main", "-p"]),
            "line1\nline2\nline3\n",
            "{who}"
        );
        assert_eq!(logs(&["-c", "main", "-p", "--tail=1"]), "line3\n", "{who}");
        assert_eq!(
            logs(&["-c", "side", "--since=1h"]),
            "side-says-hi\n",
            "{who}"
        );
        assert_eq!(logs(&["-c", "side", "--tail=0"]), "", "{who}");
        let stamped = logs(&["-c", "side", "--timestamps"]);
        assert!(
            stamped.ends_with(" side-says-hi\n") && stamped.starts_with("20"),
            "{who}: {stamped}"
        );
        // -f ends with the attempt it follows (the container restarts with the same lines).
        assert_eq!(logs(&["-c", "ticker", "-f"]), "start\nend\n", "{who}");
        let r = api.kubectl(kubectl, &["logs", "lg", "-c", "side", "-p"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr
                .contains(r#"previous terminated container "side" in pod "lg" not found"#),
            "{who}: {}",
            r.stderr
        );
        let r = api.kubectl(kubectl, &["logs", "lg", "-c", "nope"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr.contains("container nope is not valid for pod lg"),
            "{who}: {}",
            r.stderr
        );
    }
}
