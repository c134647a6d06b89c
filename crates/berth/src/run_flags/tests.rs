//! The flags as the docker CLI takes them: what each becomes in the create request, and the
//! words of each refusal.

use super::*;
use berth_model::types::RestartPolicy;
use clap::Parser;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    flags: RunFlags,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    image_and_command: Vec<String>,
}

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied())).unwrap()
}

fn request(args: &[&str]) -> Result<CreateRequest, String> {
    let cli = parse(args);
    cli.flags
        .to_request(&cli.image_and_command[0], &cli.image_and_command[1..])
}

#[test]
fn health_flags_follow_docker() {
    let hc = request(&[
        "--health-cmd",
        "test -e /ok",
        "--health-interval",
        "1m30s",
        "--health-timeout",
        "1.5s",
        "--health-retries",
        "2",
        "img",
    ])
    .unwrap()
    .config
    .healthcheck
    .unwrap();
    assert_eq!(
        hc.test,
        Some(vec!["CMD-SHELL".to_string(), "test -e /ok".to_string()])
    );
    assert_eq!(
        (hc.interval, hc.timeout, hc.retries),
        (90_000_000_000, 1_500_000_000, 2)
    );
    let none = request(&["--no-healthcheck", "img"]).unwrap();
    assert_eq!(
        none.config.healthcheck.unwrap().test,
        Some(vec!["NONE".to_string()])
    );
    assert!(request(&["img"]).unwrap().config.healthcheck.is_none());
    assert_eq!(
        request(&["--health-interval", "0.5x", "img"]).unwrap_err(),
        "invalid argument \"0.5x\" for \"--health-interval\" flag: time: unknown unit \"x\" in duration \"0.5x\""
    );
    assert_eq!(
        request(&["--health-timeout", "-1s", "img"]).unwrap_err(),
        "--health-timeout cannot be negative"
    );
    assert!(request(&["--no-healthcheck", "--health-retries", "1", "img"]).is_err());
    assert_eq!(parse_go_duration("200ms"), Ok(200_000_000));
    assert_eq!(parse_go_duration("0"), Ok(0));
    assert!(parse_go_duration("5").unwrap_err().contains("missing unit"));
}

#[test]
fn publish_specs_follow_docker() {
    let bindings =
        |args: &[&str]| request(args).map(|r| r.host_config.port_bindings.unwrap_or_default());
    let b = bindings(&[
        "-p",
        "127.0.0.1:8080:80",
        "-p",
        "53/udp",
        "-p",
        "8000-8001:90-91",
        "img",
    ])
    .unwrap();
    let show = |key: &str| {
        b[key]
            .iter()
            .map(|x| format!("{}|{}", x.host_ip, x.host_port))
            .collect::<Vec<_>>()
    };
    assert_eq!(show("80/tcp"), ["127.0.0.1|8080"]);
    assert_eq!(show("53/udp"), ["|"]);
    assert_eq!(show("90/tcp"), ["|8000"]);
    assert_eq!(show("91/tcp"), ["|8001"]);
    let range = bindings(&["-p", "7000-7010:80", "img"]).unwrap();
    assert_eq!(range["80/tcp"][0].host_port, "7000-7010");
    assert!(
        bindings(&["-p", "80-82:90-91", "img"])
            .unwrap_err()
            .contains("invalid ranges")
    );
    assert!(
        bindings(&["-p", "x:80", "img"])
            .unwrap_err()
            .contains("invalid hostPort")
    );
    assert!(
        bindings(&["-p", "80/foo", "img"])
            .unwrap_err()
            .contains("invalid proto")
    );
    assert!(
        request(&["-P", "img"])
            .unwrap()
            .host_config
            .publish_all_ports
    );
}

#[test]
fn network_settings_flags() {
    let r = request(&[
        "--network",
        "mynet",
        "--ip",
        "10.1.0.9",
        "--network-alias",
        "db",
        "--dns",
        "1.1.1.1",
        "--add-host",
        "h:10.0.0.1",
        "img",
    ])
    .unwrap();
    let ep = &r.networking_config.endpoints_config["mynet"];
    assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.1.0.9");
    assert_eq!(ep.aliases.as_deref(), Some(&["db".to_string()][..]));
    assert_eq!(
        r.host_config.dns.as_deref(),
        Some(&["1.1.1.1".to_string()][..])
    );
    assert_eq!(
        r.host_config.extra_hosts.as_deref(),
        Some(&["h:10.0.0.1".to_string()][..])
    );
    assert!(
        request(&["--network-alias", "x", "img"])
            .unwrap_err()
            .contains("user defined networks")
    );
    assert!(
        request(&["--dns", "nope", "img"])
            .unwrap_err()
            .contains("is not an ip address")
    );
    assert!(
        request(&["--add-host", "nocolon", "img"])
            .unwrap_err()
            .contains("bad format for add-host")
    );
    assert!(
        request(&["--mac-address", "zz", "img"])
            .unwrap_err()
            .contains("not a valid mac address")
    );
}

#[test]
fn memory_sizes_follow_docker() {
    assert_eq!(
        request(&["-m", "12zz", "img"]).unwrap_err(),
        "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid suffix: 'zz'"
    );
    assert_eq!(
        request(&["-m", "-1", "img"]).unwrap_err(),
        "invalid argument \"-1\" for \"-m, --memory\" flag: invalid size: '-1'"
    );
    let r = request(&["-m", "64m", "--memory-swap", "-1", "img"]).unwrap();
    assert_eq!(
        (r.host_config.memory, r.host_config.memory_swap),
        (67108864, -1)
    );
    let r = request(&["--memory-swap=1g", "img"]).unwrap();
    assert_eq!(r.host_config.memory_swap, 1 << 30);
    assert_eq!(
        request(&["--memory-swap", "-2", "img"]).unwrap_err(),
        "invalid argument \"-2\" for \"--memory-swap\" flag: invalid size: '-2'"
    );
}

#[test]
fn cpus_and_integers() {
    let cpus = |v: &str| {
        RunFlags {
            cpus: Some(v.into()),
            ..Default::default()
        }
        .to_request("i", &[])
    };
    assert_eq!(cpus("1.5").unwrap().host_config.nano_cpus, 1_500_000_000);
    assert_eq!(cpus(".5").unwrap().host_config.nano_cpus, 500_000_000);
    assert_eq!(cpus("3/2").unwrap().host_config.nano_cpus, 1_500_000_000);
    assert_eq!(cpus("1e-3").unwrap().host_config.nano_cpus, 1_000_000);
    assert_eq!(cpus("1.5e1").unwrap().host_config.nano_cpus, 15_000_000_000);
    assert_eq!(cpus("0x10").unwrap().host_config.nano_cpus, 16_000_000_000);
    assert_eq!(cpus("2").unwrap().host_config.nano_cpus, 2_000_000_000);
    assert_eq!(cpus("0.000000001").unwrap().host_config.nano_cpus, 1);
    assert_eq!(cpus("-3/2").unwrap().host_config.nano_cpus, -1_500_000_000);
    assert_eq!(
        cpus("abc").unwrap_err(),
        "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
    );
    assert_eq!(
        cpus("1.0000000001").unwrap_err(),
        "invalid argument \"1.0000000001\" for \"--cpus\" flag: value is too precise"
    );
    for bad in ["1/0", "3/-2", " 1", "", ".", "1.2.3", "e5"] {
        assert!(
            cpus(bad).unwrap_err().contains("as a rational number"),
            "{bad:?}"
        );
    }

    let r = request(&[
        "-c",
        "0x10",
        "--pids-limit",
        "-1",
        "--stop-timeout",
        "0",
        "img",
    ])
    .unwrap();
    assert_eq!(r.host_config.cpu_shares, 16);
    assert_eq!(r.host_config.pids_limit, Some(-1));
    assert_eq!(r.config.stop_timeout, Some(0));
    assert_eq!(
        request(&["--cpu-shares", "010", "img"])
            .unwrap()
            .host_config
            .cpu_shares,
        8
    );
    let r = request(&["img"]).unwrap();
    assert_eq!(
        (r.host_config.pids_limit, r.config.stop_timeout),
        (None, None)
    );
    assert_eq!(
        request(&["-c", "x", "img"]).unwrap_err(),
        "invalid argument \"x\" for \"-c, --cpu-shares\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        request(&["--pids-limit", "99999999999999999999", "img"]).unwrap_err(),
        "invalid argument \"99999999999999999999\" for \"--pids-limit\" flag: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
    );
}

#[test]
fn env_flags_and_env_files() {
    // SAFETY: tests in this module that touch the environment use their own names.
    unsafe {
        std::env::set_var("BERTH_RF_SET", "from-caller");
        std::env::set_var("BERTH_RF_FILE", "file-caller");
        std::env::remove_var("BERTH_RF_UNSET");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env");
    std::fs::write(
        &file,
        "\u{feff}# comment\n\n  A=1\nB=\"quoted\" \r\n\tBERTH_RF_FILE\nBERTH_RF_UNSET\nC==x\nEMPTY=\n#D=no",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(
        read_env_file(file).unwrap(),
        [
            "A=1",
            "B=\"quoted\" ",
            "BERTH_RF_FILE=file-caller",
            "C==x",
            "EMPTY="
        ]
    );
    let r = request(&[
        "--env-file",
        file,
        "-e",
        "A=2",
        "-e",
        "BERTH_RF_SET",
        "-e",
        "BERTH_RF_UNSET",
        "--env=X=-y",
        "img",
    ])
    .unwrap();
    assert_eq!(
        r.config.env.unwrap(),
        [
            "A=1",
            "B=\"quoted\" ",
            "BERTH_RF_FILE=file-caller",
            "C==x",
            "EMPTY=",
            "A=2",
            "BERTH_RF_SET=from-caller",
            "X=-y"
        ]
    );
    assert_eq!(request(&["img"]).unwrap().config.env, None);
    assert_eq!(
        request(&["-e", "=x", "img"]).unwrap_err(),
        "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
    );

    assert_eq!(
        read_env_file("/nonexistent/env").unwrap_err(),
        "open /nonexistent/env: no such file or directory"
    );
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        read_env_file(d).unwrap_err(),
        format!("invalid env file ({d}): read {d}: is a directory")
    );
    let bad = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let p = p.to_str().unwrap().to_string();
        read_env_file(&p).unwrap_err().replace(&p, "F")
    };
    assert_eq!(
        bad("e1", b"A B=1\n"),
        "invalid env file (F): variable 'A B' contains whitespaces"
    );
    assert_eq!(
        bad("e2", b"=1\n"),
        "invalid env file (F): no variable name on line '=1'"
    );
    assert_eq!(
        bad("e3", b" D = x\n"),
        "invalid env file (F): variable 'D ' contains whitespaces"
    );
    assert_eq!(
        bad("e4", b"A=1\n\xff\xfe=2\n"),
        "invalid env file (F): invalid utf8 bytes at line 2: [255 254 61 50]"
    );
}

#[test]
fn labels_and_label_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labels");
    std::fs::write(&file, "x=1\n  y\n#c\nz=  q \n").unwrap();
    let r = request(&[
        "-l",
        "a=b",
        "--label",
        "c",
        "-l",
        "d=",
        "-l",
        "e=f=g",
        "--label-file",
        file.to_str().unwrap(),
        "-l",
        "x=2",
        "img",
    ])
    .unwrap();
    let labels = r.config.labels.unwrap();
    let want: BTreeMap<String, String> = [
        ("a", "b"),
        ("c", ""),
        ("d", ""),
        ("e", "f=g"),
        ("x", "2"),
        ("z", "  q "),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want);
    assert_eq!(
        request(&["img"]).unwrap().config.labels,
        Some(BTreeMap::new())
    );
    assert_eq!(
        request(&["-l", "=x", "img"]).unwrap_err(),
        "invalid argument \"=x\" for \"-l, --label\" flag: invalid label '=x': empty name"
    );
    assert_eq!(
        request(&["-l", "a b=c", "img"]).unwrap_err(),
        "invalid argument \"a b=c\" for \"-l, --label\" flag: label 'a b' contains whitespaces"
    );
    assert_eq!(
        request(&["--label-file", "/nonexistent", "img"]).unwrap_err(),
        "open /nonexistent: no such file or directory"
    );
}

#[test]
fn ulimits() {
    let r = request(&[
        "--ulimit",
        "nofile=10",
        "--ulimit",
        "nofile=20:30",
        "--ulimit",
        "nproc=-1",
        "--ulimit",
        "core=5:-1",
        "img",
    ])
    .unwrap();
    assert_eq!(
        r.host_config.ulimits.unwrap(),
        [
            Ulimit {
                name: "nofile".into(),
                soft: 20,
                hard: 30
            },
            Ulimit {
                name: "nproc".into(),
                soft: -1,
                hard: -1
            },
            Ulimit {
                name: "core".into(),
                soft: 5,
                hard: -1
            },
        ]
    );
    let err = |v: &str| request(&["--ulimit", v, "img"]).unwrap_err();
    assert_eq!(
        err("nofile"),
        "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"
    );
    assert_eq!(
        err("foo=1"),
        "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"
    );
    assert_eq!(
        err("nofile=1:2:3"),
        "invalid argument \"nofile=1:2:3\" for \"--ulimit\" flag: too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"
    );
    assert_eq!(
        err("nofile=x"),
        "invalid argument \"nofile=x\" for \"--ulimit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        err("nofile=0x1"),
        "invalid argument \"nofile=0x1\" for \"--ulimit\" flag: strconv.ParseInt: parsing \"0x1\": invalid syntax"
    );
    assert_eq!(
        err("nofile=3:2"),
        "invalid argument \"nofile=3:2\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: 3 > 2"
    );
}

#[test]
fn restart_policies() {
    let policy = |v: &str| request(&["--restart", v, "img"]).map(|r| r.host_config.restart_policy);
    let p = |name: &str, n: i64| {
        Ok(RestartPolicy {
            name: name.into(),
            maximum_retry_count: n,
        })
    };
    assert_eq!(
        request(&["img"]).unwrap().host_config.restart_policy,
        p("no", 0).unwrap()
    );
    assert_eq!(policy("always"), p("always", 0));
    assert_eq!(policy("always:"), p("always", 0));
    assert_eq!(policy("unless-stopped"), p("unless-stopped", 0));
    assert_eq!(policy("on-failure"), p("on-failure", 0));
    assert_eq!(policy("on-failure:3"), p("on-failure", 3));
    assert_eq!(policy(""), p("", 0));
    assert_eq!(
        policy("on-failure:x").unwrap_err(),
        "invalid restart policy format: maximum retry count must be an integer"
    );
    assert_eq!(
        policy(":3").unwrap_err(),
        "invalid restart policy format: no policy provided before colon"
    );
    assert_eq!(
        policy("on-failure:-1").unwrap_err(),
        "invalid restart policy: maximum retry count cannot be negative"
    );
    assert_eq!(
        policy("always:3").unwrap_err(),
        "invalid restart policy: maximum retry count can only be used with 'on-failure'"
    );
    assert_eq!(
        policy("sometimes").unwrap_err(),
        "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
    );
    assert_eq!(
        request(&["--rm", "--restart", "always", "img"]).unwrap_err(),
        "conflicting options: cannot specify both --restart and --rm"
    );
    assert!(
        request(&["--rm", "--restart", "no", "img"])
            .unwrap()
            .host_config
            .auto_remove
    );
}

#[test]
fn entrypoint_command_and_attach() {
    let r = request(&["--entrypoint", "", "img"]).unwrap();
    assert_eq!(r.config.entrypoint, Some(vec![]));
    assert_eq!(r.config.cmd, None);
    let r = request(&["--entrypoint=/bin/sh -c", "img", "a", "-b"]).unwrap();
    assert_eq!(r.config.entrypoint, Some(vec!["/bin/sh -c".to_string()]));
    assert_eq!(r.config.cmd, Some(vec!["a".to_string(), "-b".to_string()]));
    assert_eq!(r.config.image, "img");
    assert_eq!(request(&["img"]).unwrap().config.entrypoint, None);

    let streams = |args: &[&str]| {
        let c = request(args).unwrap().config;
        (
            c.attach_stdin,
            c.attach_stdout,
            c.attach_stderr,
            c.open_stdin,
            c.stdin_once,
            c.tty,
        )
    };
    assert_eq!(streams(&["img"]), (false, true, true, false, false, false));
    assert_eq!(
        streams(&["-it", "img"]),
        (true, true, true, true, true, true)
    );
    assert_eq!(
        streams(&["-d", "img"]),
        (false, false, false, false, false, false)
    );
    assert_eq!(
        streams(&["-di", "img"]),
        (false, false, false, true, false, false)
    );
    assert_eq!(
        streams(&["-a", "stdin", "img"]),
        (true, false, false, false, false, false)
    );
    assert_eq!(
        streams(&["-i", "-a", "STDOUT", "img"]),
        (true, true, false, true, true, false)
    );
    assert_eq!(
        streams(&["-it", "--tty=false", "img"]),
        (true, true, true, true, true, false)
    );
    assert_eq!(
        streams(&["--detach=false", "--tty=true", "img"]),
        (false, true, true, false, false, true)
    );
    assert_eq!(
        request(&["-a", "foo", "img"]).unwrap_err(),
        "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
    );
    assert_eq!(
        request(&["-d", "-a", "stdout", "img"]).unwrap_err(),
        "conflicting options: cannot specify both --attach and --detach"
    );
}

#[test]
fn tmpfs_caps_security_and_network() {
    let r = request(&[
        "--tmpfs",
        "/run:size=1m,mode=700",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/a",
        "--tmpfs",
        "/a:ro",
        "img",
    ])
    .unwrap();
    let tmpfs = r.host_config.tmpfs.unwrap();
    assert_eq!(tmpfs.len(), 3);
    assert_eq!(
        (
            tmpfs["/run"].as_str(),
            tmpfs["/tmp"].as_str(),
            tmpfs["/a"].as_str()
        ),
        ("size=1m,mode=700", "", "ro")
    );
    assert_eq!(request(&["img"]).unwrap().host_config.tmpfs, None);

    let r = request(&[
        "--cap-add",
        "net_admin",
        "--cap-add",
        "CAP_SYS_TIME",
        "--cap-add",
        "chown",
        "--cap-add",
        "all",
        "--cap-drop",
        "chown",
        "--cap-drop",
        "ALL",
        "img",
    ])
    .unwrap();
    assert_eq!(
        r.host_config.cap_add.unwrap(),
        ["ALL", "CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_TIME"]
    );
    assert_eq!(r.host_config.cap_drop.unwrap(), ["ALL", "CAP_CHOWN"]);

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(&profile, "{ \"defaultAction\" : \"SCMP_ACT_ALLOW\" }\n").unwrap();
    let seccomp = format!("seccomp={}", profile.display());
    let r = request(&[
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "label:disable",
        "--security-opt",
        &seccomp,
        "--security-opt",
        "seccomp=unconfined",
        "img",
    ])
    .unwrap();
    assert_eq!(
        r.host_config.security_opt.unwrap(),
        [
            "no-new-privileges",
            "label:disable",
            "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
            "seccomp=unconfined"
        ]
    );
    assert_eq!(
        request(&["--security-opt", "foo", "img"]).unwrap_err(),
        "Invalid --security-opt: \"foo\""
    );
    assert_eq!(
        request(&["--security-opt", "x=", "img"]).unwrap_err(),
        "Invalid --security-opt: \"x=\""
    );
    assert_eq!(
        request(&["--security-opt", "seccomp=/nonexistent", "img"]).unwrap_err(),
        "opening seccomp profile (/nonexistent) failed: open /nonexistent: no such file or directory"
    );

    let mode = |args: &[&str]| request(args).map(|r| r.host_config.network_mode);
    assert_eq!(mode(&["img"]), Ok(String::new()));
    assert_eq!(mode(&["--net", "host", "img"]), Ok("host".into()));
    assert_eq!(mode(&["--network=none", "img"]), Ok("none".into()));
    assert_eq!(
        mode(&["--network", "Name=FOO,alias=x", "img"]),
        Ok("foo".into())
    );
    assert_eq!(mode(&["--network", "name=", "img"]), Ok("name=".into()));
    assert_eq!(
        mode(&["--network", "foo=bar", "img"]).unwrap_err(),
        "invalid argument \"foo=bar\" for \"--network\" flag: invalid field key foo"
    );
    assert_eq!(
        mode(&["--network", "alias=x", "img"]).unwrap_err(),
        "invalid argument \"alias=x\" for \"--network\" flag: network name/id is not specified"
    );
    assert_eq!(
        mode(&["--network", "host", "--network", "b", "img"]).unwrap_err(),
        "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    );
    assert_eq!(
        mode(&["--net", "a", "--net", "a", "img"]).unwrap_err(),
        "network \"a\" is specified multiple times"
    );
    assert!(
        mode(&["--net", "a", "--net", "b", "img"])
            .unwrap_err()
            .contains("not supported")
    );
}

#[test]
fn full_flag_set_parses() {
    let cli = parse(&[
        "-d",
        "-i",
        "-t",
        "--rm",
        "--name",
        "web",
        "-e",
        "A=1",
        "--env",
        "B=2",
        "--env-file",
        "/dev/null",
        "-w",
        "/srv",
        "-u",
        "1000:1000",
        "-h",
        "box",
        "--entrypoint",
        "/bin/sh",
        "-m",
        "64m",
        "--memory-swap",
        "-1",
        "--cpus",
        "1.5",
        "-c",
        "512",
        "--pids-limit",
        "-1",
        "--read-only",
        "--tmpfs",
        "/run",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "ALL",
        "--privileged=false",
        "--security-opt",
        "no-new-privileges",
        "--ulimit",
        "nofile=1024:2048",
        "--init",
        "--restart",
        "no",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "5",
        "-l",
        "a=b",
        "--label-file",
        "/dev/null",
        "--runtime",
        "runc",
        "--net",
        "host",
        "-a",
        "stdout",
        "--platform",
        "linux/amd64",
        "--pull",
        "never",
        "--name",
        "web2",
        "busybox",
        "sh",
        "-c",
        "echo hi",
        "--rm",
    ]);
    let f = &cli.flags;
    assert!(f.detach && f.interactive && f.tty && f.rm && !f.privileged && f.read_only);
    assert_eq!(
        f.name.as_deref(),
        Some("web2"),
        "a repeated flag: the last wins, as pflag"
    );
    assert_eq!(f.env, ["A=1", "B=2"]);
    assert_eq!(f.memory_swap.as_deref(), Some("-1"));
    assert_eq!(f.pids_limit.as_deref(), Some("-1"));
    assert_eq!(f.init, Some(true));
    assert_eq!(f.network, ["host"]);
    assert_eq!(f.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(
        cli.image_and_command,
        ["busybox", "sh", "-c", "echo hi", "--rm"]
    );
    // -d with -a conflicts, as in Docker; without -a the rest converts.
    assert!(f.to_request("busybox", &[]).is_err());
    let mut f = f.clone();
    f.attach.clear();
    let r = f
        .to_request("busybox", &cli.image_and_command[1..])
        .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["Image"], "busybox");
    assert_eq!(
        json["Cmd"],
        serde_json::json!(["sh", "-c", "echo hi", "--rm"])
    );
    assert_eq!(json["Entrypoint"], serde_json::json!(["/bin/sh"]));
    assert_eq!(json["Env"], serde_json::json!(["A=1", "B=2"]));
    assert_eq!(json["WorkingDir"], "/srv");
    assert_eq!(json["User"], "1000:1000");
    assert_eq!(json["Hostname"], "box");
    assert_eq!(json["StopSignal"], "SIGINT");
    assert_eq!(json["StopTimeout"], 5);
    assert_eq!(json["OpenStdin"], true);
    assert_eq!(json["AttachStdout"], false);
    let hc = &json["HostConfig"];
    assert_eq!(hc["AutoRemove"], true);
    assert_eq!(hc["Memory"], 67108864);
    assert_eq!(hc["MemorySwap"], -1);
    assert_eq!(hc["NanoCpus"], 1_500_000_000i64);
    assert_eq!(hc["CpuShares"], 512);
    assert_eq!(hc["PidsLimit"], -1);
    assert_eq!(hc["ReadonlyRootfs"], true);
    assert_eq!(hc["Tmpfs"], serde_json::json!({"/run": ""}));
    assert_eq!(hc["CapAdd"], serde_json::json!(["CAP_NET_ADMIN"]));
    assert_eq!(hc["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(hc["Privileged"], false);
    assert_eq!(hc["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
    assert_eq!(
        hc["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}])
    );
    assert_eq!(hc["Init"], true);
    assert_eq!(
        hc["RestartPolicy"],
        serde_json::json!({"Name": "no", "MaximumRetryCount": 0})
    );
    assert_eq!(hc["Runtime"], "runc");
    assert_eq!(hc["NetworkMode"], "host");

    // Booleans take Go's `=value`, short ones combine.
    let f = parse(&["-dit", "--init=false", "--rm=0", "img"]).flags;
    assert!(f.detach && f.interactive && f.tty && !f.rm);
    assert_eq!(f.init, Some(false));
    assert_eq!(parse(&["img"]).flags.init, None);
    assert_eq!(parse(&["img"]).flags.pull, "missing");
    assert!(Cli::try_parse_from(["run", "--init=no", "img"]).is_err());
    assert_eq!(
        request(&["--pull", "sometimes", "img"]).unwrap_err(),
        "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""
    );
}

#[test]
fn vm_is_the_vm_runtime_and_kernel_goes_in_a_label() {
    let vm = request(&["--vm", "busybox"]).unwrap();
    assert_eq!(vm.host_config.runtime, "vm");
    assert_eq!(
        request(&["--runtime", "vm", "busybox"])
            .unwrap()
            .host_config
            .runtime,
        "vm"
    );
    assert_eq!(
        request(&["--vm", "--runtime", "runc", "busybox"]).unwrap_err(),
        "conflicting options: --vm and --runtime runc"
    );
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinux");
    std::fs::write(&kernel, b"x").unwrap();
    let with_kernel = request(&["--vm", "--kernel", kernel.to_str().unwrap(), "busybox"]).unwrap();
    let labels = with_kernel.config.labels.unwrap();
    assert_eq!(
        labels.get(KERNEL_LABEL).map(String::as_str),
        Some(std::fs::canonicalize(&kernel).unwrap().to_str().unwrap())
    );
    assert_eq!(
        request(&["--kernel", kernel.to_str().unwrap(), "busybox"]).unwrap_err(),
        "--kernel is only for a --vm container"
    );
    assert!(
        request(&["--vm", "--kernel", "/no/such/vmlinux", "busybox"])
            .unwrap_err()
            .starts_with("--kernel /no/such/vmlinux: ")
    );
}
