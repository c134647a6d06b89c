//! Log drivers as Docker's: json-file rotation (`max-size`, `max-file`, `compress`), `local`,
//! `none` (logs refused), `syslog` over UDP, TCP and a unix socket with the tag template,
//! `journald` (refused without a journal; Docker's fields with one), unknown drivers and
//! options refused at create; all through the CLI and the docker CLI against `berth serve`.
mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Env, Run, output_within, required_env, serve::Serve};

const DOCKER: &str = "/usr/local/bin/docker";

/// Removes every container of the test's state, even when the test failed half-way.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.0.container_ids() {
            let _ = self.0.berth(&["rm", "-f", &id]);
        }
    }
}

/// The log files (live and rotated) berth keeps for the container `id`.
fn log_files(env: &Env, id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![env.root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(path);
            } else if name.starts_with(&format!("{id}-json.log")) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn docker(serve: &Serve, config: &Path, args: &[&str]) -> Run {
    let mut c = Command::new(DOCKER);
    c.args(args)
        .env("DOCKER_HOST", format!("unix://{}", serve.socket.display()))
        .env("DOCKER_CONFIG", config)
        .stdin(Stdio::null());
    output_within(c, Duration::from_secs(60))
}

#[test]
fn json_file_rotates_by_size_and_logs_reads_across_the_rotated_files() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    for compress in ["false", "true"] {
        let name = format!("rot-{compress}");
        let id = env.ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &name,
            "--log-opt",
            "max-size=2k",
            "--log-opt",
            "max-file=3",
            "--log-opt",
            &format!("compress={compress}"),
            "bb",
            "sh",
            "-c",
            "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done",
        ]);
        let id = id.trim();
        assert_eq!(env.ok(&["wait", &name]).trim(), "0");
        // At most three files, none much over the size (a file rotates before it would pass it).
        let files = log_files(&env, id);
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(
            files.iter().any(|f| f.to_string_lossy().ends_with(".gz")),
            compress == "true",
            "{files:?}"
        );
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() <= 2048, "{f:?} too big");
        }
        // `logs` reads the rotated files and the live one, in order: the newest lines, with
        // nothing missing between the first kept and the last.
        let logs = env.ok(&["logs", &name]);
        let numbers: Vec<usize> = logs
            .lines()
            .map(|l| l.strip_prefix("line-").unwrap().parse().unwrap())
            .collect();
        assert_eq!(*numbers.last().unwrap(), 399);
        assert!(numbers[0] > 0, "nothing was rotated away");
        let expected: Vec<usize> = (numbers[0]..400).collect();
        assert_eq!(numbers, expected);
        // More than the live file holds: the rotated ones were read.
        assert!(numbers.len() > 60, "only {} lines", numbers.len());
        let tail = env.ok(&["logs", "--tail", "2", &name]);
        assert_eq!(tail, "line-398\nline-399\n");
        let config = env.ok(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", &name]);
        assert_eq!(
            config.trim(),
            format!(
                r#"{{"Config":{{"compress":"{compress}","max-file":"3","max-size":"2k"}},"Type":"json-file"}}"#
            )
        );
    }
}

#[test]
fn local_keeps_a_readable_log_and_none_keeps_nothing() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "loc",
        "--log-driver",
        "local",
        "bb",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    let r = env.berth(&["logs", "loc"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "out\n", "err\n")
    );
    assert_eq!(
        env.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.LogConfig.Type}}|{{.LogPath}}",
            "loc"
        ]),
        "local|\n"
    );

    // `none`: the attached run still shows the output; nothing is kept; logs says why.
    let out = env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "bb",
        "echo",
        "shown",
    ]);
    assert_eq!(out, "shown\n");
    let id = env.ok(&["inspect", "-f", "{{.Id}}", "quiet"]);
    assert!(log_files(&env, id.trim()).is_empty());
    let r = env.berth(&["logs", "quiet"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("configured logging driver does not support reading"),
        "{}",
        r.stderr
    );
    // The default stays json-file, shown as such.
    env.ok(&["create", "--name", "plain", "bb", "true"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", "plain"]),
        "{\"Config\":{},\"Type\":\"json-file\"}\n"
    );
}

#[test]
fn unknown_drivers_and_options_are_refused_before_anything_is_created() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    for (args, message) in [
        (
            vec!["--log-driver", "fluentdx"],
            "logger: no log driver named 'fluentdx' is registered",
        ),
        (
            vec!["--log-opt", "max-sise=1m"],
            "unknown log opt 'max-sise' for json-file log driver",
        ),
        (
            vec![
                "--log-driver",
                "syslog",
                "--log-opt",
                "syslog-address=ftp://x",
            ],
            "unsupported scheme: 'ftp'",
        ),
        (vec!["--log-opt", "max-size=lots"], "invalid size: 'lots'"),
    ] {
        let mut full = vec!["run", "--network", "none"];
        full.extend(args);
        full.extend(["bb", "true"]);
        let r = env.berth(&full);
        assert_eq!(r.code, 125, "{full:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{full:?}: {}", r.stderr);
    }
    assert_eq!(
        env.ok(&["ps", "-aq"]),
        "",
        "a refused create left a container"
    );
}

/// Receives one datagram, as text.
fn receive(socket: &UdpSocket) -> String {
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("no syslog message arrived");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn syslog_over_udp_tcp_and_a_unix_socket_with_the_tag_and_a_local_cache() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let hostname = nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    // UDP, the default format: `<PRI>RFC3339 HOST TAG[PID]: MSG`; daemon.info for stdout
    // (30), daemon.err for stderr (27).
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let address = format!("syslog-address=udp://{}", udp.local_addr().unwrap());
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "sl",
        "--log-driver",
        "syslog",
        "--log-opt",
        &address,
        "--log-opt",
        "tag={{.Name}}/{{.ImageName}}",
        "bb",
        "sh",
        "-c",
        "echo hello; sleep 0.1; echo oops >&2",
    ]);
    let first = receive(&udp);
    let second = receive(&udp);
    for (message, pri, text) in [(&first, "<30>", "hello"), (&second, "<27>", "oops")] {
        assert!(message.starts_with(pri), "{message}");
        let rest = &message[pri.len()..];
        let (time, rest) = rest.split_once(' ').unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(time).is_ok(),
            "{message}"
        );
        let expected_head = format!("{hostname} sl/bb[");
        assert!(rest.starts_with(&expected_head), "{message}");
        assert!(rest.ends_with(&format!("]: {text}")), "{message}");
    }
    // Dual logging: `logs` reads the local cache.
    assert_eq!(env.ok(&["logs", "sl"]), "hello\n");

    // TCP, RFC 5424: octet-counted frames `LEN <PRI>1 TIME HOST TAG PID TAG - MSG`.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("syslog-address=tcp://{}", tcp.local_addr().unwrap());
    let id = env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--log-driver",
        "syslog",
        "--log-opt",
        &address,
        "--log-opt",
        "syslog-format=rfc5424",
        "--log-opt",
        "syslog-facility=local3",
        "bb",
        "echo",
        "over tcp",
    ]);
    let (conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(conn);
    let mut length = Vec::new();
    reader.read_until(b' ', &mut length).unwrap();
    let length: usize = String::from_utf8_lossy(&length).trim().parse().unwrap();
    let mut frame = vec![0u8; length];
    std::io::Read::read_exact(&mut reader, &mut frame).unwrap();
    let frame = String::from_utf8(frame).unwrap();
    let short = &id.trim()[..12];
    // local3.info = 19*8+6.
    assert!(frame.starts_with("<158>1 "), "{frame}");
    assert!(frame.contains(&format!(" {hostname} {short} ")), "{frame}");
    assert!(frame.ends_with(&format!(" {short} - over tcp")), "{frame}");

    // A unix datagram socket, with the cache off: `logs` is refused then.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let unix = UnixDatagram::bind(&path).unwrap();
    unix.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let address = format!("syslog-address=unixgram://{}", path.display());
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "ux",
        "--log-driver",
        "syslog",
        "--log-opt",
        &address,
        "--log-opt",
        "cache-disabled=true",
        "bb",
        "echo",
        "via unix",
    ]);
    let mut buf = [0u8; 4096];
    let n = unix.recv(&mut buf).unwrap();
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    // The local form: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, no hostname.
    assert!(message.starts_with("<30>"), "{message}");
    assert!(message.ends_with("]: via unix"), "{message}");
    assert!(
        !message.contains(&hostname) || hostname.is_empty(),
        "{message}"
    );
    let r = env.berth(&["logs", "ux"]);
    assert_eq!(r.code, 1);

    // Nothing listens: the start fails and says why.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("syslog-address=tcp://{}", closed.local_addr().unwrap());
    drop(closed);
    let r = env.berth(&[
        "run",
        "--network",
        "none",
        "--log-driver",
        "syslog",
        "--log-opt",
        &address,
        "bb",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("failed to initialize logging driver"),
        "{}",
        r.stderr
    );
}

#[test]
fn journald_needs_a_journal_and_gets_dockers_fields() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    if !Path::new("/run/systemd/journal/socket").exists() {
        let r = env.berth(&[
            "run",
            "--network",
            "none",
            "--log-driver",
            "journald",
            "bb",
            "true",
        ]);
        assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("journald is not enabled on this host"),
            "{}",
            r.stderr
        );
    }
    // A journal socket of the test's own.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sock");
    let journal = UnixDatagram::bind(&path).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let r = output_within(
        {
            let mut c = env.cmd(&[
                "run",
                "--network",
                "none",
                "--name",
                "jd",
                "--log-driver",
                "journald",
                "bb",
                "sh",
                "-c",
                "echo to the journal; echo bad >&2",
            ]);
            c.env("BERTH_JOURNAL_SOCKET", &path);
            c
        },
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = env.ok(&["inspect", "-f", "{{.Id}}", "jd"]);
    let id = id.trim();
    let mut entries = Vec::new();
    for _ in 0..2 {
        let mut buf = [0u8; 8192];
        let n = journal.recv(&mut buf).unwrap();
        entries.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    entries.sort();
    let fields = |entry: &str| -> Vec<String> { entry.lines().map(str::to_string).collect() };
    let bad = fields(&entries[0]);
    let good = fields(&entries[1]);
    assert!(
        good.contains(&"MESSAGE=to the journal".to_string()),
        "{good:?}"
    );
    assert!(good.contains(&"PRIORITY=6".to_string()), "{good:?}");
    assert!(bad.contains(&"MESSAGE=bad".to_string()), "{bad:?}");
    assert!(bad.contains(&"PRIORITY=3".to_string()), "{bad:?}");
    for expected in [
        format!("CONTAINER_ID={}", &id[..12]),
        format!("CONTAINER_ID_FULL={id}"),
        "CONTAINER_NAME=jd".to_string(),
        format!("SYSLOG_IDENTIFIER={}", &id[..12]),
        "IMAGE_NAME=bb".to_string(),
    ] {
        assert!(good.contains(&expected), "{expected} not in {good:?}");
    }
    assert_eq!(env.ok(&["logs", "jd"]), "to the journal\n");
}

#[test]
fn docker_cli_log_drivers_through_the_api() {
    let env = required_env();
    if !common::have(DOCKER, "the docker CLI drives berth serve") {
        panic!("this test cannot run here: the reason is said above");
    }
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    let (cmd, socket) = env.serve_command();
    let serve = Serve::start(cmd, socket);
    let config = env.root.parent().unwrap().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();

    let r = docker(
        &serve,
        &config,
        &["run", "--log-driver", "foo", "bb", "true"],
    );
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "Error response from daemon: logger: no log driver named 'foo' is registered"
        ),
        "{}",
        r.stderr
    );

    let r = docker(
        &serve,
        &config,
        &[
            "run",
            "--name",
            "qq",
            "--network",
            "none",
            "--log-driver",
            "none",
            "bb",
            "echo",
            "x",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "x\n"), "{}", r.stderr);
    let r = docker(&serve, &config, &["logs", "qq"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("configured logging driver does not support reading"),
        "{}",
        r.stderr
    );

    let r = docker(
        &serve,
        &config,
        &[
            "run",
            "--name",
            "rot",
            "--network",
            "none",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "bb",
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo n$i; i=$((i+1)); done",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let logs = docker(&serve, &config, &["logs", "--tail", "1", "rot"]);
    assert_eq!(logs.stdout, "n199\n");
    let inspect = docker(
        &serve,
        &config,
        &["inspect", "-f", "{{json .HostConfig.LogConfig}}", "rot"],
    );
    assert_eq!(
        inspect.stdout.trim(),
        r#"{"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}}"#
    );
}

#[test]
fn logs_follow_goes_on_across_rotations() {
    let env = required_env();
    let _cleanup = Cleanup(&env);
    env.image("bb", &[]);
    for compress in ["false", "true"] {
        let name = format!("fol-{compress}");
        env.ok(&[
            "run", "-d", "--network", "none", "--name", &name, "--log-opt", "max-size=1k",
            "--log-opt", "max-file=100", "--log-opt", &format!("compress={compress}"), "bb",
            "sh", "-c",
            "sleep 1; i=0; while [ $i -lt 300 ]; do echo f$i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.05; done",
        ]);
        let r = env.berth(&["logs", "-f", &name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let expected: String = (0..300).map(|i| format!("f{i}\n")).collect();
        assert_eq!(r.stdout, expected, "compress={compress}");
        let id = env.ok(&["inspect", "-f", "{{.Id}}", &name]);
        assert!(
            log_files(&env, id.trim()).len() > 3,
            "the log did not rotate"
        );
    }
}
