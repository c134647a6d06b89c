//! Loading whole projects from files in a temporary directory.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        cwd: dir.to_path_buf(),
        environ: BTreeMap::new(),
        ..LoadOptions::default()
    }
}

fn load_ok(o: &LoadOptions) -> Project {
    load(o, &mut |_| {}).unwrap()
}

#[test]
fn the_file_is_found_upward_and_the_name_comes_from_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("My.Shop_1");
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    write(
        &root,
        "docker-compose.yml",
        "services:\n  web:\n    image: busybox\n",
    );
    write(
        &root,
        "compose.override.yaml",
        "services:\n  web:\n    user: nobody\n",
    );
    let p = load_ok(&opts(&root.join("sub/deeper")));
    assert_eq!(p.name, "myshop_1");
    assert_eq!(p.config_files.len(), 2);
    assert_eq!(p.services["web"].user.as_deref(), Some("nobody"));
    assert_eq!(p.networks["default"].name, "myshop_1_default");
}

#[test]
fn project_name_precedence_is_flag_then_environment_then_name_key() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "name: From_File\nservices:\n  a:\n    image: x\n",
    );
    let mut o = opts(tmp.path());
    assert_eq!(load_ok(&o).name, "from_file");
    o.environ
        .insert("COMPOSE_PROJECT_NAME".into(), "fromenv".into());
    assert_eq!(load_ok(&o).name, "fromenv");
    o.project_name = Some("flag".into());
    assert_eq!(load_ok(&o).name, "flag");
    o.project_name = Some("Bad Name".into());
    assert!(matches!(load(&o, &mut |_| {}), Err(Error::Project(_))));
}

#[test]
fn dot_env_and_env_files_feed_interpolation_under_the_process_environment() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: \"${IMG}:${TAG:-latest}\"\n    environment:\n      - FROM_SHELL\n      - LIT=$$HOME\n",
    );
    write(tmp.path(), ".env", "IMG=\"from-dotenv\"\nTAG=1\n");
    write(tmp.path(), "other.env", "IMG=from-other\n");
    let mut o = opts(tmp.path());
    o.environ.insert("TAG".into(), "2".into());
    o.environ.insert("FROM_SHELL".into(), "s".into());
    let p = load_ok(&o);
    assert_eq!(p.services["a"].image.as_deref(), Some("from-dotenv:2"));
    assert_eq!(
        p.services["a"].environment["FROM_SHELL"].as_deref(),
        Some("s")
    );
    assert_eq!(p.services["a"].environment["LIT"].as_deref(), Some("$HOME"));
    o.env_files = vec!["other.env".into()];
    assert_eq!(
        load_ok(&o).services["a"].image.as_deref(),
        Some("from-other:2")
    );
}

#[test]
fn a_missing_required_variable_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    environment:\n      DB: ${DB_URL:?set DB_URL}\n",
    );
    let e = load(&opts(tmp.path()), &mut |_| {}).unwrap_err();
    let text = e.to_string();
    assert!(
        text.ends_with(
            "compose.yaml:5:11: services.a.environment.DB: required variable DB_URL is missing a value: set DB_URL"
        ),
        "{text}"
    );
    assert_eq!(e.exit_code(), 15);
}

#[test]
fn bad_yaml_and_bad_values_point_at_their_place() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: [x\n   b: c\n",
    );
    let e = load(&opts(tmp.path()), &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::Yaml { line: 4, .. }), "{e}");
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: x\n    ports:\n      - 80\n      - \"http:80\"\n",
    );
    let e = load(&opts(tmp.path()), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("compose.yaml:6:9: services.a.ports[1]"), "{e}");
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: x\n    colour: red\n",
    );
    let e = load(&opts(tmp.path()), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "compose.yaml:4:13: services.a.colour: additional property colour is not allowed"
        ),
        "{e}"
    );
}

#[test]
fn profiles_enable_services_from_the_flag_or_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  app:\n    image: x\n  debug:\n    image: x\n    profiles: [debug]\n  all:\n    image: x\n    profiles: ['*']\n",
    );
    let mut o = opts(tmp.path());
    let names = |p: &Project| p.services.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&load_ok(&o)), ["app", "all"]);
    o.environ.insert("COMPOSE_PROFILES".into(), "debug".into());
    assert_eq!(names(&load_ok(&o)), ["app", "debug", "all"]);
    o.environ.clear();
    o.profiles = vec!["debug".into()];
    assert_eq!(names(&load_ok(&o)), ["app", "debug", "all"]);
}

#[test]
fn extends_in_the_same_file_and_another_with_anchors_and_merge_keys() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("common")).unwrap();
    write(
        &tmp.path().join("common"),
        "base.yaml",
        "services:\n  base:\n    image: busybox\n    env_file: base.env\n    environment: [A=1, B=1]\n",
    );
    write(&tmp.path().join("common"), "base.env", "FROM_FILE=yes\n");
    write(
        tmp.path(),
        "compose.yaml",
        concat!(
            "x-defaults: &defaults\n  restart: always\n  labels: {tier: back}\n",
            "services:\n",
            "  mid:\n    extends: {file: common/base.yaml, service: base}\n    environment: {B: 2}\n",
            "  top:\n    <<: *defaults\n    extends: mid\n    command: [sh, -c, 'exit 0']\n",
        ),
    );
    let p = load_ok(&opts(tmp.path()));
    let top = &p.services["top"];
    assert_eq!(top.image.as_deref(), Some("busybox"));
    assert_eq!(top.restart.as_deref(), Some("always"));
    assert_eq!(top.labels["tier"], "back");
    assert_eq!(top.environment["A"].as_deref(), Some("1"));
    assert_eq!(top.environment["B"].as_deref(), Some("2"));
    assert_eq!(top.environment["FROM_FILE"].as_deref(), Some("yes"));
    assert_eq!(p.extensions["x-defaults"]["restart"], "always");
}

#[test]
fn several_files_merge_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.yaml",
        "services:\n  web:\n    image: one\n    ports: ['80:80']\n    command: [a, b]\n",
    );
    write(
        tmp.path(),
        "b.yaml",
        "services:\n  web:\n    image: two\n    ports: ['443:443']\n    command: [c]\nvolumes:\n  data:\n",
    );
    let mut o = opts(tmp.path());
    o.files = vec!["a.yaml".into(), "b.yaml".into()];
    let p = load_ok(&o);
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("two"));
    assert_eq!(web.command.as_deref(), Some(&["c".to_string()][..]));
    assert_eq!(web.ports.len(), 2);
    assert_eq!(p.volumes["data"].name, format!("{}_data", p.name));
}

#[test]
fn undefined_references_and_cycles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let check = |text: &str, want: &str| {
        write(tmp.path(), "compose.yaml", text);
        let e = load(&opts(tmp.path()), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
    };
    check(
        "services:\n  a:\n    image: x\n    networks: [front]\n",
        "refers to undefined network front",
    );
    check(
        "services:\n  a:\n    image: x\n    volumes: ['data:/d']\n",
        "refers to undefined volume data",
    );
    check(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
        "dependency cycle detected: a -> b -> a",
    );
}

#[test]
fn include_brings_in_another_projects_services_with_their_own_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    write(&lib, "db.env", "DB_MODE=replica\n");
    write(
        &lib,
        "compose.yaml",
        "services:\n  db:\n    image: x\n    env_file: db.env\n    volumes: ['./data:/data']\nvolumes:\n  cache:\n",
    );
    write(
        tmp.path(),
        "compose.yaml",
        "include:\n  - lib/compose.yaml\nservices:\n  web:\n    image: x\n    depends_on: [db]\n",
    );
    let p = load_ok(&opts(tmp.path()));
    assert_eq!(
        p.services.keys().cloned().collect::<Vec<_>>(),
        ["web", "db"]
    );
    let db = &p.services["db"];
    assert_eq!(db.environment["DB_MODE"].as_deref(), Some("replica"));
    assert_eq!(db.volumes[0].source, lib.join("data").display().to_string());
    assert!(p.volumes.contains_key("cache"));

    write(
        tmp.path(),
        "compose.yaml",
        "include:\n  - lib/compose.yaml\nservices:\n  db:\n    image: y\n",
    );
    let e = load(&opts(tmp.path()), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("services.db conflicts with imported resource"),
        "{e}"
    );
}
