//! `--filter` on every verb that takes one (images, ps, volume ls/prune, network ls/prune,
//! events, container/image/system prune) and `filters=` on the API: each filter does what
//! dockerd's does, values of one key are alternatives, keys all apply, and a key or value the
//! daemon does not know is an error (exit 1, or 125 for one without `=`), never ignored.
mod common;

use common::http::{encoded, http};
use common::required_env;

use common::Env;

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:")[..12].to_string()
}

/// Output lines, sorted.
fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Asserts that `args` fails with `code` and says `message`.
fn fails(env: &Env, args: &[&str], code: i32, message: &str) {
    let r = env.berth(args);
    assert_eq!(r.code, code, "berth {args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(message), "berth {args:?}: {}", r.stderr);
    assert!(r.stdout.is_empty(), "berth {args:?} printed {}", r.stdout);
}

/// `images -f`: the line from Docker's docs, `rmi $(images -q -f dangling=true)`, removes the
/// dangling image only; every other filter narrows the list; bad filters are errors.
#[test]
fn images_filters_and_rmi_of_the_dangling_ones_keeps_tagged_images() {
    let env = required_env();
    // Importing over a tag leaves the first image dangling.
    let dangling = env.image("app", &[]);
    let tagged = env.image("app", &["LABEL tier=db"]);
    let keep = env.image("keep:v1", &["LABEL tier=web", "LABEL extra=1"]);
    assert_eq!(lines(&env.ok(&["images", "-q"])).len(), 3);

    assert_eq!(
        env.ok(&["images", "-q", "-f", "dangling=true"]),
        format!("{}\n", short(&dangling))
    );
    let listed = env.ok(&["images", "-q", "--filter", "dangling=true"]);
    let mut rmi = vec!["rmi"];
    rmi.extend(listed.split_whitespace());
    env.ok(&rmi);
    assert_eq!(
        lines(&env.ok(&["images", "-q", "--no-trunc"])),
        sorted(&[&tagged, &keep])
    );
    assert_eq!(env.ok(&["images", "-q", "-f", "dangling=true"]), "");
    assert_eq!(
        lines(&env.ok(&["images", "-q", "--no-trunc", "-f", "dangling=false"])),
        sorted(&[&tagged, &keep])
    );

    // reference: a glob on repository[:tag]; only the matching names are listed.
    env.ok(&["tag", "app", "other/name:v2"]);
    let names = |filters: &[&str]| {
        let mut args = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        lines(&env.ok(&args))
    };
    assert_eq!(names(&["reference=kee*"]), ["keep:v1"]);
    assert_eq!(names(&["reference=other/*"]), ["other/name:v2"]);
    assert_eq!(names(&["reference=*:v*"]), ["keep:v1"]);
    assert_eq!(
        names(&["reference=app", "reference=keep"]),
        ["app:latest", "keep:v1"]
    );
    assert_eq!(
        lines(&env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", "app"])),
        ["app:latest"]
    );
    // label: K or K=V, all must hold; label!: none may.
    assert_eq!(names(&["label=tier=web"]), ["keep:v1"]);
    assert_eq!(names(&["label=tier", "label=extra=1"]), ["keep:v1"]);
    assert_eq!(
        names(&["label=tier", "label!=extra"]),
        ["app:latest", "other/name:v2"]
    );
    // before/since another image; until a time.
    assert_eq!(names(&["before=keep:v1"]), ["app:latest", "other/name:v2"]);
    assert_eq!(names(&["since=app"]), ["keep:v1"]);
    assert_eq!(names(&["until=2000-01-01"]), Vec::<String>::new());
    let later = format!("until={}", chrono::Utc::now().timestamp() + 60);
    assert_eq!(names(&[&later]).len(), 3);
    // Different keys AND'ed.
    assert_eq!(
        names(&["dangling=false", "label=tier=db"]),
        ["app:latest", "other/name:v2"]
    );

    fails(
        &env,
        &["images", "-q", "-f", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    fails(
        &env,
        &["images", "-f", "dangling=maybe"],
        1,
        "Invalid filter 'dangling=maybe'",
    );
    fails(
        &env,
        &["images", "-f", "before=nosuchimage"],
        1,
        "No such image: nosuchimage",
    );
    fails(
        &env,
        &["images", "-f", "since=nosuchimage"],
        1,
        "No such image: nosuchimage",
    );
    fails(
        &env,
        &["images", "-f", "dangling"],
        125,
        "bad format of filter (expected name=value)",
    );
    assert_eq!(
        lines(&env.ok(&["images", "-q"])).len(),
        2,
        "nothing removed"
    );
}

/// The API lists images through the same engine function: every filter, the same errors
/// (400, and 404 for a missing before/since image).
#[test]
fn image_filters_through_the_api() {
    let env = required_env();
    let dangling = env.image("app", &[]);
    let tagged = env.image("app", &["LABEL tier=db"]);
    let keep = env.image("keep:v1", &[]);
    let (command, socket) = env.serve_command();
    let _server = common::serve::Serve::start(command, socket.clone());
    let list = |filters: &str| {
        let (status, body) = http(
            &socket,
            "GET",
            &format!("/images/json?filters={}", encoded(filters)),
            "",
        );
        (status, body)
    };
    let ids = |filters: &str| {
        let (status, body) = list(filters);
        assert_eq!(status, 200, "{filters}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut ids: Vec<String> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["Id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(r#"{"dangling":["true"]}"#), vec![dangling.clone()]);
    assert_eq!(
        ids(r#"{"before":["keep:v1"]}"#),
        sorted(&[&dangling, &tagged])
    );
    assert_eq!(ids(r#"{"since":{"app":true}}"#), vec![keep.clone()]);
    assert_eq!(ids(r#"{"label":["tier=db"]}"#), vec![tagged.clone()]);
    let (status, body) = list(r#"{"bogus":["1"]}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid filter 'bogus'"), "{body}");
    let (status, body) = list(r#"{"before":["nosuchimage"]}"#);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("No such image: nosuchimage"), "{body}");
    let (status, body) = list(r#"{"dangling":["maybe"]}"#);
    assert_eq!(status, 400, "{body}");
    // Prunes check their keys too: container prune has no dangling filter.
    let (status, body) = http(
        &socket,
        "POST",
        &format!(
            "/containers/prune?filters={}",
            encoded(r#"{"dangling":["true"]}"#)
        ),
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid filter 'dangling'"), "{body}");
}

/// `ps -f`: every dockerd filter, alternatives within a key, all keys at once.
#[test]
fn ps_filters() {
    let env = required_env();
    env.image("bb", &[]);
    env.ok(&[
        "create",
        "--name",
        "one",
        "--label",
        "x=1",
        "--label",
        "y",
        "--network",
        "none",
        "bb:latest",
        "true",
    ]);
    env.ok(&[
        "create",
        "--name",
        "two",
        "--label",
        "x=1",
        "--network",
        "none",
        "-v",
        "vol1:/data",
        "bb",
        "true",
    ]);
    let r = env.berth(&[
        "run",
        "--name",
        "three",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "echo x > /f; exit 3",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // An image built on bb: its containers have bb as an ancestor.
    env.ok(&["commit", "three", "child"]);
    env.ok(&[
        "create",
        "--name",
        "four",
        "--network",
        "none",
        "child",
        "true",
    ]);
    let ps = |filters: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        lines(&env.ok(&args))
    };
    assert_eq!(ps(&[]).len(), 4);
    // Values of one key are alternatives.
    assert_eq!(ps(&["status=exited", "status=created"]).len(), 4);
    assert_eq!(ps(&["name=one", "name=two"]), ["one", "two"]);
    // Keys all apply; label values must all hold.
    assert_eq!(ps(&["label=x=1"]), ["one", "two"]);
    assert_eq!(ps(&["label=x=1", "label=y"]), ["one"]);
    assert_eq!(ps(&["label=x=1", "name=two"]), ["two"]);
    // name and id as dockerd matches them: equal, or an expression found in them.
    assert_eq!(ps(&["name=^t"]), ["three", "two"]);
    assert_eq!(ps(&["name=^/one$"]), ["one"]);
    assert_eq!(ps(&["name=e$"]), ["one", "three"]);
    let id = env.ok(&["ps", "-aq", "--no-trunc", "-f", "name=^one$"]);
    assert_eq!(ps(&[&format!("id={}", &id.trim()[..10])]), ["one"]);
    // status implies -a.
    assert_eq!(
        lines(&env.ok(&["ps", "--format", "{{.Names}}", "-f", "status=exited"])),
        ["three"]
    );
    assert_eq!(ps(&["exited=3"]), ["three"]);
    assert_eq!(ps(&["exited=0"]), Vec::<String>::new());
    assert_eq!(ps(&["before=three"]), ["one", "two"]);
    assert_eq!(ps(&["since=two"]), ["four", "three"]);
    assert_eq!(ps(&["since=one", "before=three"]), ["two"]);
    assert_eq!(ps(&["volume=vol1"]), ["two"]);
    assert_eq!(ps(&["volume=/data"]), ["two"]);
    assert_eq!(ps(&["network=none"]).len(), 4);
    assert_eq!(ps(&["network=nosuch"]), Vec::<String>::new());
    assert_eq!(ps(&["ancestor=bb"]).len(), 4);
    assert_eq!(ps(&["ancestor=child"]), ["four"]);
    assert_eq!(ps(&["ancestor=nosuchimage"]), Vec::<String>::new());
    assert_eq!(ps(&["health=none"]).len(), 4);
    assert_eq!(ps(&["is-task=false"]).len(), 4);
    assert_eq!(ps(&["is-task=true"]), Vec::<String>::new());
    assert_eq!(ps(&["isolation=default"]).len(), 4);
    assert_eq!(ps(&["publish=80"]), Vec::<String>::new());

    fails(&env, &["ps", "-f", "bogus=1"], 1, "invalid filter 'bogus'");
    fails(
        &env,
        &["ps", "-f", "status=sleeping"],
        1,
        "Invalid filter 'status=sleeping'",
    );
    fails(
        &env,
        &["ps", "-f", "before=nosuch"],
        1,
        "No such container: nosuch",
    );
    fails(
        &env,
        &["ps", "-f", "exited=x"],
        1,
        "Invalid filter 'exited=x'",
    );
    fails(
        &env,
        &["ps", "-f", "publish=80:80"],
        1,
        "should not contain ':'",
    );
    fails(
        &env,
        &["ps", "-f", "is-task=maybe"],
        1,
        "Invalid filter 'is-task=maybe'",
    );
    fails(&env, &["ps", "-f", "name"], 125, "bad format of filter");
}

/// `volume ls -f` and `volume prune --filter`.
#[test]
fn volume_filters() {
    let env = required_env();
    env.ok(&[
        "volume", "create", "--label", "a", "--label", "b=2", "vol-one",
    ]);
    env.ok(&["volume", "create", "--label", "a", "vol-two"]);
    env.ok(&["volume", "create", "--label", "keep", "other"]);
    let ls = |filters: &[&str]| {
        let mut args = vec!["volume", "ls", "-q"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        lines(&env.ok(&args))
    };
    assert_eq!(ls(&["name=vol-one", "name=other"]), ["other", "vol-one"]);
    assert_eq!(ls(&["name=^vol-"]), ["vol-one", "vol-two"]);
    assert_eq!(ls(&["label=a", "label=b=2"]), ["vol-one"]);
    assert_eq!(ls(&["label=a", "name=two"]), ["vol-two"]);
    assert_eq!(ls(&["driver=local"]).len(), 3);
    assert_eq!(ls(&["driver=other"]), Vec::<String>::new());
    assert_eq!(ls(&["dangling=true"]).len(), 3);
    fails(
        &env,
        &["volume", "ls", "-f", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    // dockerd lists by label only; label! is a prune filter.
    fails(
        &env,
        &["volume", "ls", "-f", "label!=a"],
        1,
        "invalid filter 'label!'",
    );
    fails(
        &env,
        &["volume", "ls", "-f", "dangling=maybe"],
        1,
        "Invalid filter 'dangling=maybe'",
    );

    fails(
        &env,
        &["volume", "prune", "-f", "--filter", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    fails(
        &env,
        &["volume", "prune", "-f", "--filter", "until=1h"],
        1,
        "invalid filter 'until'",
    );
    assert_eq!(ls(&[]).len(), 3, "nothing pruned");
    // all=true widens it to named volumes; label / label! narrow it.
    let out = env.ok(&[
        "volume",
        "prune",
        "-f",
        "--filter",
        "all=true",
        "--filter",
        "label=a",
        "--filter",
        "label!=b=2",
    ]);
    assert!(out.contains("vol-two"), "{out}");
    assert_eq!(ls(&[]), ["other", "vol-one"]);
    let out = env.ok(&["volume", "prune", "-af", "--filter", "label!=keep"]);
    assert!(out.contains("vol-one") && !out.contains("other"), "{out}");
    assert_eq!(ls(&[]), ["other"]);
}

/// `network ls -f` and `network prune --filter`.
#[test]
fn network_filters() {
    let env = required_env();
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.247.1.0/24",
        "--label",
        "p=1",
        "fnet-one",
    ]);
    env.ok(&["network", "create", "--subnet", "10.247.2.0/24", "fnet-two"]);
    let ls = |filters: &[&str]| {
        let mut args = vec!["network", "ls", "--format", "{{.Name}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        lines(&env.ok(&args))
    };
    assert_eq!(ls(&["type=custom"]), ["fnet-one", "fnet-two"]);
    assert_eq!(ls(&["label=p=1"]), ["fnet-one"]);
    assert_eq!(
        ls(&["name=fnet-one", "name=fnet-two"]),
        ["fnet-one", "fnet-two"]
    );
    assert_eq!(ls(&["type=custom", "label=p"]), ["fnet-one"]);
    fails(
        &env,
        &["network", "ls", "-f", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    fails(
        &env,
        &["network", "ls", "-f", "type=weird"],
        1,
        "invalid filter",
    );
    fails(
        &env,
        &["network", "ls", "-f", "dangling=maybe"],
        1,
        "Invalid filter 'dangling=maybe'",
    );
    fails(
        &env,
        &["network", "prune", "-f", "--filter", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    fails(
        &env,
        &["network", "prune", "-f", "--filter", "dangling=true"],
        1,
        "invalid filter 'dangling'",
    );
    assert_eq!(ls(&["type=custom"]).len(), 2, "nothing pruned");
    let out = env.ok(&["network", "prune", "-f", "--filter", "label=p=1"]);
    assert_eq!(out, "Deleted Networks:\nfnet-one\n", "{out}");
    assert_eq!(ls(&["type=custom"]), ["fnet-two"]);
    let out = env.ok(&["network", "prune", "-f", "--filter", "until=2000-01-01"]);
    assert_eq!(out, "", "{out}");
    env.ok(&["network", "rm", "fnet-two"]);
}

/// `events -f` over a past window.
#[test]
fn event_filters() {
    let env = required_env();
    env.image("bb", &[]);
    // Docker's `seconds.nanoseconds`: the image import just before is outside the window.
    let stamp = |t: chrono::DateTime<chrono::Utc>| {
        format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
    };
    let since = stamp(chrono::Utc::now());
    env.ok(&[
        "create",
        "--name",
        "evone",
        "--label",
        "x=1",
        "--label",
        "y",
        "--network",
        "none",
        "bb:latest",
        "true",
    ]);
    env.ok(&[
        "create",
        "--name",
        "evtwo",
        "--label",
        "x=1",
        "--network",
        "none",
        "bb:latest",
        "true",
    ]);
    env.ok(&["volume", "create", "evvol"]);
    let until = stamp(chrono::Utc::now() + chrono::Duration::milliseconds(500));
    let events = |filters: &[&str]| {
        let mut args = vec![
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ];
        for f in filters {
            args.extend(["--filter", f]);
        }
        // Go templates print a missing attribute (a volume's name) as "<no value>".
        lines(&env.ok(&args).replace(" <no value>", ""))
    };
    assert_eq!(
        events(&["container=evone", "container=evtwo"]),
        ["container create evone", "container create evtwo"]
    );
    // An image filter matches the image a container came from, with or without its tag.
    assert_eq!(events(&["image=bb"]).len(), 2);
    assert_eq!(events(&["image=bb:latest"]).len(), 2);
    // Labels (a container event carries its container's): every one must hold.
    assert_eq!(
        events(&["label=x=1", "label=y"]),
        ["container create evone"]
    );
    assert_eq!(events(&["type=volume"]), ["volume create"]);
    assert_eq!(events(&["volume=evvol"]), ["volume create"]);
    assert_eq!(
        events(&["type=volume", "event=destroy"]),
        Vec::<String>::new()
    );
    assert_eq!(events(&["scope=local"]).len(), 3);
    fails(
        &env,
        &[
            "events", "--since", &since, "--until", &until, "-f", "bogus=1",
        ],
        1,
        "invalid filter 'bogus'",
    );
    // Not a dockerd key: `event` is.
    fails(
        &env,
        &[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "-f",
            "action=create",
        ],
        1,
        "invalid filter 'action'",
    );
    fails(
        &env,
        &["events", "--since", &since, "--until", &until, "-f", "type"],
        125,
        "bad format of filter",
    );
}

/// The prunes refuse a key they do not know before removing anything: `container prune
/// --filter dangling=true` once removed every stopped container.
#[test]
fn prune_filters_are_checked_per_prune() {
    let env = required_env();
    env.image("bb", &[]);
    env.image("old", &["LABEL keep=1"]);
    env.ok(&[
        "create",
        "--name",
        "kept",
        "--label",
        "keep=1",
        "--network",
        "none",
        "bb",
        "true",
    ]);
    env.ok(&[
        "create",
        "--name",
        "gone",
        "--network",
        "none",
        "bb",
        "true",
    ]);
    let names = || lines(&env.ok(&["ps", "-a", "--format", "{{.Names}}"]));

    for args in [
        &["container", "prune", "-f", "--filter", "dangling=true"][..],
        &["container", "prune", "-f", "--filter", "bogus=1"],
        &["system", "prune", "-f", "--filter", "dangling=true"],
        &["system", "prune", "-af", "--filter", "bogus=1"],
    ] {
        let r = env.berth(args);
        assert_eq!(r.code, 1, "berth {args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("invalid filter '"),
            "{args:?}: {}",
            r.stderr
        );
    }
    fails(
        &env,
        &["image", "prune", "-af", "--filter", "bogus=1"],
        1,
        "invalid filter 'bogus'",
    );
    fails(
        &env,
        &["image", "prune", "-f", "--filter", "dangling=maybe"],
        1,
        "Invalid filter 'dangling=maybe'",
    );
    fails(
        &env,
        &[
            "container",
            "prune",
            "-f",
            "--filter",
            "until=1h",
            "--filter",
            "until=2h",
        ],
        1,
        "more than one until filter",
    );
    fails(
        &env,
        &["system", "prune", "-f", "--volumes", "--filter", "until=1h"],
        1,
        "The \"until\" filter is not supported with \"--volumes\"",
    );
    fails(
        &env,
        &["container", "prune", "-f", "--filter", "label"],
        125,
        "bad format of filter",
    );
    assert_eq!(names(), ["gone", "kept"], "nothing pruned");
    assert_eq!(lines(&env.ok(&["images", "-q"])).len(), 2);

    // label! keeps what carries the label.
    let out = env.ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert_eq!(names(), ["kept"]);
    env.ok(&["rm", "kept"]);
    let out = env.ok(&["image", "prune", "-af", "--filter", "label!=keep"]);
    assert!(out.contains("untagged: bb:latest"), "{out}");
    assert_eq!(
        lines(&env.ok(&["images", "--format", "{{.Repository}}"])),
        ["old"]
    );
}
