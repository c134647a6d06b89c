//! The `--format` engine against the outputs of the docker CLI.

use super::*;
use serde_json::json;

fn ps_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("RunningFor", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Status", "STATUS"),
        ("Ports", "PORTS"),
        ("Names", "NAMES"),
    ]
}

fn r(fmt: &str, rows: &[serde_json::Value]) -> String {
    render(fmt, rows, &ps_headers()).unwrap()
}

#[test]
fn table_header_and_alignment() {
    let rows = vec![
        json!({"ID": "abc123def456", "Names": "web", "Image": "nginx", "Status": "Up 2 minutes"}),
        json!({"ID": "0123456789ab", "Names": "a-much-longer-name", "Image": "alpine:3.19", "Status": "Exited (0) 3 seconds ago"}),
    ];
    let out = r("table {{.ID}}\\t{{.Image}}\\t{{.Names}}", &rows);
    assert_eq!(
        out,
        "CONTAINER ID   IMAGE         NAMES\n\
         abc123def456   nginx         web\n\
         0123456789ab   alpine:3.19   a-much-longer-name\n"
    );
    // Unknown header falls back to the upper-cased field name; minwidth 10.
    let out = r(
        "table {{.Foo}}\t{{.Names}}",
        &[json!({"Foo": "x", "Names": "n"})],
    );
    assert_eq!(out, "FOO       NAMES\nx         n\n");
    // CreatedAt / RunningFor headers, and header printed with no rows.
    let out = r("table {{.RunningFor}}\t{{.CreatedAt}}\t{{.Status}}", &[]);
    assert_eq!(out, "CREATED   CREATED AT   STATUS\n");
}

#[test]
fn align_table_like_tabwriter() {
    let lines: Vec<String> = vec![
        "A\tBB\tC".into(),
        "aaaaaaaaaaaa\tb\tc".into(),
        "single".into(),
        "x\ty".into(),
    ];
    assert_eq!(
        align_table(&lines),
        "A              BB        C\n\
         aaaaaaaaaaaa   b         c\n\
         single\n\
         x         y\n"
    );
    // Column blocks: a shorter line ends the block for later columns.
    let lines: Vec<String> = vec!["a\tb\tc".into(), "a\t".into(), "aa\tcccccccccccc\td".into()];
    assert_eq!(
        align_table(&lines),
        "a         b         c\n\
         a         \n\
         aa        cccccccccccc   d\n"
    );
}

#[test]
fn plain_field_and_nested() {
    let rows = vec![json!({"Names": "web"}), json!({"Names": "db"})];
    assert_eq!(r("{{.Names}}", &rows), "web\ndb\n");
    let doc = json!({"State": {"Status": "running", "Pid": 42}, "Config": {"Env": ["A=1", "B=2"]}});
    assert_eq!(
        r(
            "{{.State.Status}} {{.State.Pid}}",
            std::slice::from_ref(&doc)
        ),
        "running 42\n"
    );
    assert_eq!(
        r("{{.Config.Env}}", std::slice::from_ref(&doc)),
        "[A=1 B=2]\n"
    );
    assert_eq!(
        r("{{.Names}}\\t{{.Names}}\\n", &[json!({"Names": "x"})]),
        "x\tx\n\n"
    );
}

#[test]
fn json_func_and_json_format() {
    let doc = json!({"Config": {"Image": "nginx", "Cmd": ["a", "<b>"], "Tty": false, "Labels": null, "N": 1.5}});
    assert_eq!(
        r("{{json .Config}}", std::slice::from_ref(&doc)),
        "{\"Cmd\":[\"a\",\"<b>\"],\"Image\":\"nginx\",\"Labels\":null,\"N\":1.5,\"Tty\":false}\n"
    );
    assert_eq!(
        r("{{json .Config.Image}}", std::slice::from_ref(&doc)),
        "\"nginx\"\n"
    );
    let rows = vec![
        json!({"ID": "a", "Names": "x"}),
        json!({"ID": "b", "Names": "y"}),
    ];
    assert_eq!(
        r("json", &rows),
        "{\"ID\":\"a\",\"Names\":\"x\"}\n{\"ID\":\"b\",\"Names\":\"y\"}\n"
    );
    assert_eq!(
        r("{{json .}}", &rows[..1]),
        "{\"ID\":\"a\",\"Names\":\"x\"}\n"
    );
}

#[test]
fn index_range_join_funcs() {
    let doc = json!({
        "Labels": {"a": "1", "b.c": "2"},
        "Mounts": [{"Source": "/s1", "Destination": "/d1"}, {"Source": "/s2", "Destination": "/d2"}],
        "Args": ["-c", "echo hi"],
        "Empty": [],
        "Image": "docker.io/library/nginx:latest",
    });
    assert_eq!(
        r("{{index .Labels \"a\"}}", std::slice::from_ref(&doc)),
        "1\n"
    );
    assert_eq!(
        r("{{index .Labels \"b.c\"}}", std::slice::from_ref(&doc)),
        "2\n"
    );
    assert_eq!(
        r(
            "{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}",
            std::slice::from_ref(&doc)
        ),
        "/s1:/d1 /s2:/d2 \n"
    );
    assert_eq!(
        r(
            "{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}",
            std::slice::from_ref(&doc)
        ),
        "0=/s1;1=/s2;\n"
    );
    assert_eq!(
        r(
            "{{range .Mounts}}x{{else}}none{{end}}",
            std::slice::from_ref(&doc)
        ),
        "xx\n"
    );
    assert_eq!(
        r(
            "{{range .Empty}}x{{else}}none{{end}}",
            std::slice::from_ref(&doc)
        ),
        "none\n"
    );
    assert_eq!(
        r("{{join .Args \",\"}}", std::slice::from_ref(&doc)),
        "-c,echo hi\n"
    );
    assert_eq!(
        r("{{split .Image \":\"}}", std::slice::from_ref(&doc)),
        "[docker.io/library/nginx latest]\n"
    );
    assert_eq!(
        r(
            "{{upper \"ab\"}} {{lower \"AB\"}} {{title \"hello world\"}}",
            std::slice::from_ref(&doc)
        ),
        "AB ab Hello World\n"
    );
    assert_eq!(
        r(
            "{{truncate .Image 6}}|{{pad \"x\" 1 2}}|",
            std::slice::from_ref(&doc)
        ),
        "docker| x  |\n"
    );
    assert_eq!(
        r(
            "{{if eq (len .Args) 2}}two{{else}}other{{end}}",
            std::slice::from_ref(&doc)
        ),
        "two\n"
    );
    assert_eq!(
        r(
            "{{range .Args}}{{println .}}{{end}}",
            std::slice::from_ref(&doc)
        ),
        "-c\necho hi\n\n"
    );
    assert_eq!(
        r("{{- $x := .Image -}} {{$x}}", std::slice::from_ref(&doc)),
        "docker.io/library/nginx:latest\n"
    );
    assert_eq!(r("{{/* comment */}}ok", std::slice::from_ref(&doc)), "ok\n");
}

#[test]
fn maps_trim_and_exec_errors() {
    let doc = json!({"Config": {"Labels": {"b": "2", "a": "1"}}, "Name": "/web"});
    assert_eq!(
        r("{{.Config.Labels}}", std::slice::from_ref(&doc)),
        "map[a:1 b:2]\n"
    );
    assert_eq!(
        r(
            "{{range $k, $v := .Config.Labels}}{{if eq $k \"a\"}}{{$k}}={{$v}}{{end}}{{end}}",
            std::slice::from_ref(&doc)
        ),
        "a=1\n"
    );
    assert_eq!(
        r("x {{- .Name -}} y", std::slice::from_ref(&doc)),
        "x/weby\n"
    );
    let e = render("{{.Name.X}}", &[doc], &[]).unwrap_err();
    assert!(
        e.0.starts_with("template parsing error: template: :1: executing"),
        "{e}"
    );
}

#[test]
fn label_method() {
    let ps = json!({"Labels": "a=1,com.x=y", "Names": "n"});
    assert_eq!(r("{{.Label \"com.x\"}}|{{.Label \"nope\"}}", &[ps]), "y|\n");
    let img = json!({"Labels": {"k": "v"}});
    assert_eq!(
        r("{{if eq (.Label \"k\") \"v\"}}yes{{end}}", &[img]),
        "yes\n"
    );
}

#[test]
fn missing_key_and_nil() {
    let doc = json!({"Names": "web", "Cmd": null});
    assert_eq!(r("{{.Nope}}", std::slice::from_ref(&doc)), "<no value>\n");
    assert_eq!(r("{{.Cmd}}", std::slice::from_ref(&doc)), "<nil>\n");
    assert!(render("{{.Nope.Deeper}}", &[doc], &[]).is_err());
}

#[test]
fn syntax_errors() {
    let e = render("{{.ID}", &[json!({})], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template parsing error: template: :1: unexpected \"}\" in operand"
    );
    let e = render("{{.ID", &[json!({})], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template parsing error: template: :1: unclosed action"
    );
    let e = render("{{nosuch .ID}}", &[], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template parsing error: template: :1: function \"nosuch\" not defined"
    );
    let e = render("ok\\n{{end}}", &[], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template parsing error: template: :2: unexpected {{end}}"
    );
    let e = render("table {{.ID}", &[], &[]).unwrap_err();
    assert!(
        e.0.starts_with("template parsing error: template: :1:"),
        "{e}"
    );
}
