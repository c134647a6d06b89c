//! The CLI as Docker users type it: every management-command form (`berth container VERB`,
//! `berth image VERB`, ...) beside the short forms, `berth diff`, and `berth completion`.
mod common;

use std::process::Command;

use common::{berth_bin, required_env};

/// `berth ARGS --help` succeeds: the form exists and parses.
fn form_exists(args: &[&str]) -> bool {
    let out = Command::new(berth_bin())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn every_management_command_form_exists() {
    let container_verbs = [
        "run", "create", "start", "stop", "restart", "kill", "rm", "remove", "logs", "exec",
        "attach", "cp", "top", "stats", "port", "pause", "unpause", "rename", "wait", "diff", "ls",
        "list", "ps", "inspect", "prune", "commit", "export", "update",
    ];
    let image_verbs = [
        "build", "history", "import", "inspect", "load", "ls", "list", "pull", "push", "rm",
        "remove", "prune", "save", "tag",
    ];
    let network_verbs = [
        "connect",
        "create",
        "disconnect",
        "inspect",
        "ls",
        "prune",
        "rm",
    ];
    let volume_verbs = ["create", "inspect", "ls", "prune", "rm"];
    let system_verbs = ["df", "events", "prune"];
    let builder_verbs = ["build", "prune"];
    let mut missing = Vec::new();
    for (group, verbs) in [
        ("container", &container_verbs[..]),
        ("image", &image_verbs[..]),
        ("network", &network_verbs[..]),
        ("volume", &volume_verbs[..]),
        ("system", &system_verbs[..]),
        ("builder", &builder_verbs[..]),
    ] {
        for verb in verbs {
            if !form_exists(&[group, verb]) {
                missing.push(format!("{group} {verb}"));
            }
        }
    }
    // The short forms stay.
    for verb in [
        "run",
        "create",
        "start",
        "stop",
        "restart",
        "kill",
        "rm",
        "logs",
        "exec",
        "attach",
        "cp",
        "top",
        "stats",
        "port",
        "pause",
        "unpause",
        "rename",
        "wait",
        "diff",
        "ps",
        "inspect",
        "commit",
        "export",
        "update",
        "build",
        "history",
        "import",
        "load",
        "pull",
        "push",
        "save",
        "tag",
        "images",
        "rmi",
        "events",
        "completion",
    ] {
        if !form_exists(&[verb]) {
            missing.push(verb.to_string());
        }
    }
    assert!(missing.is_empty(), "missing command forms: {missing:?}");
}

#[test]
fn management_forms_drive_the_same_engine_calls_as_the_short_forms() {
    let env = required_env();
    env.image("bb", &["CMD [\"sh\"]"]);
    env.ok(&[
        "container",
        "run",
        "--network",
        "none",
        "--name",
        "c1",
        "bb",
        "sh",
        "-c",
        "echo hello; touch /added; rm /bin/wc; echo x >> /etc/passwd",
    ]);
    assert_eq!(env.ok(&["container", "logs", "c1"]), "hello\n");
    let listed = env.ok(&["container", "ls", "-a", "--format", "{{.Names}}"]);
    assert_eq!(listed, "c1\n");
    assert_eq!(
        env.ok(&["container", "list", "-aq"]),
        env.ok(&["ps", "-aq"])
    );

    // `diff` in both forms: Docker's A/C/D marks, parents of changed paths marked C.
    let diff = env.ok(&["container", "diff", "c1"]);
    assert_eq!(diff, env.ok(&["diff", "c1"]));
    let lines: Vec<&str> = diff.lines().collect();
    for expected in ["A /added", "D /bin/wc", "C /etc/passwd", "C /etc", "C /bin"] {
        assert!(lines.contains(&expected), "{expected:?} not in {lines:?}");
    }

    // `container inspect` only looks at containers: an image's name is not one.
    let r = env.berth(&["container", "inspect", "bb"]);
    assert_ne!(r.code, 0, "container inspect found the image: {}", r.stdout);
    assert!(r.stderr.contains("No such container"), "{}", r.stderr);
    let state = env.ok(&["container", "inspect", "-f", "{{.State.ExitCode}}", "c1"]);
    assert_eq!(state, "0\n");

    // Image forms.
    env.ok(&["image", "tag", "bb", "bb:two"]);
    let tags = env.ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        tags.contains("bb:two") && tags.contains("bb:latest"),
        "{tags}"
    );
    env.ok(&["image", "rm", "bb:two"]);
    let r = env.berth(&["image", "inspect", "bb:two"]);
    assert_ne!(r.code, 0);
    assert_eq!(
        env.ok(&["image", "inspect", "-f", "{{.Config.Cmd}}", "bb"]),
        "[sh]\n"
    );

    env.ok(&["container", "rm", "c1"]);
    assert_eq!(env.ok(&["ps", "-aq"]), "");
}

#[test]
fn diff_of_a_missing_container_is_an_error_naming_it() {
    let env = required_env();
    let r = env.berth(&["diff", "nope"]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No such container: nope"), "{}", r.stderr);
}

#[test]
fn completion_scripts_complete_verbs_and_flags() {
    let script = Command::new(berth_bin())
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let script = String::from_utf8(script.stdout).unwrap();
    // Sourced into bash, the completion function offers the verbs for a prefix, as a user
    // pressing TAB after `berth cont` and `berth container ru` would see.
    let dir = tempfile::tempdir().unwrap();
    let script_file = dir.path().join("berth.bash");
    std::fs::write(&script_file, &script).unwrap();
    let complete = |words: &str, cword: usize| -> String {
        // bash calls a completion function with the command, the word being completed and the
        // word before it.
        let probe = format!(
            ". {}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; \
             _berth berth \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script_file.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &probe])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let offered = complete("berth cont", 1);
    assert!(offered.lines().any(|w| w == "container"), "{offered}");
    let offered = complete("berth container ru", 2);
    assert!(offered.lines().any(|w| w == "run"), "{offered}");
    let offered = complete("berth run --netw", 2);
    assert!(offered.lines().any(|w| w == "--network"), "{offered}");

    for (shell, marker) in [("zsh", "#compdef berth"), ("fish", "complete -c berth")] {
        let out = Command::new(berth_bin())
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..200.min(text.len())]
        );
        assert!(text.contains("container"), "{shell} script lacks the verbs");
    }
    let bad = Command::new(berth_bin())
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(125));
}
