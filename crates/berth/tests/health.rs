//! Health checks: `--health-*` flags, a Dockerfile's HEALTHCHECK, `State.Health` in inspect,
//! `ps` status and `--filter health=`, the `health_status` event, and the docker CLI through
//! `berth serve`. Waits are generous (common::wait_for); nothing asserts a timing.

mod common;

use std::process::Stdio;

use common::{Env, wait_for};

fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let out = env.ok(&["inspect", name]);
    serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
}

fn health_status(env: &Env, name: &str) -> String {
    inspect(env, name)["State"]["Health"]["Status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ps_names(env: &Env, filter: &str) -> String {
    env.ok(&["ps", "--filter", filter, "--format", "{{.Names}}"])
}

#[test]
fn a_failing_check_turns_unhealthy_then_healthy_with_ps_filters_and_events() {
    let env = common::required_env();
    env.image("bb", &[]);
    let since = (unix_now() - 1).to_string();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "bb",
        "sleep",
        "60",
    ]);
    env.ok(&["run", "-d", "--name", "plain", "bb", "sleep", "60"]);
    let first = health_status(&env, "hc");
    assert!(
        first == "starting" || first == "unhealthy",
        "a fresh container starts as starting: {first}"
    );
    wait_for(
        || health_status(&env, "hc") == "unhealthy",
        "hc to be unhealthy",
    );
    let health = &inspect(&env, "hc")["State"]["Health"];
    assert!(health["FailingStreak"].as_i64().unwrap() >= 2, "{health}");
    let log = health["Log"].as_array().unwrap();
    assert!(!log.is_empty() && log.len() <= 5, "{health}");
    assert!(log.iter().all(|e| e["ExitCode"] == 1), "{health}");
    assert!(ps_names(&env, "health=unhealthy").contains("hc"));
    assert!(env.ok(&["ps"]).contains("(unhealthy)"));

    env.ok(&["exec", "hc", "touch", "/tmp/ok"]);
    wait_for(
        || health_status(&env, "hc") == "healthy",
        "hc to be healthy",
    );
    let health = &inspect(&env, "hc")["State"]["Health"];
    assert_eq!(health["FailingStreak"], 0, "{health}");
    assert!(env.ok(&["ps"]).contains("(healthy)"));
    assert_eq!(ps_names(&env, "health=healthy").trim(), "hc");
    assert_eq!(ps_names(&env, "health=none").trim(), "plain");
    assert_eq!(ps_names(&env, "health=starting").trim(), "");
    assert!(
        inspect(&env, "plain")["State"].get("Health").is_none(),
        "no health check, no Health"
    );
    let bad = env.berth(&["ps", "--filter", "health=sick"]);
    assert_ne!(bad.code, 0);

    let until = (unix_now() + 1).to_string();
    let events = env.ok(&["events", "--since", &since, "--until", &until]);
    assert!(
        events.contains("health_status: healthy"),
        "no health_status event in:\n{events}"
    );
    assert!(events.contains("health_status: unhealthy"), "{events}");

    // A restart starts over.
    env.ok(&["restart", "-t", "0", "hc"]);
    wait_for(
        || health_status(&env, "hc") == "healthy",
        "hc healthy after restart",
    );
    env.ok(&["rm", "-f", "hc", "plain"]);
}

#[test]
fn a_built_healthcheck_reaches_healthy_and_no_healthcheck_turns_it_off() {
    let env = common::required_env();
    env.image("bb", &[]);
    let ctx = env.root.parent().unwrap().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM bb\nHEALTHCHECK --interval=200ms --timeout=5s CMD true\n",
    )
    .unwrap();
    env.ok(&["build", "-q", "-t", "hcimg", ctx.to_str().unwrap()]);
    let image = env.ok(&["image", "inspect", "hcimg"]);
    let image: serde_json::Value = serde_json::from_str(&image).unwrap();
    assert_eq!(
        image[0]["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    env.ok(&["run", "-d", "--name", "built", "hcimg", "sleep", "60"]);
    wait_for(
        || health_status(&env, "built") == "healthy",
        "built to be healthy",
    );
    let c = inspect(&env, "built");
    assert_eq!(c["Config"]["Healthcheck"]["Interval"], 200_000_000i64);

    env.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        "hcimg",
        "sleep",
        "60",
    ]);
    let c = inspect(&env, "off");
    assert_eq!(
        c["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["NONE"])
    );
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(c["State"].get("Health").is_none(), "{}", c["State"]);
    assert!(inspect(&env, "off")["State"].get("Health").is_none());
    assert!(ps_names(&env, "health=none").contains("off"));
    env.ok(&["rm", "-f", "built", "off"]);
}

#[test]
fn a_hanging_probe_times_out_and_output_still_flows() {
    let env = common::required_env();
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 10",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "1",
        "bb",
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done",
    ]);
    wait_for(
        || health_status(&env, "slow") == "unhealthy",
        "the timed-out probe to count as a failure",
    );
    let health = &inspect(&env, "slow")["State"]["Health"];
    let entry = &health["Log"][0];
    assert_eq!(entry["ExitCode"], -1, "{health}");
    assert!(
        entry["Output"].as_str().unwrap().contains("timed out")
            || entry["Output"]
                .as_str()
                .unwrap()
                .contains("exceeded timeout"),
        "{health}"
    );
    // The output keeps arriving while probes hang and are killed.
    let count = |env: &Env| env.ok(&["logs", "slow"]).lines().count();
    let before = count(&env);
    wait_for(|| count(&env) > before + 5, "more log lines");
    env.ok(&["rm", "-f", "slow"]);
}

#[test]
fn bad_health_flags_are_refused_and_create_nothing() {
    let env = common::required_env();
    env.image("bb", &[]);
    let r = env.berth(&["run", "-d", "--health-interval", "0.5x", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--health-interval"), "{}", r.stderr);
    let r = env.berth(&["create", "--health-timeout", "-1s", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be negative"), "{}", r.stderr);
    let r = env.berth(&[
        "create",
        "--no-healthcheck",
        "--health-cmd",
        "true",
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = env.berth(&["create", "--health-interval", "10us", "bb", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Interval in Healthcheck cannot be less than 1ms"),
        "{}",
        r.stderr
    );
    assert!(env.container_ids().is_empty());
}

#[test]
fn docker_cli_sees_health_through_the_api() {
    let env = common::required_env();
    if !std::path::Path::new("/usr/local/bin/docker").exists() {
        common::cannot_run("no docker CLI");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let _server = common::serve::Serve::start(cmd, socket.clone());
    let config = env.root.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let docker = |args: &[&str]| {
        let mut c = std::process::Command::new("/usr/local/bin/docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", &config)
            .stdin(Stdio::null());
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let r = docker(&[
        "run",
        "-d",
        "--name",
        "viaapi",
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        "bb",
        "sleep",
        "60",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_for(
        || {
            docker(&["inspect", "-f", "{{.State.Health.Status}}", "viaapi"])
                .stdout
                .trim()
                == "healthy"
        },
        "docker inspect to show healthy",
    );
    let ps = docker(&["ps", "--filter", "health=healthy"]);
    assert!(
        ps.stdout.contains("(healthy)"),
        "{}{}",
        ps.stdout,
        ps.stderr
    );
    let r = docker(&["rm", "-f", "viaapi"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn compose_waits_for_a_service_healthy_dependency() {
    let env = common::required_env();
    let compose_bin = "/usr/bin/docker-compose";
    if !std::path::Path::new(compose_bin).is_file() {
        common::cannot_run("no docker-compose");
        panic!("this test cannot run here: the reason is said above");
    }
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let _server = common::serve::Serve::start(cmd, socket.clone());
    let dir = env.root.parent().unwrap().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        r#"version: "2.4"
services:
  db:
    image: bb
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 300'
    healthcheck:
      test: ["CMD-SHELL", "test -e /tmp/ready"]
      interval: 200ms
      retries: 50
  app:
    image: bb
    command: sleep 300
    depends_on:
      db:
        condition: service_healthy
"#,
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let mut c = std::process::Command::new(compose_bin);
        c.arg("--no-ansi")
            .args(["-p", "hproj"])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", dir.join(".docker"))
            .stdin(Stdio::null());
        common::output_within(c, common::COMMAND_DEADLINE)
    };
    let up = compose(&["up", "-d"]);
    assert_eq!(up.code, 0, "{}{}", up.stdout, up.stderr);
    assert_eq!(health_status(&env, "hproj_db_1"), "healthy");
    let app = inspect(&env, "hproj_app_1");
    assert_eq!(app["State"]["Status"], "running", "{}", app["State"]);
    let down = compose(&["down", "-t", "0"]);
    assert_eq!(down.code, 0, "{}{}", down.stdout, down.stderr);
}
