//! The client I/O kubectl needs beyond JSON CRUD, driven by the real kubectl 1.27 and 1.33:
//! protobuf request bodies (1.33's typed clients send them for `create` and `run`).

mod common;

use common::kube::{Api, kubectls, name};
use common::required_env;

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
