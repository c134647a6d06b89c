//! A `--vm` container on a user network stands where a container would: containers reach it by
//! name, it resolves and reaches them by name (the embedded DNS through its relay), and a port
//! published to 127.0.0.1 answers from the host (the same DNAT to the container's address).
//! One guest boot (under TCG ~2 s); root, QEMU and a Debian kernel, else cannot_run.
mod common;

use std::time::Duration;

use common::http::get_from_host;
use common::vm::vm_env;
use common::{Env, eventually, free_port};

/// Removes the test's containers, then its network, however the test ends (before Env's own
/// teardown, which would find the network's bridge still in use otherwise).
struct NetworkGuard<'a> {
    env: &'a Env,
    name: String,
}

impl Drop for NetworkGuard<'_> {
    fn drop(&mut self) {
        for id in self.env.container_ids() {
            let _ = self.env.berth(&["rm", "-f", &id]);
        }
        let _ = self.env.berth(&["network", "rm", &self.name]);
    }
}

#[test]
fn a_vm_and_a_container_reach_each_other_by_name_and_a_published_port_answers() {
    let env = vm_env();
    env.image("bb", &[]);
    let network = format!("vmnet{}", std::process::id());
    env.ok(&["network", "create", "--subnet", "10.247.3.0/24", &network]);
    let _guard = NetworkGuard {
        env: &env,
        name: network.clone(),
    };
    env.ok(&[
        "run",
        "-d",
        "--name",
        "ctr",
        "--network",
        &network,
        "bb",
        "sh",
        "-c",
        "mkdir -p /www && echo hello from ctr > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let port = free_port();
    // The guest: its eth0's MAC; the container by name (retried: the container's httpd may
    // still be starting), and the name from the embedded DNS through the agent and the relay
    // (busybox's nslookup asks A and AAAA at once and takes the answers in order); then its
    // own web server.
    let guest_script = "echo mac=$(cat /sys/class/net/eth0/address); \
        for i in $(seq 40); do timeout 5 wget -qO- http://ctr/ && break; sleep 0.25; done; \
        nslookup ctr | grep -q 10.247.3. && echo resolved; \
        mkdir -p /www && echo hello from vm > /www/index.html && exec httpd -f -p 8080 -h /www";
    let published = format!("127.0.0.1:{port}:8080");
    env.ok(&[
        "run",
        "-d",
        "--vm",
        "--name",
        "vmweb",
        "--network",
        &network,
        "-p",
        &published,
        "bb",
        "sh",
        "-c",
        guest_script,
    ]);

    // A container reaches the VM by name.
    let from_container = eventually(Duration::from_secs(30), "wget vmweb:8080", || {
        let r = env.berth(&[
            "run",
            "--rm",
            "--network",
            &network,
            "bb",
            "wget",
            "-qO-",
            "http://vmweb:8080/",
        ]);
        if r.code == 0 {
            Ok(r.stdout)
        } else {
            Err(format!("exit {}: {}", r.code, r.stderr))
        }
    });
    assert_eq!(from_container.trim(), "hello from vm");

    // The host reaches it through the published port.
    let from_host = eventually(Duration::from_secs(10), "GET 127.0.0.1:port", || {
        get_from_host(port)
    });
    assert_eq!(from_host, "hello from vm");

    // The VM resolved and reached the container by name, with the MAC inspect shows.
    let logs = env.ok(&["logs", "vmweb"]);
    assert!(logs.contains("hello from ctr"), "the VM's output: {logs}");
    assert!(logs.contains("resolved"), "the VM's output: {logs}");
    let mac = env.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").MacAddress}}}}"),
        "vmweb",
    ]);
    let mac = mac.trim();
    assert!(!mac.is_empty(), "inspect shows no MAC");
    assert!(
        logs.contains(&format!("mac={mac}")),
        "the guest's MAC is not inspect's {mac}: {logs}"
    );
}
