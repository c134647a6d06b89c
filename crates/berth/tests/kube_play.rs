//! `berth kube play` / `kube down` (podman's verbs, no server): a pod is an infra container
//! holding the network, IPC and UTS namespaces, its init and app containers join it.

mod common;

use std::time::Duration;

use common::Env;

/// Plays `yaml` (written as `name` beside the test's state) and returns the run.
fn play(env: &Env, name: &str, yaml: &str, extra: &[&str]) -> common::Run {
    let file = write(env, name, yaml);
    let mut args = vec!["kube", "play"];
    args.extend_from_slice(extra);
    args.push(&file);
    env.berth(&args)
}

fn write(env: &Env, name: &str, yaml: &str) -> String {
    let path = env.root.parent().unwrap().join(name);
    std::fs::write(&path, yaml).unwrap();
    path.to_string_lossy().into_owned()
}

fn container_named(env: &Env, prefix: &str) -> String {
    let ids = env.ok(&["ps", "-aq", "--filter", &format!("name={prefix}")]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 1, "one container named {prefix}: {ids:?}");
    ids[0].to_string()
}

const POD: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  GREETING: hello-from-a-configmap
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: prepare
    image: bb:1
    imagePullPolicy: Never
    command: ["sh", "-c", "echo prepared > /shared/marker"]
    volumeMounts:
    - name: shared
      mountPath: /shared
  containers:
  - name: server
    image: bb:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - containerPort: 8080
      hostPort: HOSTPORT
  - name: client
    image: bb:1
    imagePullPolicy: Never
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef:
          name: settings
          key: GREETING
    command: ["sh", "-c", "cat /shared/marker; echo $GREETING; while ! wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; exec sleep 600"]
    volumeMounts:
    - name: shared
      mountPath: /shared
  volumes:
  - name: shared
    emptyDir: {}
"#;

#[test]
fn a_pods_containers_share_localhost_its_hostname_and_its_volumes() {
    let env = common::required_env();
    env.image("bb:1", &[]);
    let port = common::free_port();
    let run = play(
        &env,
        "pod.yaml",
        &POD.replace("HOSTPORT", &port.to_string()),
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // podman's output: the pod's id, then its containers'.
    assert!(run.stdout.starts_with("Pod:\n"), "{}", run.stdout);
    assert!(run.stdout.contains("Containers:\n"), "{}", run.stdout);

    // The dockershim's names and labels, so `berth ps` shows the pod.
    let infra = container_named(&env, "k8s_POD_web_default_");
    let client = container_named(&env, "k8s_client_web_default_");
    let init = container_named(&env, "k8s_prepare_web_default_");
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"io.kubernetes.pod.name\"}} {{index .Config.Labels \"io.kubernetes.container.name\"}}",
            &client
        ])
        .trim(),
        "web client"
    );

    // The init container ran to completion before the app containers started: its marker is
    // in the shared emptyDir. The client reads the ConfigMap's value and reaches the server on
    // the pod's localhost, whose page names the pod's hostname.
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &init
        ])
        .trim(),
        "exited 0"
    );
    let logs = common::eventually(Duration::from_secs(20), "the client's log", || {
        let logs = env.ok(&["logs", &client]);
        if logs.contains("served-by-") {
            Ok(logs)
        } else {
            Err(logs)
        }
    });
    assert_eq!(
        logs.lines().collect::<Vec<_>>(),
        ["prepared", "hello-from-a-configmap", "served-by-web"],
        "{logs}"
    );

    // The hostPort is published on the pod's infra container and answers from the host.
    let page = common::eventually(Duration::from_secs(10), "the hostPort", || {
        common::http::get_from_host(port)
    });
    assert_eq!(page, "served-by-web");
    assert_eq!(
        env.ok(&["exec", &client, "hostname"]).trim(),
        "web",
        "the pod's UTS namespace"
    );

    // Playing it again is refused (nothing made); --replace makes it again.
    let again = play(
        &env,
        "pod.yaml",
        &POD.replace("HOSTPORT", &port.to_string()),
        &[],
    );
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let replaced = play(
        &env,
        "pod.yaml",
        &POD.replace("HOSTPORT", &port.to_string()),
        &["--replace"],
    );
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert_ne!(container_named(&env, "k8s_POD_web_default_"), infra);

    // kube down: no container, no network namespace, no volume left.
    let netns = env.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.SandboxKey}}",
        &container_named(&env, "k8s_POD_web_default_"),
    ]);
    assert!(std::path::Path::new(netns.trim()).exists(), "{netns}");
    let file = write(
        &env,
        "pod.yaml",
        &POD.replace("HOSTPORT", &port.to_string()),
    );
    let down = env.ok(&["kube", "down", &file]);
    assert!(down.contains("Pods removed:"), "{down}");
    assert_eq!(env.container_ids(), Vec::<String>::new());
    assert!(!std::path::Path::new(netns.trim()).exists(), "{netns}");
    assert_eq!(env.ok(&["volume", "ls", "-q"]).trim(), "");
    assert!(common::http::get_from_host(port).is_err());
}

#[test]
fn restart_policy_never_and_exit_3_fail_the_pod() {
    let env = common::required_env();
    env.image("bb:1", &[]);
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata:
  name: fails
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: bb:1
    imagePullPolicy: Never
    command: ["sh", "-c", "exit 3"]
"#;
    let run = play(&env, "fails.yaml", yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let main = container_named(&env, "k8s_main_fails_default_");
    // Exited 3 and never restarted (the pod's phase from this is the status unit tests').
    common::eventually(Duration::from_secs(10), "the exit", || {
        let state = env.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
            &main,
        ]);
        (state.trim() == "exited 3 0").then_some(()).ok_or(state)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            &main
        ])
        .trim(),
        "exited 0"
    );
    let down = env.berth(&["kube", "play", "--down", &write(&env, "fails.yaml", yaml)]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(env.container_ids(), Vec::<String>::new());
}

#[test]
fn an_image_that_may_not_be_pulled_waits_as_err_image_never_pull() {
    let env = common::required_env();
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata:
  name: missing
spec:
  containers:
  - name: main
    image: not-here:1
    imagePullPolicy: Never
"#;
    let run = play(&env, "missing.yaml", yaml, &["--wait", "5"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("waiting (ErrImageNeverPull)"),
        "{}",
        run.stderr
    );
    let file = write(&env, "missing.yaml", yaml);
    env.ok(&["kube", "down", &file]);
    assert_eq!(env.container_ids(), Vec::<String>::new());
}

#[test]
fn a_deployment_plays_its_replicas_a_job_its_pod_and_a_claim_becomes_a_volume() {
    let env = common::required_env();
    env.image("bb:1", &[]);
    let yaml = r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: bb:1
        command: ["sh", "-c", "hostname > /data/$(hostname); exec sleep 600"]
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: bb:1
        command: ["sh", "-c", "touch /data/job-ran"]
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
"#;
    let run = play(&env, "app.yaml", yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.matches("Pod:\n").count(), 3, "{}", run.stdout);
    // podman's names: NAME-pod, then numbered.
    let first = container_named(&env, "k8s_main_app-pod_default_");
    let second = container_named(&env, "k8s_main_app-pod-1_default_");
    assert_eq!(env.ok(&["volume", "ls", "-q"]).trim(), "data");
    common::eventually(Duration::from_secs(10), "both replicas' files", || {
        let listing = env.ok(&["exec", &first, "ls", "/data"]);
        if listing.split_whitespace().collect::<Vec<_>>() == ["app-pod", "app-pod-1", "job-ran"] {
            Ok(())
        } else {
            Err(listing)
        }
    });
    assert_eq!(env.ok(&["exec", &second, "hostname"]).trim(), "app-pod-1");
    env.ok(&["kube", "down", &write(&env, "app.yaml", yaml)]);
    assert_eq!(env.container_ids(), Vec::<String>::new());
    assert_eq!(env.ok(&["volume", "ls", "-q"]).trim(), "");
}

#[test]
fn a_bad_document_names_its_line_and_nothing_is_made() {
    let env = common::required_env();
    env.image("bb:1", &[]);
    let good = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: claim
---
apiVersion: v1
kind: Pod
metadata:
  name: first
spec:
  containers:
  - name: main
    image: bb:1
"#;
    // Line 22 of the file opens a flow sequence that line 23 breaks.
    let bad = format!(
        "{good}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\nspec:\n  containers:\n  - name: main\n    command: [sh, -c\n    image: bb:1\n"
    );
    let run = play(&env, "bad.yaml", &bad, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let file = env.root.parent().unwrap().join("bad.yaml");
    assert!(
        run.stderr.contains(&format!("{}:23:", file.display())),
        "the file and its line: {}",
        run.stderr
    );
    assert_eq!(env.container_ids(), Vec::<String>::new());
    assert_eq!(env.ok(&["volume", "ls", "-q"]).trim(), "");

    // A document of the wrong shape is refused at its line too.
    let wrong = good.replace("image: bb:1", "image: {name: bb}");
    let run = play(&env, "wrong.yaml", &wrong, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("wrong.yaml:13:"), "{}", run.stderr);
    assert_eq!(env.container_ids(), Vec::<String>::new());
}

#[test]
fn on_failure_restarts_the_container_and_counts_it_and_stdin_is_a_file() {
    let env = common::required_env();
    env.image("bb:1", &[]);
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata:
  name: flaky
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: bb:1
    command: ["sh", "-c", "echo try; exit 1"]
"#;
    let run = env.with_stdin(&["kube", "play", "-"], yaml.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let main = container_named(&env, "k8s_main_flaky_default_");
    common::eventually(Duration::from_secs(20), "a restart", || {
        let count = env.ok(&["inspect", "-f", "{{.RestartCount}}", &main]);
        match count.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(count),
        }
    });
    let down = env.with_stdin(&["kube", "down", "-"], yaml.as_bytes());
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(env.container_ids(), Vec::<String>::new());
}
