//! A `--vm` container on a user network stands where a container would: containers reach it by
//! name, it resolves and reaches them by name (the embedded DNS through its relay), and a port
//! published to 127.0.0.1 answers from the host (the same DNAT to the container's address).
//! One guest boot (under TCG ~2 s); root, QEMU and a Debian kernel, else cannot_run.
mod common;

use std::time::{Duration, Instant};

use common::{Env, cannot_run, env, have};

/// Root, busybox, QEMU and a guest kernel: the environment of every VM test.
fn vm_env() -> Option<Env> {
    let env = env()?;
    if !have("qemu-system-x86_64", "it runs the guests") {
        return None;
    }
    let kernel = std::fs::read_dir("/boot").ok().and_then(|d| {
        d.flatten().find(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("vmlinuz-") && name.ends_with("-amd64")
        })
    });
    if kernel.is_none() {
        cannot_run("no /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)");
        return None;
    }
    Some(env)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / from the host; the body's last line, or the error.
fn http_get(port: u16) -> Result<String, String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| e.to_string())?;
    match reply.lines().last() {
        Some(line) if reply.starts_with("HTTP/1.") => Ok(line.to_string()),
        _ => Err(format!("not an HTTP answer: {reply:?}")),
    }
}

/// Retries `attempt` until it succeeds or `within` passes; the last failure is in the panic.
fn eventually<T>(
    within: Duration,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(e) if start.elapsed() > within => panic!("{what}: still failing: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

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
    let Some(env) = vm_env() else {
        return;
    };
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
        for i in $(seq 40); do wget -qO- http://ctr/ && break; sleep 0.25; done; \
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
        http_get(port)
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
