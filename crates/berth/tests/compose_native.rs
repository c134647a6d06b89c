//! `berth compose` (the Compose Specification run by berth itself, no daemon): a web + db
//! project of busybox services where web waits for db's healthcheck, publishes a port that
//! answers, reaches db by its service name; a second `up` keeps unchanged containers and
//! recreates a changed one; `down -v` leaves no container, network or volume. Bad files fail
//! with file:line:column and create nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{COMMAND_DEADLINE, Env, Run, eventually, free_port, output_within};

/// Takes the project down even when the test failed half-way.
struct Down<'a>(&'a Env, &'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = compose(
            self.0,
            self.1,
            &["down", "-v", "-t", "0", "--remove-orphans"],
        );
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

fn compose(env: &Env, dir: &Path, args: &[&str]) -> Run {
    let mut c: Command = env.cmd(&["compose"]);
    c.args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_PROJECT_NAME");
    output_within(c, COMMAND_DEADLINE)
}

fn compose_ok(env: &Env, dir: &Path, args: &[&str]) -> Run {
    let r = compose(env, dir, args);
    assert_eq!(
        r.code, 0,
        "compose {args:?} failed: {}{}",
        r.stdout, r.stderr
    );
    r
}

fn http_get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if out.is_empty() {
        return Err("empty answer".into());
    }
    Ok(out)
}

fn project_file(web_greeting: &str) -> String {
    format!(
        r#"name: shop
x-base: &base
  image: bbox
  stop_grace_period: 1s
services:
  web:
    <<: *base
    command: ["sh", "-c", "mkdir -p /www && echo {web_greeting} > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:${{WEB_PORT}}:80"]
    depends_on:
      db: {{condition: service_healthy}}
  db:
    <<: *base
    command: ["sh", "-c", "mkdir -p /srv && echo from-db > /srv/index.html && touch /data/ready && exec httpd -f -p 80 -h /srv"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "cat", "/data/ready"]
      interval: 200ms
      retries: 50
  debug:
    <<: *base
    profiles: [debug]
    command: ["sleep", "60"]
volumes:
  data:
"#
    )
}

#[test]
fn up_ps_logs_and_down_of_a_web_and_db_project() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("compose.yaml"), project_file("hello-web")).unwrap();
    std::fs::write(dir.path().join(".env"), format!("WEB_PORT={port}\n")).unwrap();
    let _down = Down(&env, dir.path());

    let up = compose_ok(&env, dir.path(), &["up", "-d"]);
    // db became healthy before web started.
    let healthy = up
        .stderr
        .find("Container shop-db-1  Healthy")
        .expect(&up.stderr);
    let web_started = up
        .stderr
        .find("Container shop-web-1  Started")
        .expect(&up.stderr);
    assert!(healthy < web_started, "{}", up.stderr);

    // The published port answers, and web reaches db by its service name.
    let body = eventually(Duration::from_secs(10), "GET on the published port", || {
        http_get(port)
    });
    assert!(body.contains("hello-web"), "{body}");
    let fetched = env.ok(&["exec", "shop-web-1", "wget", "-qO-", "http://db/"]);
    assert_eq!(fetched.trim(), "from-db");

    // Compose's names and labels, as `docker compose` would set them.
    let labels = env.ok(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"com.docker.compose.project\"}} {{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"com.docker.compose.container-number\"}} {{index .Config.Labels \"com.docker.compose.oneoff\"}}",
        "shop-web-1",
    ]);
    assert_eq!(labels.trim(), "shop web 1 False");
    assert!(env.ok(&["network", "ls"]).contains("shop_default"));
    assert!(env.ok(&["volume", "ls"]).contains("shop_data"));

    // ps: the two enabled services, not the one behind a profile.
    let ps = compose_ok(&env, dir.path(), &["ps", "--services"]);
    assert_eq!(ps.stdout, "db\nweb\n");
    let table = compose_ok(&env, dir.path(), &["ps"]).stdout;
    assert!(
        table.contains("shop-web-1") && table.contains("(healthy)"),
        "{table}"
    );
    let json = compose_ok(&env, dir.path(), &["ps", "--format", "json"]).stdout;
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["Service"], "web");
    assert_eq!(rows[1]["State"], "running");

    // A second `up` changes nothing; a changed service alone is recreated.
    let db_id = env.ok(&["inspect", "-f", "{{.Id}}", "shop-db-1"]);
    let again = compose_ok(&env, dir.path(), &["up", "-d"]);
    assert!(
        again.stderr.contains("Container shop-web-1  Running"),
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("Recreate"), "{}", again.stderr);
    std::fs::write(dir.path().join("compose.yaml"), project_file("changed-web")).unwrap();
    let changed = compose_ok(&env, dir.path(), &["up", "-d"]);
    assert!(
        changed.stderr.contains("Container shop-web-1  Recreated"),
        "{}",
        changed.stderr
    );
    assert_eq!(env.ok(&["inspect", "-f", "{{.Id}}", "shop-db-1"]), db_id);
    let body = eventually(Duration::from_secs(10), "GET after recreate", || {
        http_get(port).and_then(|b| b.contains("changed-web").then_some(b.clone()).ok_or(b))
    });
    assert!(body.contains("changed-web"));

    // logs: prefixed per container.
    let logs = compose_ok(&env, dir.path(), &["logs", "--no-color"]).stdout;
    let _ = logs; // httpd -f writes nothing; the prefix is checked on `up` attached below.

    // down -v: nothing of the project is left.
    compose_ok(&env, dir.path(), &["down", "-v"]);
    assert!(env.container_ids().is_empty());
    assert!(!env.ok(&["network", "ls"]).contains("shop_default"));
    assert!(!env.ok(&["volume", "ls"]).contains("shop_data"));
}

#[test]
fn attached_up_prefixes_logs_and_passes_the_exit_code_through() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  init:
    image: bbox
    command: ["sh", "-c", "echo preparing; exit 0"]
  job:
    image: bbox
    command: ["sh", "-c", "echo working; exit 7"]
    depends_on:
      init: {condition: service_completed_successfully}
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let r = compose(
        &env,
        dir.path(),
        &["-p", "batch", "up", "--no-color", "--exit-code-from", "job"],
    );
    assert_eq!(r.code, 7, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("job-1  | working"), "{}", r.stdout);
    assert!(
        r.stdout.contains("job-1 exited with code 7"),
        "{}",
        r.stdout
    );
    let logs = compose_ok(
        &env,
        dir.path(),
        &["-p", "batch", "logs", "--no-color", "init"],
    );
    assert_eq!(logs.stdout, "init-1 | preparing\n");
    let since = ["-p", "batch", "logs", "--no-color", "--since", "1h", "init"];
    assert_eq!(
        compose_ok(&env, dir.path(), &since).stdout,
        "init-1 | preparing\n"
    );
    let until = [
        "-p",
        "batch",
        "logs",
        "--until",
        "2000-01-01T00:00:00Z",
        "init",
    ];
    assert_eq!(compose_ok(&env, dir.path(), &until).stdout, "");
}

#[test]
fn bad_files_name_file_line_and_column_and_create_nothing() {
    let env = common::required_env();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, "services:\n  web:\n    image: [bbox\n   ports: x\n").unwrap();
    let r = compose(&env, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 15, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:4:", file.display())),
        "{}",
        r.stderr
    );

    std::fs::write(
        &file,
        "services:\n  web:\n    image: bbox\n    environment:\n      TOKEN: ${TOKEN:?the token is needed}\n",
    )
    .unwrap();
    let r = compose(&env, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 15, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}:5:14: services.web.environment.TOKEN: required variable TOKEN is missing a value: the token is needed",
            file.display()
        )),
        "{}",
        r.stderr
    );
    assert!(env.container_ids().is_empty());
    assert!(!env.ok(&["network", "ls"]).contains("_default"));

    // Two services on one host port: refused at the second, naming the first.
    std::fs::write(
        &file,
        "services:\n  a:\n    image: bbox\n    ports: [\"8080:80\"]\n  b:\n    image: bbox\n    ports:\n      - \"127.0.0.1:9000:90\"\n      - \"127.0.0.2:9000:90\"\n      - \"8079-8081:70-72\"\n",
    )
    .unwrap();
    let r = compose(&env, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 15, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}:10:9: services.b.ports[2]: host port 8080/tcp is already published by services.a.ports[0]",
            file.display()
        )),
        "{}",
        r.stderr
    );
    assert!(env.container_ids().is_empty());

    std::fs::write(
        &file,
        "services:\n  web:\n    image: bbox\n    environment:\n      TOKEN: ${TOKEN:?the token is needed}\n",
    )
    .unwrap();
    // config prints the canonical project once the variable is there.
    let mut c = env.cmd(&["compose", "config", "--format", "json"]);
    c.current_dir(dir.path()).env("TOKEN", "s3cret");
    let r = output_within(c, COMMAND_DEADLINE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["services"]["web"]["environment"]["TOKEN"], "s3cret");
    let project = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase();
    assert_eq!(
        doc["networks"]["default"]["name"],
        format!("{}_default", project.replace('.', ""))
    );
}

#[test]
fn sigterm_to_an_attached_up_stops_the_containers_gracefully() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  worker:
    image: bbox
    command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; while true; do sleep 0.1; done"]
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let mut c = env.cmd(&["compose", "-p", "sig", "up", "--no-color"]);
    c.current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id() as i32;
    eventually(Duration::from_secs(20), "the worker running", || {
        let ps = compose(&env, dir.path(), &["-p", "sig", "ps", "--services"]);
        (ps.stdout == "worker\n").then_some(()).ok_or(ps.stdout)
    });
    // SAFETY: kill has no memory preconditions; pid is our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let r = common::wait_within(child, COMMAND_DEADLINE, "compose up");
    assert_eq!(r.code, 128 + libc::SIGTERM, "{}{}", r.stdout, r.stderr);
    // The container got its own SIGTERM (its trap ran): the mask of the client is not its.
    assert!(r.stdout.contains("worker-1 | bye"), "{}", r.stdout);
    let ps = compose_ok(
        &env,
        dir.path(),
        &["-p", "sig", "ps", "-a", "--format", "json"],
    );
    let row: serde_json::Value = serde_json::from_str(ps.stdout.trim()).unwrap();
    assert_eq!(row["State"], "exited");
    assert_eq!(row["ExitCode"], 0);
}

#[test]
fn exec_run_port_and_the_lifecycle_verbs_act_on_services() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  web:
    image: bbox
    command: ["httpd", "-f", "-p", "80"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1::80"]
    depends_on: [db]
  db:
    image: bbox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let p = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["-p".to_string(), "verbs".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: &[&str]| {
        let v = p(args);
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        compose(&env, dir.path(), &refs)
    };
    assert_eq!(run(&["up", "-d"]).code, 0);

    // port: the published address answers.
    let addr = run(&["port", "web", "80"]).stdout.trim().to_string();
    let port: u16 = addr.rsplit(':').next().unwrap().parse().expect(&addr);
    eventually(
        Duration::from_secs(10),
        "GET on compose port's answer",
        || http_get(port),
    );
    // exec -T passes the exit code through.
    let r = run(&["exec", "-T", "db", "sh", "-c", "echo in-db; exit 3"]);
    assert_eq!((r.code, r.stdout.as_str()), (3, "in-db\n"), "{}", r.stderr);
    // run --rm: a one-off whose exit code is the command's, removed afterwards.
    let r = run(&["run", "--rm", "-T", "db", "sh", "-c", "echo once; exit 5"]);
    assert_eq!((r.code, r.stdout.as_str()), (5, "once\n"), "{}", r.stderr);
    assert_eq!(env.container_ids().len(), 2);
    // run -v (relative to the project) and -l.
    std::fs::create_dir(dir.path().join("shared")).unwrap();
    std::fs::write(dir.path().join("shared/in.txt"), "from-host\n").unwrap();
    let r = run(&[
        "run",
        "-d",
        "-T",
        "-v",
        "./shared:/mnt/shared:ro",
        "-l",
        "purpose=check",
        "--name",
        "verbs-oneoff",
        "db",
        "sh",
        "-c",
        "cat /mnt/shared/in.txt; exec sleep 300",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let label = env.ok(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"purpose\"}}",
        "verbs-oneoff",
    ]);
    assert_eq!(label.trim(), "check");
    eventually(Duration::from_secs(10), "the bound file", || {
        let logs = env.ok(&["logs", "verbs-oneoff"]);
        (logs == "from-host\n").then_some(()).ok_or(logs)
    });
    env.ok(&["rm", "-f", "verbs-oneoff"]);

    // cp: into a service's container and back out.
    let local = dir.path().join("note.txt");
    std::fs::write(&local, "noted\n").unwrap();
    assert_eq!(
        run(&["cp", local.to_str().unwrap(), "db:/tmp/note.txt"]).code,
        0
    );
    let back = dir.path().join("back.txt");
    let r = run(&["cp", "db:/tmp/note.txt", back.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "noted\n");

    // scale: replicas numbered after the first; ls lists the project.
    assert_eq!(run(&["scale", "db=2"]).code, 0);
    assert_eq!(run(&["ps", "-q", "db"]).stdout.lines().count(), 2);
    assert!(
        env.ok(&["ps", "--format", "{{.Names}}"])
            .contains("verbs-db-2")
    );
    assert!(run(&["ls"]).stdout.contains("running(3)"));
    assert_eq!(run(&["scale", "db=1"]).code, 0);

    // stop / start / pause / unpause / kill act on the services' containers.
    assert_eq!(run(&["stop"]).code, 0);
    assert_eq!(run(&["ps", "--services"]).stdout, "");
    assert_eq!(run(&["start"]).code, 0);
    assert_eq!(run(&["ps", "--services"]).stdout, "db\nweb\n");
    // events --json: what happens to the project's containers, with their service.
    let mut events = env.cmd(&["compose", "-p", "verbs", "events", "--json"]);
    events
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped());
    let mut follower = events.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(run(&["pause", "db"]).code, 0);
    assert!(run(&["ps", "db"]).stdout.contains("Paused"));
    assert_eq!(run(&["unpause", "db"]).code, 0);
    std::thread::sleep(Duration::from_millis(500));
    let _ = follower.kill();
    let mut seen = String::new();
    follower
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    let _ = follower.wait();
    let actions: Vec<(String, String)> = seen
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| {
            (
                v["service"].as_str().unwrap().to_string(),
                v["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(actions.contains(&("db".into(), "pause".into())), "{seen}");
    assert!(actions.contains(&("db".into(), "unpause".into())), "{seen}");
    assert_eq!(run(&["kill", "db"]).code, 0);
    assert_eq!(run(&["ps", "--services"]).stdout, "web\n");
    let r = run(&["rm", "-f", "-s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env.container_ids().is_empty());
}

#[test]
fn a_built_service_is_rebuilt_and_recreated_only_when_its_image_changes() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    let dockerfile = |text: &str| {
        std::fs::write(
            dir.path().join("app/Dockerfile"),
            format!(
                "FROM bbox\nARG GREETING=none\nRUN echo {text}-$GREETING > /greeting\n\
                 RUN grep -c buildhost /etc/hosts > /hostsline; ls /sys/class/net > /nics\n\
                 RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /tokenlen\n"
            ),
        )
        .unwrap()
    };
    dockerfile("v1");
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  app:
    build:
      context: app
      args: {GREETING: built}
      labels: {tier: web}
      tags: ["extra/app:2"]
      extra_hosts: ["buildhost:10.9.8.7"]
      network: none
      secrets: [token]
    command: ["sh", "-c", "cat /greeting; exec sleep 300"]
    stop_signal: SIGKILL
secrets:
  token: {file: ./token.txt}
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("token.txt"), "s3cret-bytes").unwrap();
    let _down = Down(&env, dir.path());
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [&["-p", "built"][..], args].concat()
    }
    compose_ok(&env, dir.path(), &with(&["up", "-d"]));
    let logs = || {
        eventually(Duration::from_secs(10), "the greeting", || {
            let out = compose(&env, dir.path(), &with(&["logs", "--no-log-prefix"])).stdout;
            (!out.is_empty()).then_some(out.clone()).ok_or(out)
        })
    };
    assert_eq!(logs(), "v1-built\n");
    assert!(env.ok(&["images"]).contains("built-app"));
    // The build section's labels, tags, extra hosts and network reached the builder.
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.Config.Labels.tier}}", "extra/app:2"])
            .trim(),
        "web"
    );
    let built = env.ok(&[
        "run",
        "--rm",
        "extra/app:2",
        "cat",
        "/hostsline",
        "/nics",
        "/tokenlen",
    ]);
    // The build secret was readable in its RUN step (12 bytes) and is in no file after.
    assert_eq!(
        built.split_whitespace().collect::<Vec<_>>(),
        ["1", "lo", "12"]
    );
    let leak = env.berth(&[
        "run",
        "--rm",
        "extra/app:2",
        "grep",
        "-rl",
        "s3cret-bytes",
        "/bin",
        "/etc",
        "/tmp",
        "/run",
        "/greeting",
        "/hostsline",
        "/nics",
        "/tokenlen",
    ]);
    assert_eq!(leak.stdout, "", "the secret is in the image");
    let again = compose_ok(&env, dir.path(), &with(&["up", "-d"]));
    assert!(
        again.stderr.contains("built-app-1  Running"),
        "{}",
        again.stderr
    );
    dockerfile("v2");
    compose_ok(&env, dir.path(), &with(&["build", "-q"]));
    let recreated = compose_ok(&env, dir.path(), &with(&["up", "-d"]));
    assert!(
        recreated.stderr.contains("built-app-1  Recreated"),
        "{}",
        recreated.stderr
    );
    assert_eq!(logs(), "v2-built\n");
}

#[test]
fn secrets_and_configs_from_a_file_the_environment_and_content_reach_the_container() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw.txt"), "from-file\n").unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  app:
    image: bbox
    command: ["sh", "-c", "cat /run/secrets/pw /run/secrets/token /etc/app.conf; ls -ln /run/secrets/token"]
    secrets:
      - pw
      - {source: token, mode: 0400, uid: "1000"}
    configs:
      - {source: conf, target: /etc/app.conf}
secrets:
  pw: {file: ./pw.txt}
  token: {environment: TOKEN}
configs:
  conf:
    content: "key=value\n"
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let mut c = env.cmd(&[
        "compose",
        "-p",
        "sec",
        "up",
        "--no-color",
        "--no-log-prefix",
    ]);
    c.current_dir(dir.path()).env("TOKEN", "tok123\n");
    let r = output_within(c, COMMAND_DEADLINE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("from-file\ntok123\nkey=value\n-r--------"),
        "{}",
        r.stdout
    );
    let listing = r.stdout.lines().find(|l| l.ends_with("/run/secrets/token"));
    let owner = listing.and_then(|l| l.split_whitespace().nth(2));
    assert_eq!(owner, Some("1000"), "{}", r.stdout);
}

#[test]
fn a_recreated_dependency_restarts_the_dependents_that_ask_for_it() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = |seconds: u32| {
        format!(
            r#"services:
  a:
    image: bbox
    command: ["sleep", "{seconds}"]
    stop_signal: SIGKILL
  b:
    image: bbox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    depends_on:
      a: {{condition: service_started, restart: true}}
  c:
    image: bbox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    depends_on: [a]
"#
        )
    };
    std::fs::write(dir.path().join("compose.yaml"), file(301)).unwrap();
    let _down = Down(&env, dir.path());
    compose_ok(&env, dir.path(), &["-p", "dep", "up", "-d"]);
    std::fs::write(dir.path().join("compose.yaml"), file(302)).unwrap();
    let r = compose_ok(&env, dir.path(), &["-p", "dep", "up", "-d"]);
    assert!(r.stderr.contains("dep-a-1  Recreated"), "{}", r.stderr);
    assert!(r.stderr.contains("dep-b-1  Restarting"), "{}", r.stderr);
    assert!(!r.stderr.contains("dep-c-1  Restarting"), "{}", r.stderr);
}

#[test]
fn watch_syncs_changed_and_deleted_files_into_the_service() {
    watch_scenario(&["watch"], 0);
}

#[test]
fn up_watch_follows_logs_and_syncs_until_stopped() {
    // Stopped by SIGTERM: the containers are stopped, the code is 128 + 15 as Compose's.
    watch_scenario(&["up", "--watch", "--no-color"], 143);
}

fn watch_scenario(verb: &[&str], code_on_sigterm: i32) {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/index.txt"), "v1\n").unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  web:
    image: bbox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    develop:
      watch:
        - {path: ./src, action: sync, target: /app, ignore: [scratch]}
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let mut c = env.cmd(&[&["compose", "-p", "watched"], verb].concat());
    c.current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let watcher = c.spawn().unwrap();
    let pid = watcher.id() as i32;
    let read = |path: &str| {
        compose(
            &env,
            dir.path(),
            &["-p", "watched", "exec", "-T", "web", "cat", path],
        )
    };
    eventually(Duration::from_secs(20), "the service running", || {
        let ps = compose(&env, dir.path(), &["-p", "watched", "ps", "--services"]);
        (ps.stdout == "web\n").then_some(()).ok_or(ps.stdout)
    });
    std::thread::sleep(Duration::from_millis(500));
    std::fs::create_dir(dir.path().join("src/sub")).unwrap();
    std::fs::write(dir.path().join("src/index.txt"), "v2\n").unwrap();
    std::fs::write(dir.path().join("src/sub/deep.txt"), "deep\n").unwrap();
    eventually(
        Duration::from_secs(10),
        "the changed files in the container",
        || {
            let a = read("/app/index.txt").stdout;
            let b = read("/app/sub/deep.txt").stdout;
            (a == "v2\n" && b == "deep\n")
                .then_some(())
                .ok_or(format!("{a:?} {b:?}"))
        },
    );
    // A file deleted here is deleted there.
    std::fs::remove_file(dir.path().join("src/sub/deep.txt")).unwrap();
    eventually(
        Duration::from_secs(10),
        "the deletion in the container",
        || {
            let r = read("/app/sub/deep.txt");
            (r.code != 0).then_some(()).ok_or(r.stdout)
        },
    );
    assert_eq!(read("/app/index.txt").stdout, "v2\n");
    // SAFETY: kill has no memory preconditions; pid is our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let r = common::wait_within(watcher, COMMAND_DEADLINE, "compose watch");
    assert_eq!(r.code, code_on_sigterm, "{}", r.stderr);
    assert!(r.stderr.contains("Syncing service \"web\""), "{}", r.stderr);
    // `watch` leaves the service running; an attached `up --watch` stops it.
    let running = compose_ok(&env, dir.path(), &["-p", "watched", "ps", "--services"]).stdout;
    assert_eq!(running == "web\n", code_on_sigterm == 0, "{running:?}");
}

#[test]
fn up_wait_fails_on_an_unhealthy_service_with_its_last_probe_output() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  sick:
    image: bbox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "sh", "-c", "echo probe-says-no; exit 1"]
      interval: 100ms
      retries: 2
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let r = compose(&env, dir.path(), &["-p", "ill", "up", "-d", "--wait"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("\"sick\""), "{}", r.stderr);
    assert!(r.stderr.contains("probe-says-no"), "{}", r.stderr);
}

#[test]
fn volumes_from_pid_links_and_ulimits_reach_the_container() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  client:
    image: bbox
    command: ["sh", "-c", "cat /shared/hello; ps | grep -q 'sleep 300' && echo sees-db; ulimit -n; nslookup dbalias >/dev/null && echo resolves"]
    links: ["db:dbalias"]
    volumes_from: [db]
    pid: "service:db"
    ulimits: {nofile: {soft: 512, hard: 512}}
  db:
    image: bbox
    command: ["sh", "-c", "echo hi > /shared/hello; exec sleep 300"]
    volumes: [/shared]
    stop_signal: SIGKILL
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    let r = compose(
        &env,
        dir.path(),
        &[
            "-p",
            "ns",
            "up",
            "--no-color",
            "--no-log-prefix",
            "--exit-code-from",
            "client",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("hi\nsees-db\n512\nresolves\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn kernel_settings_resources_and_policies_reach_the_container() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        r#"services:
  tuned:
    image: bbox
    pull_policy: never
    command: ["sh", "-c", "cat /proc/sys/kernel/shmmax /proc/self/oom_score_adj; df -k /dev/shm | tail -1 | awk '{print $$2}'; head -c 2 /dev/z | od -An -tx1; exec sleep 300"]
    sysctls: {kernel.shmmax: 1048576}
    oom_score_adj: 300
    shm_size: 8m
    devices: ["/dev/zero:/dev/z:r"]
    stop_signal: SIGKILL
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 3}
      resources:
        reservations: {memory: 24m}
"#,
    )
    .unwrap();
    let _down = Down(&env, dir.path());
    compose_ok(&env, dir.path(), &["-p", "tuned", "up", "-d"]);
    let logs = eventually(Duration::from_secs(20), "the service's output", || {
        let out = compose_ok(
            &env,
            dir.path(),
            &["-p", "tuned", "logs", "--no-log-prefix"],
        )
        .stdout;
        if out.lines().count() >= 4 {
            Ok(out)
        } else {
            Err(out)
        }
    });
    assert_eq!(
        logs.split_whitespace().collect::<Vec<_>>(),
        ["1048576", "300", "8192", "00", "00"],
        "{logs}"
    );
    let inspect = env.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.MemoryReservation}}",
        "tuned-tuned-1",
    ]);
    assert_eq!(inspect.trim(), format!("on-failure:3 {}", 24u64 << 20));

    // `pull_policy: never` with an image that is not here fails, and pulls nothing.
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  gone:\n    image: not-here:1\n    pull_policy: never\n",
    )
    .unwrap();
    let r = compose(&env, dir.path(), &["-p", "tuned2", "up", "-d"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not-here"), "{}", r.stderr);
    // A bad policy or device is a config error at its line and column.
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  bad:\n    image: bbox\n    pull_policy: sometimes\n",
    )
    .unwrap();
    let r = compose(&env, dir.path(), &["-p", "tuned3", "up", "-d"]);
    assert_eq!(r.code, 15, "{}", r.stderr);
    assert!(r.stderr.contains("compose.yaml:4:18"), "{}", r.stderr);
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  bad:\n    image: bbox\n    devices: [\"/dev/zero:/d:x\"]\n",
    )
    .unwrap();
    let r = compose(&env, dir.path(), &["-p", "tuned4", "up", "-d"]);
    assert_eq!(r.code, 15, "{}", r.stderr);
    assert!(
        r.stderr.contains("compose.yaml:4:") && r.stderr.contains("invalid device mode: x"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_project_from_stdin_and_each_progress_mode() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = "services:\n  one:\n    image: bbox\n    command: [sleep, \"300\"]\n    stop_signal: SIGKILL\n";
    // `-f -` reads the project from stdin; the project directory is the working one.
    let mut c = env.cmd(&[
        "compose",
        "-f",
        "-",
        "-p",
        "piped",
        "--progress",
        "json",
        "up",
        "-d",
    ]);
    c.current_dir(dir.path())
        .stdin(std::process::Stdio::piped());
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(file.as_bytes())
        .unwrap();
    let r = common::wait_within(child, COMMAND_DEADLINE, "compose -f - up");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let events: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["id"] == "Container piped-one-1" && e["text"] == "Started"),
        "{}",
        r.stderr
    );
    let ps = env.ok(&["ps", "--format", "{{.Names}}"]);
    assert!(ps.contains("piped-one-1"), "{ps}");

    std::fs::write(dir.path().join("compose.yaml"), file).unwrap();
    let _down = Down(&env, dir.path());
    let quiet = compose_ok(
        &env,
        dir.path(),
        &["-p", "piped", "--progress", "quiet", "stop"],
    );
    assert_eq!(quiet.stderr, "");
    let plain = compose_ok(
        &env,
        dir.path(),
        &["-p", "piped", "--progress", "plain", "start"],
    );
    assert!(
        plain.stderr.contains(" Container piped-one-1  Started"),
        "{}",
        plain.stderr
    );
    // On a terminal: Compose v2's redrawn list, a tick and a time per finished container.
    common::require(
        common::have(
            "script",
            "the terminal view needs a pty from util-linux's script",
        ),
        "script",
    );
    {
        let berth = common::berth_bin();
        let inner = format!("{berth} compose -p piped --progress tty restart");
        let mut c = Command::new("script");
        c.args(["-qec", &inner, "/dev/null"])
            .current_dir(dir.path())
            .env("BERTH_ROOT", &env.root)
            .env("BERTH_RUN", &env.run);
        let r = output_within(c, COMMAND_DEADLINE);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("[+] Running 1/1"), "{:?}", r.stdout);
        assert!(r.stdout.contains("\u{2714}"), "{:?}", r.stdout);
    }
    let bad = compose(&env, dir.path(), &["--progress", "fancy", "ps"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("fancy"), "{}", bad.stderr);
}

#[test]
fn a_recreated_container_keeps_its_anonymous_volume_unless_renewed_and_down_leaves_nothing() {
    let env = common::required_env();
    env.image("bbox", &[]);
    let dir = tempfile::tempdir().unwrap();
    let write = |generation: &str| {
        std::fs::write(
            dir.path().join("compose.yaml"),
            format!(
                r#"services:
  db:
    build: {{context: ., dockerfile_inline: "FROM bbox\n"}}
    environment: {{GENERATION: "{generation}"}}
    volumes: [/data]
    command: ["sh", "-c", "test -e /data/first || echo $$GENERATION > /data/first; cat /data/first; exec sleep 300"]
    stop_signal: SIGKILL
"#
            ),
        )
        .unwrap()
    };
    let _down = Down(&env, dir.path());
    let with = |args: &[&'static str]| [&["-p", "anon"][..], args].concat();
    let first_line = || {
        eventually(Duration::from_secs(10), "the service's output", || {
            let out = compose(&env, dir.path(), &with(&["logs", "--no-log-prefix"])).stdout;
            out.lines().next().map(str::to_string).ok_or(out)
        })
    };
    write("one");
    compose_ok(&env, dir.path(), &with(&["up", "-d"]));
    assert_eq!(first_line(), "one");
    // A changed service is recreated and finds its predecessor's data.
    write("two");
    let r = compose_ok(&env, dir.path(), &with(&["up", "-d"]));
    assert!(r.stderr.contains("anon-db-1  Recreated"), "{}", r.stderr);
    assert_eq!(first_line(), "one");
    let volumes = || env.ok(&["volume", "ls", "-q"]).lines().count();
    assert_eq!(volumes(), 1);
    // -V: a new volume, the old one gone.
    compose_ok(
        &env,
        dir.path(),
        &with(&["up", "-d", "-V", "--force-recreate"]),
    );
    assert_eq!(first_line(), "two");
    assert_eq!(volumes(), 1);
    // down -v --rmi local: no container, volume or built image is left.
    compose_ok(
        &env,
        dir.path(),
        &with(&["down", "-v", "--rmi", "local", "-t", "0"]),
    );
    assert!(env.container_ids().is_empty());
    assert_eq!(volumes(), 0, "{}", env.ok(&["volume", "ls"]));
    assert!(
        !env.ok(&["images"]).contains("anon-db"),
        "{}",
        env.ok(&["images"])
    );
}
