//! `berth serve --kube`: the Kubernetes API, driven by the real kubectl (the oldest and the
//! newest this machine has: 1.27 and 1.33) with a kubeconfig from `berth kube config`.
//! Discovery and OpenAPI, client-certificate auth, a ConfigMap's whole life (create, get,
//! apply, patch in three forms, a stale replace, delete), watches, server-side tables and
//! kube-apiserver's error messages. Each test runs its own server, stopped on drop.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::kube::{Api, kubectls, name};
use common::{eventually, output_within, required_env};

#[test]
fn discovery_openapi_and_client_certificates() {
    let kubectls = kubectls();
    let env = required_env();
    let api = Api::start(&env);
    eprintln!("berth serve --kube was listening in {:?}", api.ready_in);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&api.kubeconfig)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the kubeconfig holds a private key");
    for kubectl in &kubectls {
        // Discovery with no error at all (kubectl logs failed discovery requests at -v=6).
        let r = api.kubectl(kubectl, &["api-resources", "-v=6"]);
        assert_eq!(r.code, 0, "{}: {}", name(kubectl), r.stderr);
        for line in r.stderr.lines() {
            assert!(
                !line.contains("failed") && !line.contains(" 404 ") && !line.contains(" 406 "),
                "{}: discovery went wrong: {line}",
                name(kubectl)
            );
        }
        let table = r.stdout;
        for row in [
            ["configmaps", "cm", "v1"],
            ["pods", "po", "v1"],
            ["deployments", "deploy", "apps/v1"],
            ["namespaces", "ns", "v1"],
        ] {
            assert!(
                table
                    .lines()
                    .any(|l| row.iter().all(|w| l.split_whitespace().any(|c| c == *w))),
                "{}: no {row:?} in\n{table}",
                name(kubectl)
            );
        }
        let namespaces = api.ok(kubectl, &["get", "ns", "-o", "name"]);
        assert!(
            namespaces.contains("namespace/default")
                && namespaces.contains("namespace/kube-system")
        );
        // The OpenAPI documents carry the types' schemas: explain reads them.
        let explain = api.ok(kubectl, &["explain", "deployment.spec.replicas"]);
        assert!(
            explain.contains("<integer>"),
            "{}: {explain}",
            name(kubectl)
        );
    }
    let version = api.ok(&kubectls[1], &["version", "-o", "json"]);
    assert!(version.contains("\"serverVersion\""), "{version}");

    // No client certificate: 401, as kube-apiserver without anonymous auth.
    let anonymous = api.kubeconfig.with_file_name("anonymous");
    let text = std::fs::read_to_string(&api.kubeconfig).unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    // A bearer token stands in for the certificate (with no credentials at all kubectl would
    // prompt for a password): berth accepts client certificates only.
    std::fs::write(
        &anonymous,
        stripped.replace("  user:\n", "  user:\n    token: not-a-certificate\n"),
    )
    .unwrap();
    let mut cmd = Command::new(&kubectls[1]);
    cmd.args(["get", "ns"])
        .env("KUBECONFIG", &anonymous)
        .stdin(Stdio::null());
    let r = output_within(cmd, Duration::from_secs(60));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("the server has asked for the client to provide credentials"),
        "{}",
        r.stderr
    );
    assert!(api.port > 0);
}

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  labels:
    app: web
data:
  a: \"1\"
  b: \"2\"
";

#[test]
fn a_configmaps_life_through_kubectl() {
    let kubectls = kubectls();
    let env = required_env();
    let api = Api::start(&env);
    for kubectl in &kubectls {
        let who = name(kubectl);
        let r = api.apply(kubectl, CONFIGMAP);
        assert_eq!(r.code, 0, "{who}: {}", r.stderr);
        assert!(
            r.stdout.contains("configmap/web created"),
            "{who}: {}",
            r.stdout
        );
        // Client-side apply: a key gone from the file goes from the object (last-applied).
        let r = api.apply(kubectl, &CONFIGMAP.replace("  b: \"2\"\n", "  c: \"3\"\n"));
        assert!(
            r.stdout.contains("configmap/web configured"),
            "{who}: {}{}",
            r.stdout,
            r.stderr
        );
        let data = api.ok(kubectl, &["get", "cm", "web", "-o", "jsonpath={.data}"]);
        assert_eq!(data, r#"{"a":"1","c":"3"}"#, "{who}");
        // The three patch forms.
        api.ok(
            kubectl,
            &[
                "patch",
                "cm",
                "web",
                "--type",
                "merge",
                "-p",
                r#"{"data":{"d":"4"}}"#,
            ],
        );
        api.ok(
            kubectl,
            &[
                "patch",
                "cm",
                "web",
                "--type",
                "json",
                "-p",
                r#"[{"op":"remove","path":"/data/a"}]"#,
            ],
        );
        api.ok(
            kubectl,
            &["patch", "cm", "web", "-p", r#"{"data":{"e":"5"}}"#],
        );
        let data = api.ok(kubectl, &["get", "cm", "web", "-o", "jsonpath={.data}"]);
        assert_eq!(data, r#"{"c":"3","d":"4","e":"5"}"#, "{who}");
        // A replace from a stale copy is refused as kube-apiserver refuses it.
        let stale = api.ok(kubectl, &["get", "cm", "web", "-o", "yaml"]);
        api.ok(kubectl, &["label", "cm", "web", "tier=front"]);
        let file = api.kubeconfig.with_file_name("stale.yaml");
        std::fs::write(&file, stale).unwrap();
        let r = api.kubectl(kubectl, &["replace", "-f", file.to_str().unwrap()]);
        assert_ne!(r.code, 0);
        assert!(
            r.stderr.contains("Error from server (Conflict)")
                && r.stderr.contains("Operation cannot be fulfilled on configmaps \"web\": the object has been modified"),
            "{who}: {}",
            r.stderr
        );
        // Unknown fields are refused (kubectl asks for strict validation).
        let r = api.apply(
            kubectl,
            &CONFIGMAP
                .replace("name: web", "name: typo")
                .replace("\ndata:", "\ndta:"),
        );
        assert!(
            r.stderr
                .contains("strict decoding error: unknown field \"dta\""),
            "{who}: {}",
            r.stderr
        );
        // Server-side tables: kubectl prints the columns kube-apiserver's printer gives.
        let table = api.ok(kubectl, &["get", "cm", "-l", "app=web"]);
        let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["NAME", "DATA", "AGE"], "{who}: {table}");
        assert!(
            table.lines().nth(1).unwrap().starts_with("web "),
            "{who}: {table}"
        );
        let r = api.kubectl(kubectl, &["delete", "cm", "web"]);
        assert!(
            r.stdout.contains("configmap \"web\" deleted"),
            "{who}: {}{}",
            r.stdout,
            r.stderr
        );
        let r = api.kubectl(kubectl, &["get", "cm", "web"]);
        assert_eq!(r.code, 1);
        assert_eq!(
            r.stderr.trim(),
            "Error from server (NotFound): configmaps \"web\" not found",
            "{who}"
        );
    }
}

/// Reads what a child writes to stdout as it comes, so a test can wait for a line.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn kubectl_get_watch_sees_changes() {
    let kubectls = kubectls();
    let env = required_env();
    let api = Api::start(&env);
    for kubectl in &kubectls {
        let who = name(kubectl);
        let cm = format!("watched-{}", who.replace('.', "-"));
        let mut watcher = Command::new(kubectl)
            .args(["get", "cm", "-w"])
            .env("KUBECONFIG", &api.kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = lines_of(&mut watcher);
        // The watch is open once the server has one (nothing to list yet: kubectl prints no
        // header until the first change).
        std::thread::sleep(Duration::from_millis(500));
        api.apply(
            kubectl,
            &CONFIGMAP.replace("name: web", &format!("name: {cm}")),
        );
        api.ok(kubectl, &["label", "cm", &cm, "changed=yes"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while seen.len() < 2 && Instant::now() < deadline {
            if let Ok(line) = lines.recv_timeout(Duration::from_millis(200))
                && line.starts_with(&cm)
            {
                seen.push(line);
            }
        }
        let _ = watcher.kill();
        let _ = watcher.wait();
        assert_eq!(seen.len(), 2, "{who}: the watch saw {seen:?}");
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: bb
        command: [sleep, '1000']
";

/// The pods' rows of `kubectl get pods` whose STATUS is Running.
fn running(table: &str, prefix: &str) -> usize {
    table
        .lines()
        .filter(|l| l.starts_with(prefix) && l.split_whitespace().nth(2) == Some("Running"))
        .count()
}

#[test]
fn deployments_scale_to_running_pods_that_berth_ps_sees() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let (old, new) = (&kubectls[0], &kubectls[1]);

    // A Pod to Running, as `kubectl get pods` shows it.
    let started = Instant::now();
    let r = api.apply(old, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\nspec:\n  containers:\n  - name: main\n    image: bb\n    command: [sh, -c, 'echo hello from solo; exec sleep 1000']\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let table = eventually(Duration::from_secs(20), "the pod to run", || {
        let table = api.ok(old, &["get", "pods", "solo"]);
        (running(&table, "solo") == 1)
            .then_some(table.clone())
            .ok_or(table)
    });
    eprintln!(
        "kubectl apply of a Pod to Running (polled): {:?}",
        started.elapsed()
    );
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{table}"
    );
    assert!(table.contains("1/1"), "{table}");
    // kubectl logs reads the container's log through the engine.
    for kubectl in [old, new] {
        let log = api.ok(kubectl, &["logs", "solo"]);
        assert_eq!(log, "hello from solo\n", "{}", name(kubectl));
    }

    // The seed commands: apply, then scale to 3.
    let r = api.apply(new, DEPLOYMENT);
    assert_eq!(r.code, 0, "{}", r.stderr);
    api.ok(
        new,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let started = Instant::now();
    api.ok(new, &["scale", "--replicas=3", "deployment/web"]);
    api.ok(
        new,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    eprintln!(
        "kubectl scale --replicas=3 to 3/3 available: {:?}",
        started.elapsed()
    );
    let table = api.ok(old, &["get", "pods", "-l", "app=web"]);
    assert_eq!(running(&table, "web-"), 3, "{table}");
    let table = api.ok(new, &["get", "deploy"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{table}"
    );
    assert!(
        table.lines().nth(1).unwrap().split_whitespace().nth(1) == Some("3/3"),
        "{table}"
    );
    // The controllers record what they did, as describe shows it.
    let described = api.ok(old, &["describe", "deployment", "web"]);
    assert!(
        described.contains("ScalingReplicaSet") && described.contains("to 3"),
        "{described}"
    );
    // A restart rolls out a new replica set; undo goes back to the first one, not a third.
    api.ok(new, &["rollout", "restart", "deployment/web"]);
    api.ok(
        new,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    api.ok(old, &["rollout", "undo", "deployment/web"]);
    api.ok(
        new,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    let sets = api.ok(new, &["get", "rs", "-l", "app=web", "-o", "name"]);
    assert_eq!(sets.lines().count(), 2, "{sets}");
    let history = api.ok(new, &["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("2 ") && history.contains("3 "),
        "{history}"
    );
    eventually(Duration::from_secs(30), "the old pods to go", || {
        let table = api.ok(new, &["get", "pods", "-l", "app=web"]);
        (table.lines().count() == 4 && running(&table, "web-") == 3)
            .then_some(())
            .ok_or(table)
    });

    // Pods are ordinary berth containers: `berth ps` shows them (and their sandboxes).
    let ps = env.ok(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(
        ps.lines().filter(|n| n.starts_with("k8s_web_web-")).count(),
        3,
        "{ps}"
    );

    // A Service's endpoints are its ready pods' IPs.
    let r = api.apply(
        old,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ips = eventually(Duration::from_secs(10), "the service's endpoints", || {
        let ips = api.ok(
            new,
            &[
                "get",
                "endpoints",
                "web",
                "-o",
                "jsonpath={.subsets[0].addresses[*].ip}",
            ],
        );
        (ips.split_whitespace().count() == 3)
            .then_some(ips.clone())
            .ok_or(ips)
    });
    let pod_ips = api.ok(
        new,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].status.podIP}",
        ],
    );
    let mut a: Vec<&str> = ips.split_whitespace().collect();
    let mut b: Vec<&str> = pod_ips.split_whitespace().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // Deleting the deployment takes its replica set, pods and containers with it.
    api.ok(new, &["delete", "deployment", "web"]);
    eventually(
        Duration::from_secs(30),
        "the deployment's containers to go",
        || {
            let ps = env.ok(&["ps", "-a", "--format", "{{.Names}}"]);
            (!ps.contains("_web-")).then_some(()).ok_or(ps)
        },
    );
    assert_eq!(api.ok(new, &["get", "rs", "-o", "name"]).trim(), "");

    // A Job runs its pods to completion; kubectl wait sees the Complete condition.
    let job = "apiVersion: batch/v1
kind: Job
metadata:
  name: count
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: bb
        command: [sh, -c, 'echo counted']
";
    let r = api.apply(old, job);
    assert_eq!(r.code, 0, "{}", r.stderr);
    api.ok(
        new,
        &[
            "wait",
            "--for=condition=complete",
            "job/count",
            "--timeout=30s",
        ],
    );
    let table = api.ok(new, &["get", "job", "count"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["count", "Complete", "2/2"], "{table}");
    let r = api.apply(
        new,
        &job.replace("Never", "Always")
            .replace("name: count", "name: forever"),
    );
    assert!(
        r.stderr.contains("The Job \"forever\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Always\""),
        "{}",
        r.stderr
    );

    // A missing required field is Invalid, with the field named.
    let r = api.apply(
        new,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: empty\nspec:\n  containers: []\n",
    );
    assert!(
        r.stderr
            .contains("Pod \"empty\" is invalid: spec.containers: Required value"),
        "{}",
        r.stderr
    );
    let capacity = api.ok(
        new,
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[0].status.capacity.cpu}",
        ],
    );
    let cpus = std::thread::available_parallelism()
        .unwrap()
        .get()
        .to_string();
    assert_eq!(capacity, cpus, "the node's capacity is this host's");
}
