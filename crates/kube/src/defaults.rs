//! What kube-apiserver fills in on create, per kind, so objects read back as they would from a
//! cluster (a Pod's restartPolicy, a Deployment's strategy, a Service's cluster IP and port
//! defaults, a Secret's type and stringData folded into data).

use base64::Engine as _;
use serde_json::{Value, json};

fn default(slot: &mut Value, key: &str, value: Value) {
    if slot.get(key).is_none_or(Value::is_null) {
        slot[key] = value;
    }
}

/// A pod template's (or pod's) spec defaults.
pub fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "securityContext", json!({}));
    for list in ["initContainers", "containers"] {
        // get_mut, not indexing: indexing a missing field would write a null into it.
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            // imagePullPolicy stays unset (the kubelet's IfNotPresent): kube-apiserver's Always
            // for `:latest` would refuse the local images berth builds and imports.
            default(
                container,
                "terminationMessagePath",
                json!("/dev/termination-log"),
            );
            default(container, "terminationMessagePolicy", json!("File"));
            default(container, "resources", json!({}));
            for port in container
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                default(port, "protocol", json!("TCP"));
            }
        }
    }
}

/// Fills defaults into a new object of this kind; `taken_ips` are the cluster IPs in use.
pub fn on_create(kind: &str, object: &mut Value, taken_ips: &[String]) {
    match kind {
        "Namespace" => {
            object["spec"] = json!({"finalizers": ["kubernetes"]});
            object["status"] = json!({"phase": "Active"});
        }
        "Secret" => {
            default(object, "type", json!("Opaque"));
            if let Some(plain) = object
                .as_object_mut()
                .and_then(|o| o.remove("stringData"))
                .and_then(|v| v.as_object().cloned())
            {
                for (k, v) in plain {
                    let text = v.as_str().unwrap_or_default();
                    object["data"][k] =
                        json!(base64::engine::general_purpose::STANDARD.encode(text));
                }
            }
        }
        "Pod" => {
            pod_spec(&mut object["spec"]);
            object["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        }
        "Service" => {
            let spec = &mut object["spec"];
            default(spec, "type", json!("ClusterIP"));
            default(spec, "sessionAffinity", json!("None"));
            if spec["clusterIP"].as_str() != Some("None") {
                let ip = spec["clusterIP"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .unwrap_or_else(|| free_cluster_ip(taken_ips));
                spec["clusterIP"] = json!(ip);
                spec["clusterIPs"] = json!([ip]);
            }
            default(spec, "ipFamilies", json!(["IPv4"]));
            default(spec, "ipFamilyPolicy", json!("SingleStack"));
            default(spec, "internalTrafficPolicy", json!("Cluster"));
            for port in spec
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                default(port, "protocol", json!("TCP"));
                let target = port["port"].clone();
                default(port, "targetPort", target);
            }
            object["status"] = json!({"loadBalancer": {}});
        }
        "StatefulSet" => {
            let spec = &mut object["spec"];
            default(spec, "replicas", json!(1));
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            pod_spec(&mut spec["template"]["spec"]);
            object["status"] = json!({"replicas": 0, "availableReplicas": 0});
        }
        "DaemonSet" => {
            let spec = &mut object["spec"];
            default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            default(spec, "revisionHistoryLimit", json!(10));
            pod_spec(&mut spec["template"]["spec"]);
            object["status"] = json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                "numberMisscheduled": 0, "numberReady": 0});
        }
        "CronJob" => {
            let spec = &mut object["spec"];
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
            object["status"] = json!({});
        }
        "PersistentVolumeClaim" => {
            default(&mut object["spec"], "volumeMode", json!("Filesystem"));
            object["status"] = json!({"phase": "Pending"});
        }
        "Deployment" => {
            let spec = &mut object["spec"];
            default(spec, "replicas", json!(1));
            default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            );
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
            pod_spec(&mut spec["template"]["spec"]);
            object["status"] = json!({});
        }
        "ReplicaSet" => {
            default(&mut object["spec"], "replicas", json!(1));
            pod_spec(&mut object["spec"]["template"]["spec"]);
            object["status"] = json!({"replicas": 0});
        }
        "Job" => {
            let spec = &mut object["spec"];
            default(spec, "completions", json!(1));
            default(spec, "parallelism", json!(1));
            default(spec, "backoffLimit", json!(6));
            default(spec, "completionMode", json!("NonIndexed"));
            // The selector kube-apiserver generates: the job's own uid, on every pod it makes.
            let uid = object["metadata"]["uid"].clone();
            let name = object["metadata"]["name"].clone();
            let spec = &mut object["spec"];
            if spec["selector"].is_null() {
                spec["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
            }
            let labels = &mut spec["template"]["metadata"]["labels"];
            for (key, value) in [
                ("batch.kubernetes.io/controller-uid", &uid),
                ("controller-uid", &uid),
                ("batch.kubernetes.io/job-name", &name),
                ("job-name", &name),
            ] {
                labels[key] = value.clone();
            }
            let template_spec = &mut object["spec"]["template"]["spec"];
            // A Job's pods must not restart forever: no default (validation names it).
            default(template_spec, "restartPolicy", json!(""));
            pod_spec(template_spec);
            object["status"] = json!({});
        }
        _ => {}
    }
}

/// A free address of the service range 10.96.0.0/12, at random as kube-apiserver picks
/// (another state root's API on this host then rarely holds the same one); never in
/// 10.96.0.0/24, whose .1 (`kubernetes`) and .10 (`kube-dns`) are given out by name.
fn free_cluster_ip(taken: &[String]) -> String {
    const FIRST: u32 = 256;
    const SIZE: u32 = (1 << 20) - 1 - FIRST;
    let base = u32::from(std::net::Ipv4Addr::new(10, 96, 0, 0));
    let start = random_u32() % SIZE;
    (0..SIZE)
        .map(|n| std::net::Ipv4Addr::from(base + FIRST + (start + n) % SIZE).to_string())
        .find(|ip| !taken.contains(ip))
        .unwrap_or_else(|| "10.111.255.254".into())
}

/// Node ports for the ports of a NodePort (or LoadBalancer) service that did not ask for one:
/// free ones of 30000-32767 at random, as kube-apiserver allocates them. `taken`: the node
/// ports in use.
pub fn node_ports(object: &mut Value, taken: &[i64]) {
    let kind = object["spec"]["type"].as_str().unwrap_or_default();
    if kind != "NodePort" && kind != "LoadBalancer" {
        return;
    }
    const FIRST: u32 = 30000;
    const SIZE: u32 = 32767 - FIRST + 1;
    let mut taken = taken.to_vec();
    for port in object["spec"]
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if port["nodePort"].as_i64().is_some_and(|p| p > 0) {
            continue;
        }
        let start = random_u32() % SIZE;
        if let Some(free) = (0..SIZE)
            .map(|n| i64::from(FIRST + (start + n) % SIZE))
            .find(|p| !taken.contains(p))
        {
            port["nodePort"] = json!(free);
            taken.push(free);
        }
    }
}

fn random_u32() -> u32 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff_ffff) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_get_a_free_cluster_ip_and_target_ports() {
        let mut svc = json!({"spec": {"ports": [{"port": 80}]}});
        on_create("Service", &mut svc, &["10.96.0.2".into()]);
        let ip: std::net::Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        let [a, b, c, _] = ip.octets();
        assert!(a == 10 && (96..112).contains(&b), "{ip}");
        assert!(!(b == 96 && c == 0), "{ip}");
        let mut node = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30001}]}});
        node_ports(&mut node, &[]);
        let given = node["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!(
            (30000..=32767).contains(&given) && given != 30001,
            "{given}"
        );
        assert_eq!(node["spec"]["ports"][1]["nodePort"], 30001);
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
        let mut secret = json!({"stringData": {"a": "hi"}});
        on_create("Secret", &mut secret, &[]);
        assert_eq!(secret["data"]["a"], "aGk=");
        assert_eq!(secret["type"], "Opaque");
    }
}
