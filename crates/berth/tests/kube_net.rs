//! Services under `berth serve --kube`, driven by the real kubectl 1.27 and 1.33 (one namespace
//! each): a Service reached by name from another pod through the cluster DNS (`web`, `web.NS`,
//! `web.NS.svc`, `web.NS.svc.cluster.local`), balanced over its ready pods; a NodePort that
//! answers on 127.0.0.1; a pod whose readiness probe fails gets no traffic; deleting the Service
//! removes its nftables rules, and the table goes with the pods' bridge.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::http::get_from_host;
use common::kube::{Api, kubectls, name};
use common::{Env, eventually, required_env};

/// Two web pods answering their own name on 8080, a third selected pod ("sick") whose readiness
/// probe always fails, and a NodePort Service over them.
fn web(namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: bb
        command: [sh, -c, 'hostname > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']
        ports: [{{containerPort: 8080, name: http}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: sick, namespace: {namespace}, labels: {{app: web}}}}
spec:
  containers:
  - name: web
    image: bb
    command: [sh, -c, 'hostname > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']
    ports: [{{containerPort: 8080, name: http}}]
    readinessProbe:
      exec: {{command: ['false']}}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
"
    )
}

/// A pod that fetches the service by each of its names, one line per answer.
fn client(namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {namespace}}}
spec:
  restartPolicy: Never
  containers:
  - name: client
    image: bb
    command: [sh, -c, 'cat /etc/resolv.conf; for n in web web.{namespace} web.{namespace}.svc web.{namespace}.svc.cluster.local web web web web; do echo \"$n -> $(wget -qO- http://$n/)\"; done']
"
    )
}

/// The services' nftables table of this state root (named after its pods' bridge).
fn services_table(env: &Env) -> String {
    let bridge = env.ok(&["network", "inspect", "-f", "{{.BerthBridge}}", "bridge"]);
    format!("{}-services", bridge.trim())
}

fn nft_table(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", table])
        .output()
        .expect("running nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn jsonpath(api: &Api, kubectl: &Path, ns: &str, what: &[&str], path: &str) -> String {
    let mut args = vec!["get", "-n", ns];
    args.extend_from_slice(what);
    let expr = format!("jsonpath={path}");
    args.extend_from_slice(&["-o", &expr]);
    api.ok(kubectl, &args)
}

#[test]
fn services_by_name_node_ports_readiness_and_rule_cleanup() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let table = services_table(&env);
    let api = Api::start(&env);
    let apply = |kubectl: &Path, yaml: &str| {
        let r = api.apply(kubectl, yaml);
        assert_eq!(r.code, 0, "{}: {}", name(kubectl), r.stderr);
    };
    let spaces: Vec<(&Path, String)> = kubectls
        .iter()
        .map(|k| {
            (
                k.as_path(),
                name(k).replace("kubectl.", "v").replace('.', ""),
            )
        })
        .collect();
    for (kubectl, ns) in &spaces {
        apply(kubectl, &web(ns));
    }
    for (kubectl, ns) in &spaces {
        api.ok(
            kubectl,
            &[
                "rollout",
                "status",
                "-n",
                ns,
                "deployment/web",
                "--timeout=40s",
            ],
        );
        // Readiness gates the endpoints: two ready addresses, the sick pod apart.
        let sick_ip = eventually(Duration::from_secs(20), "the sick pod's address", || {
            let ip = jsonpath(&api, kubectl, ns, &["pod", "sick"], "{.status.podIP}");
            (!ip.is_empty())
                .then_some(ip)
                .ok_or_else(|| "none yet".to_string())
        });
        eventually(Duration::from_secs(20), "the endpoints", || {
            let ready = jsonpath(
                &api,
                kubectl,
                ns,
                &["ep", "web"],
                "{.subsets[*].addresses[*].ip}",
            );
            let unready = jsonpath(
                &api,
                kubectl,
                ns,
                &["ep", "web"],
                "{.subsets[*].notReadyAddresses[*].ip}",
            );
            (ready.split_whitespace().count() == 2 && unready.trim() == sick_ip)
                .then_some(())
                .ok_or(format!("ready {ready:?}, not ready {unready:?}"))
        });
        let cluster_ip = jsonpath(&api, kubectl, ns, &["svc", "web"], "{.spec.clusterIP}");
        assert!(
            cluster_ip.starts_with("10."),
            "{}: {cluster_ip}",
            name(kubectl)
        );

        // A pod reaches the service by every name the search list allows, on its ready pods.
        apply(kubectl, &client(ns));
        eventually(Duration::from_secs(30), "the client to finish", || {
            let phase = jsonpath(&api, kubectl, ns, &["pod", "client"], "{.status.phase}");
            (phase == "Succeeded" || phase == "Failed")
                .then_some(())
                .ok_or(phase)
        });
        let log = api.ok(kubectl, &["logs", "-n", ns, "client"]);
        assert!(
            log.contains(&format!(
                "search {ns}.svc.cluster.local svc.cluster.local cluster.local"
            )),
            "{}: {log}",
            name(kubectl)
        );
        let answers: Vec<&str> = log.lines().filter(|l| l.contains(" -> ")).collect();
        assert_eq!(answers.len(), 8, "{}: {log}", name(kubectl));
        for line in &answers {
            assert!(
                line.contains(" -> web-"),
                "{}: {line}\n{log}",
                name(kubectl)
            );
        }

        // The node port answers on the host's loopback address, never from the sick pod.
        let node_port: u16 = jsonpath(
            &api,
            kubectl,
            ns,
            &["svc", "web"],
            "{.spec.ports[0].nodePort}",
        )
        .parse()
        .unwrap();
        assert!((30000..=32767).contains(&node_port), "{node_port}");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..12 {
            let body =
                get_from_host(node_port).unwrap_or_else(|e| panic!("node port {node_port}: {e}"));
            assert!(
                body.starts_with("web-"),
                "{}: the sick pod answered: {body}",
                name(kubectl)
            );
            seen.insert(body);
        }
        assert_eq!(seen.len(), 2, "both ready pods answer in turn: {seen:?}");
    }

    // Deleting a Service takes its rules away; the other namespace's stay.
    let rules = nft_table(&table);
    for (_, ns) in &spaces {
        assert!(rules.contains(&format!("\"{ns}/web:80\"")), "{rules}");
    }
    let (kubectl, ns) = &spaces[0];
    api.ok(kubectl, &["delete", "svc", "web", "-n", ns]);
    eventually(Duration::from_secs(10), "the service's rules to go", || {
        let rules = nft_table(&table);
        (!rules.contains(&format!("\"{ns}/web:80\"")))
            .then_some(())
            .ok_or(rules)
    });
    assert!(nft_table(&table).contains(&format!("\"{}/web:80\"", spaces[1].1)));

    // The rules outlive the API (its pods do too); they go with the pods' bridge.
    drop(api);
    assert!(nft_table(&table).contains("web:80"));
    let ids = env.container_ids();
    let mut rm = vec!["rm", "-f"];
    rm.extend(ids.iter().map(String::as_str));
    env.ok(&rm);
    env.ok(&["network", "prune", "-f", "--include-default-bridge"]);
    assert_eq!(
        nft_table(&table),
        "",
        "the services' table outlived its bridge"
    );
}

/// The row of `kubectl top` whose first column is `name`, split into columns.
fn top_row(table: &str, name: &str) -> Option<Vec<String>> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| l.split_whitespace().map(String::from).collect())
}

/// "123m" -> 123, "45Mi" -> 45.
fn figure(text: &str, unit: &str) -> u64 {
    text.strip_suffix(unit)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text:?} is not a figure in {unit}"))
}

#[test]
fn kubectl_top_shows_pod_and_node_usage() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    // One container that spins (CPU) and holds 16 MiB of a tmpfs file in its memory.
    let r = api.apply(
        &kubectls[0],
        "apiVersion: v1
kind: Pod
metadata: {name: busy, labels: {app: busy}}
spec:
  containers:
  - name: spin
    image: bb
    command: [sh, -c, 'head -c 16777216 /dev/zero > /dev/shm/ballast; while :; do :; done']
",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for kubectl in &kubectls {
        let row = eventually(
            Duration::from_secs(30),
            "kubectl top pods to show busy",
            || {
                let r = api.kubectl(kubectl, &["top", "pods"]);
                let row = top_row(&r.stdout, "busy").ok_or(format!("{}{}", r.stdout, r.stderr))?;
                (figure(&row[1], "m") > 0).then_some(row).ok_or(r.stdout)
            },
        );
        assert!(figure(&row[2], "Mi") >= 16, "{}: {row:?}", name(kubectl));
        let containers = api.ok(kubectl, &["top", "pod", "-l", "app=busy", "--containers"]);
        let row = top_row(&containers, "busy").unwrap_or_else(|| panic!("{containers}"));
        assert_eq!(row[1], "spin", "{containers}");

        // The node: used CPU and memory against its real capacity.
        let nodes = api.ok(kubectl, &["top", "node"]);
        let header: Vec<&str> = nodes.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header[0], "NAME", "{nodes}");
        let node = nodes.lines().nth(1).unwrap_or_else(|| panic!("{nodes}"));
        let cols: Vec<&str> = node.split_whitespace().collect();
        assert!(figure(cols[1], "m") > 0, "{nodes}");
        assert!(cols[2].ends_with('%') && cols[4].ends_with('%'), "{nodes}");
        let memory = figure(cols[3], "Mi");
        let percent: u64 = cols[4].trim_end_matches('%').parse().unwrap();
        assert!(memory > 16 && percent <= 100, "{nodes}");
    }
}

const STATEFUL: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: bb
        command: [sh, -c, 'cat /data/log 2>/dev/null; hostname >> /data/log; exec sleep 1000']
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fast}
spec:
  storageClassName: nvme
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: agent, image: bb, command: [sleep, '1000']}
";

/// The names of the pods `kubectl get pods -l LABEL` lists as Running and ready, sorted.
fn running_pods(api: &Api, kubectl: &Path, label: &str) -> Vec<String> {
    let table = api.ok(kubectl, &["get", "pods", "-l", label, "--no-headers"]);
    let mut names: Vec<String> = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() > 2 && c[1] == "1/1" && c[2] == "Running")
        .map(|c| c[0].to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn statefulsets_claims_and_daemonsets() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let (old, new) = (&kubectls[0], &kubectls[1]);
    let r = api.apply(old, STATEFUL);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Stable names, each replica with a bound claim of its own.
    for kubectl in [old, new] {
        eventually(Duration::from_secs(30), "db-0 and db-1", || {
            let pods = running_pods(&api, kubectl, "app=db");
            (pods == ["db-0", "db-1"])
                .then_some(())
                .ok_or(format!("{pods:?}"))
        });
        let sts = api.ok(kubectl, &["get", "sts", "db"]);
        assert!(
            sts.lines().nth(1).is_some_and(|l| l.contains("2/2")),
            "{sts}"
        );
        let claims = api.ok(kubectl, &["get", "pvc"]);
        for claim in ["data-db-0", "data-db-1"] {
            let row = claims
                .lines()
                .find(|l| l.starts_with(claim))
                .unwrap_or_else(|| panic!("{claims}"));
            assert!(
                row.contains("Bound") && row.contains("1Gi") && row.contains("RWO"),
                "{claims}"
            );
        }
        // A claim of a class this node does not have waits, saying why.
        let fast = claims
            .lines()
            .find(|l| l.starts_with("fast "))
            .unwrap_or_else(|| panic!("{claims}"));
        assert!(fast.contains("Pending"), "{claims}");
        let described = api.ok(kubectl, &["describe", "pvc", "fast"]);
        assert!(
            described.contains("ProvisioningFailed")
                && described.contains("storageclass.storage.k8s.io \"nvme\" not found"),
            "{}: {described}",
            name(kubectl)
        );
        // One daemon pod on the one node.
        eventually(Duration::from_secs(20), "the daemon pod", || {
            let ds = api.ok(kubectl, &["get", "ds", "agent", "--no-headers"]);
            let cols: Vec<&str> = ds.split_whitespace().collect();
            (cols.get(1..6) == Some(&["1", "1", "1", "1", "1"][..]))
                .then_some(())
                .ok_or(ds.clone())
        });
        assert_eq!(running_pods(&api, kubectl, "app=agent").len(), 1);
    }

    // Scale up: the next ordinal; down: the highest ones go.
    api.ok(new, &["scale", "sts", "db", "--replicas=3"]);
    eventually(Duration::from_secs(30), "db-2", || {
        let pods = running_pods(&api, new, "app=db");
        (pods == ["db-0", "db-1", "db-2"])
            .then_some(())
            .ok_or(format!("{pods:?}"))
    });
    api.ok(old, &["scale", "sts", "db", "--replicas=1"]);
    eventually(Duration::from_secs(30), "only db-0", || {
        let all = api.ok(old, &["get", "pods", "-l", "app=db", "-o", "name"]);
        (all.trim() == "pod/db-0").then_some(()).ok_or(all)
    });

    // A replica made again has its name and its claim's data.
    api.ok(new, &["delete", "pod", "db-0"]);
    eventually(Duration::from_secs(30), "db-0 made again", || {
        let r = api.kubectl(new, &["logs", "db-0"]);
        (r.code == 0 && r.stdout.trim() == "db-0")
            .then_some(())
            .ok_or(format!("{}{}", r.stdout, r.stderr))
    });

    // Cascading delete: the pods go, the claims stay (Retain, as Kubernetes' default).
    api.ok(old, &["delete", "sts", "db"]);
    eventually(Duration::from_secs(30), "the set's pods to go", || {
        let all = api.ok(old, &["get", "pods", "-l", "app=db", "-o", "name"]);
        all.trim().is_empty().then_some(()).ok_or(all)
    });
    let claims = api.ok(old, &["get", "pvc", "-o", "name"]);
    assert!(
        claims.contains("persistentvolumeclaim/data-db-0"),
        "{claims}"
    );
}

#[test]
fn cronjobs_make_jobs_on_schedule() {
    let kubectls = kubectls();
    let env = required_env();
    env.image("bb", &[]);
    let api = Api::start(&env);
    let (old, new) = (&kubectls[0], &kubectls[1]);
    let r = api.apply(
        new,
        "apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: tick, image: bb, command: [echo, tock]}
",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for kubectl in [old, new] {
        let table = api.ok(kubectl, &["get", "cj"]);
        let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(&header[..3], ["NAME", "SCHEDULE", "TIMEZONE"], "{table}");
        assert!(
            table.contains("tick") && table.contains("* * * * *"),
            "{table}"
        );
    }
    // kubectl's own trigger reads the CronJob's template.
    api.ok(old, &["create", "job", "--from=cronjob/tick", "by-hand"]);
    // The schedule's next minute makes a Job named after it, owned by the CronJob.
    let job = eventually(Duration::from_secs(75), "a scheduled job", || {
        let names = api.ok(new, &["get", "jobs", "-o", "name"]);
        names
            .lines()
            .find(|n| n.starts_with("job.batch/tick-"))
            .map(String::from)
            .ok_or(names)
    });
    let job = job.trim_start_matches("job.batch/").to_string();
    let minutes: i64 = job.trim_start_matches("tick-").parse().unwrap();
    assert!(minutes > 29_000_000, "{job}");
    let owner = api.ok(
        new,
        &[
            "get",
            "job",
            &job,
            "-o",
            "jsonpath={.metadata.ownerReferences[0].kind}",
        ],
    );
    assert_eq!(owner, "CronJob");
    for name in [job.as_str(), "by-hand"] {
        eventually(Duration::from_secs(30), "the job to complete", || {
            let table = api.ok(old, &["get", "job", name, "--no-headers"]);
            table.contains("Complete").then_some(()).ok_or(table)
        });
        let log = api.ok(old, &["logs", &format!("job/{name}")]);
        assert_eq!(log.trim(), "tock");
    }
    let last = api.ok(
        new,
        &[
            "get",
            "cj",
            "tick",
            "-o",
            "jsonpath={.status.lastScheduleTime}",
        ],
    );
    assert!(last.ends_with(":00Z"), "{last}");
    // Cascading delete takes the scheduled job with it.
    api.ok(new, &["delete", "cj", "tick"]);
    eventually(Duration::from_secs(20), "the scheduled job to go", || {
        let names = api.ok(new, &["get", "jobs", "-o", "name"]);
        (!names.contains(&job)).then_some(()).ok_or(names)
    });
}
