//! Docker CLI output formatting: `--format` Go templates, `table` output
//! aligned like Go's tabwriter, `--format json`, and the humanized
//! durations/sizes used by `ps` / `images`.
//!
//! Templates are executed by `gtmpl` (a Go text/template implementation).
//! Where gtmpl's behaviour differs from Go's, the template text is adjusted
//! before execution in ONE place: [`rewrite_template`]. See its doc comment
//! for the list of workarounds.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use gtmpl::{Context, Template, Value};
use gtmpl_value::{FuncError, Number};

/// Error for a bad `--format` template (parse or execution), worded like Docker.
#[derive(Debug)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

// Docker: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) in cli/command/formatter.
const TAB_MINWIDTH: usize = 10;
const TAB_PADDING: usize = 3;

/// Renders `--format` output for a list of rows.
///
/// * `"json"`: one compact JSON object per row.
/// * `"table ..."`: a header row (the template executed over a map of
///   field name -> header text, header text taken from `headers` or the
///   upper-cased field name), then one row per element, all aligned like
///   Docker's tabwriter. The header is printed even when `rows` is empty.
/// * anything else: the template is executed once per row, each followed
///   by a newline.
///
/// The literal two-character sequences `\t` and `\n` in `format` are turned
/// into a tab and a newline, as Docker does.
/// Prints `inspect`-style documents: through `template` when given, else as Docker's indented
/// JSON array.
pub fn print_documents(
    docs: &[serde_json::Value],
    template: Option<&str>,
) -> Result<(), FormatError> {
    match template {
        Some(template) => print!("{}", render(template, docs, &[])?),
        None => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(&docs, &mut ser).map_err(|e| FormatError(e.to_string()))?;
            println!("{}", String::from_utf8_lossy(&out));
        }
    }
    Ok(())
}

pub fn render(
    format: &str,
    rows: &[serde_json::Value],
    headers: &[(&str, &str)],
) -> Result<String, FormatError> {
    if format == "json" {
        let mut out = String::new();
        for row in rows {
            write_go_json(&mut out, row);
            out.push('\n');
        }
        return Ok(out);
    }
    let is_table = format.starts_with("table");
    let body = if is_table {
        &format["table".len()..]
    } else {
        format
    };
    let body = body
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");

    let tmpl = build_template(&body, false)?;
    let mut out = String::new();
    if is_table {
        // Docker ignores errors while rendering the header and keeps
        // whatever was produced.
        if let Ok(htmpl) = build_template(&body, true) {
            let hdata = header_data(&body, rows, headers);
            let mut buf: Vec<u8> = Vec::new();
            let _ = htmpl.execute(&mut buf, &Context::from(hdata));
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        out.push('\n');
    }
    for row in rows {
        let ctx = Context::from(json_to_value(row));
        let mut buf: Vec<u8> = Vec::new();
        tmpl.execute(&mut buf, &ctx).map_err(|e| {
            FormatError(format!(
                "template parsing error: template: :1: executing \"\": {e}"
            ))
        })?;
        out.push_str(&String::from_utf8_lossy(&buf));
        out.push('\n');
    }
    if is_table {
        Ok(tabwrite(&out))
    } else {
        Ok(out)
    }
}

/// Aligns tab-separated lines like Go's tabwriter with Docker's settings
/// (minwidth 10, tabwidth 1, padding 3, pad char ' ', no flags). Every line
/// of the result ends with `\n`. Cells are tab-*terminated*: text after the
/// last tab of a line is not part of a column (no trailing padding).
pub fn align_table(lines: &[String]) -> String {
    let mut text = String::new();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    tabwrite(&text)
}

pub use berth_engine::humanize::human_duration;

/// go-units `HumanSizeWithPrecision(size, 3)`: decimal units, `%.3g`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_fmt_g(size, 3), UNITS[i])
}

// ---------------------------------------------------------------------------
// Template construction

/// Names of the internal helper functions inserted by [`rewrite_template`].
const PRINT_FN: &str = "_berth_print";
const LABEL_FN: &str = "_berth_label";

fn build_template(text: &str, header: bool) -> Result<Template, FormatError> {
    // Parse the user's text as written first, so errors refer to it.
    let mut plain = new_template(header);
    if let Err(e) = plain.parse(text) {
        return Err(FormatError(parse_error_message(
            text,
            &e.to_string(),
            header,
        )));
    }
    if let Some(rewritten) = rewrite_template(text) {
        let mut t = new_template(header);
        if t.parse(rewritten).is_ok() {
            return Ok(t);
        }
    }
    Ok(plain)
}

fn new_template(header: bool) -> Template {
    let mut t = Template::default();
    let funcs: &[(&str, gtmpl::Func)] = &[
        ("json", fn_json),
        ("split", fn_split),
        ("join", fn_join),
        ("title", fn_title),
        ("lower", fn_lower),
        ("upper", fn_upper),
        ("pad", fn_pad),
        ("truncate", fn_truncate),
        ("print", fn_print),
        ("println", fn_println),
        (PRINT_FN, fn_internal_print),
        (LABEL_FN, fn_internal_label),
    ];
    t.add_funcs(funcs);
    if header {
        // Docker's HeaderFunctions: keep the header text intact (`pad` is
        // deliberately not overridden so headers stay aligned with columns).
        let hfuncs: &[(&str, gtmpl::Func)] = &[
            ("json", fn_header_identity),
            ("split", fn_header_identity),
            ("join", fn_header_identity),
            ("title", fn_header_identity),
            ("lower", fn_header_identity),
            ("upper", fn_header_identity),
            ("truncate", fn_header_identity),
        ];
        t.add_funcs(hfuncs);
    }
    t
}

/// Turns a gtmpl parse error into Docker's wording:
/// `template parsing error: template: :LINE: MESSAGE`.
/// gtmpl's line numbers are unreliable, so the line is recomputed as the
/// first prefix of the template (in whole lines) that fails the same way.
fn parse_error_message(text: &str, raw: &str, header: bool) -> String {
    let msg = strip_gtmpl_prefix(raw);
    let gtmpl_unclosed = msg.contains("unclosed action") || msg.contains("bad character");
    let (line, msg) = if let Some(l) = unclosed_action_line(text).filter(|_| gtmpl_unclosed) {
        (l, "unclosed action".to_string())
    } else {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut found = lines.len();
        if lines.len() > 1 {
            for k in 1..lines.len() {
                let prefix = lines[..k].join("\n");
                let mut t = new_template(header);
                if let Err(e) = t.parse(prefix)
                    && strip_gtmpl_prefix(&e.to_string()) == msg
                {
                    found = k;
                    break;
                }
            }
        }
        (found, go_style_message(&msg))
    };
    format!("template parsing error: template: :{line}: {msg}")
}

fn strip_gtmpl_prefix(raw: &str) -> String {
    // "template: NAME:LINE:msg"
    if let Some(rest) = raw.strip_prefix("template: ") {
        let mut parts = rest.splitn(3, ':');
        let _name = parts.next();
        let _line = parts.next();
        if let Some(m) = parts.next() {
            return m.trim_start().to_string();
        }
    }
    raw.to_string()
}

fn go_style_message(msg: &str) -> String {
    if let Some(name) = msg
        .strip_prefix("function ")
        .and_then(|r| r.strip_suffix(" not defined"))
    {
        return format!("function \"{name}\" not defined");
    }
    if let Some(rest) = msg.strip_prefix("unexpected ")
        && let Some((tok, ctx)) = rest.split_once(" in ")
        && tok.chars().count() == 1
    {
        return format!("unexpected \"{tok}\" in {ctx}");
    }
    msg.to_string()
}

fn unclosed_action_line(text: &str) -> Option<usize> {
    let (_, unclosed) = scan_actions(text);
    unclosed.map(|pos| 1 + text[..pos].matches('\n').count())
}

// ---------------------------------------------------------------------------
// Template rewriting: the single place where gtmpl's gaps are worked around.

#[derive(Debug, Clone)]
struct Action {
    /// byte offset of `{{`
    start: usize,
    /// byte offset just past `}}`
    end: usize,
    ltrim: bool,
    rtrim: bool,
    /// the text between the delimiters / trim markers
    inner: String,
    comment: bool,
}

/// Finds all `{{ ... }}` actions, honouring quoted strings, raw strings,
/// char literals, comments and `{{- ` / ` -}}` trim markers. The second
/// value is the offset of an action that is never closed, if any.
fn scan_actions(text: &str) -> (Vec<Action>, Option<usize>) {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find("{{") {
        let start = i + off;
        let mut j = start + 2;
        let mut ltrim = false;
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|c| c.is_ascii_whitespace()) {
            ltrim = true;
            j += 2;
        }
        let inner_start = j;
        // comment
        let after_ws = j + text[j..].len() - text[j..].trim_start().len();
        if text[after_ws..].starts_with("/*") {
            match text[after_ws + 2..].find("*/") {
                Some(c) => {
                    let mut k = after_ws + 2 + c + 2;
                    let mut rtrim = false;
                    if b.get(k).is_some_and(|c| c.is_ascii_whitespace())
                        && text[k + 1..].starts_with("-}}")
                    {
                        rtrim = true;
                        k += 1;
                        let end = k + 3;
                        out.push(Action {
                            start,
                            end,
                            ltrim,
                            rtrim,
                            inner: text[inner_start..k - 1].to_string(),
                            comment: true,
                        });
                        i = end;
                        continue;
                    }
                    if !text[k..].starts_with("}}") {
                        return (out, Some(start));
                    }
                    let inner = text[inner_start..k].to_string();
                    k += 2;
                    out.push(Action {
                        start,
                        end: k,
                        ltrim,
                        rtrim,
                        inner,
                        comment: true,
                    });
                    i = k;
                    continue;
                }
                None => return (out, Some(start)),
            }
        }
        let mut k = j;
        let mut closed = None;
        while k < b.len() {
            match b[k] {
                q @ (b'"' | b'\'') => {
                    k += 1;
                    while k < b.len() && b[k] != q && b[k] != b'\n' {
                        if b[k] == b'\\' {
                            k += 1;
                        }
                        k += 1;
                    }
                    k += 1;
                }
                b'`' => {
                    k += 1;
                    while k < b.len() && b[k] != b'`' {
                        k += 1;
                    }
                    k += 1;
                }
                c if c.is_ascii_whitespace() && text[k + 1..].starts_with("-}}") => {
                    closed = Some((k, k + 4, true));
                    break;
                }
                b'}' if text[k..].starts_with("}}") => {
                    closed = Some((k, k + 2, false));
                    break;
                }
                _ => k += 1,
            }
        }
        match closed {
            Some((inner_end, end, rtrim)) => {
                out.push(Action {
                    start,
                    end,
                    ltrim,
                    rtrim,
                    inner: text[inner_start..inner_end].to_string(),
                    comment: false,
                });
                i = end;
            }
            None => return (out, Some(start)),
        }
    }
    (out, None)
}

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
];

fn first_word(s: &str) -> &str {
    let s = s.trim_start();
    let n = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..n]
}

/// For `$a := x` / `$a, $b := x` / `$a = x`, the byte offset just past the
/// `:=`/`=`; None when the pipeline declares no variable.
fn declaration_end(pipe: &str) -> Option<usize> {
    let b = pipe.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut vars = 0;
    loop {
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'$' {
            return None;
        }
        i += 1;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        vars += 1;
        skip_ws(&mut i);
        if i < b.len() && b[i] == b',' && vars < 2 {
            i += 1;
            continue;
        }
        break;
    }
    if pipe[i..].starts_with(":=") {
        Some(i + 2)
    } else if pipe[i..].starts_with('=') {
        Some(i + 1)
    } else {
        None
    }
}

/// Rewrites `.Label "key"` used as a command (Docker's method call on the
/// ps/images contexts) into a call of the internal label helper on dot.
fn rewrite_label_calls(inner: &str) -> String {
    const PAT: &str = ".Label";
    let mut out = String::with_capacity(inner.len());
    let b = inner.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' && q != b'`' && i + 1 < b.len() {
                out.push_str(&inner[i..i + 2]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            let ch = inner[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        if c == b'"' || c == b'`' || c == b'\'' {
            quote = Some(c);
            out.push(c as char);
            i += 1;
            continue;
        }
        if inner[i..].starts_with(PAT)
            && b.get(i + PAT.len())
                .is_some_and(|c| c.is_ascii_whitespace())
        {
            let before = inner[..i].trim_end();
            let starts_command = before.is_empty()
                || before.ends_with('|')
                || before.ends_with('(')
                || before.ends_with('=')
                || (i > 0 && b[i - 1].is_ascii_whitespace() && {
                    let last = before
                        .rsplit(|c: char| c.is_whitespace())
                        .next()
                        .unwrap_or("");
                    KEYWORDS.contains(&last)
                });
            if starts_command {
                out.push_str(LABEL_FN);
                out.push_str(" .");
                i += PAT.len();
                continue;
            }
        }
        let ch = inner[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Adjusts a template so gtmpl executes it like Go's text/template.
/// Returns None when nothing needs changing. Workarounds:
///
/// 1. Printing: gtmpl prints arrays and maps with Rust's `Debug` format and
///    nil as `nil`. Every printing action `{{PIPE}}` becomes
///    `{{PIPE | _berth_print}}`, which formats like Go's `fmt` (`[a b]`,
///    `map[k:v]`, `<nil>`, `<no value>`).
/// 2. Method calls with arguments are unsupported by gtmpl: `.Label "k"`
///    (Docker's ps/images/volume contexts) becomes `_berth_label . "k"`.
/// 3. gtmpl always runs the `{{else}}` branch of a `{{range}}`;
///    `{{range P}}A{{else}}B{{end}}` becomes
///    `{{if P}}{{range P}}A{{end}}{{else}}B{{end}}`.
///
/// Not fixable here: gtmpl ranges over maps in hash order, not sorted
/// key order as Go does.
fn rewrite_template(text: &str) -> Option<String> {
    let (actions, unclosed) = scan_actions(text);
    if unclosed.is_some() || actions.is_empty() {
        return None;
    }
    let mut replacement: Vec<Option<String>> = vec![None; actions.len()];

    // Pass 1: range/else fix-ups, tracked with a block stack.
    struct Frame {
        kw: String,
        idx: usize,
        else_idx: Option<usize>,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut range_fixes: Vec<(usize, usize)> = Vec::new();
    for (idx, a) in actions.iter().enumerate() {
        if a.comment {
            continue;
        }
        match first_word(&a.inner) {
            kw @ ("if" | "with" | "range" | "define" | "block") => stack.push(Frame {
                kw: kw.to_string(),
                idx,
                else_idx: None,
            }),
            "else" => {
                if let Some(top) = stack.last_mut()
                    && top.kw == "range"
                    && top.else_idx.is_none()
                {
                    top.else_idx = Some(idx);
                }
            }
            "end" => {
                if let Some(f) = stack.pop()
                    && let (true, Some(e)) = (f.kw == "range", f.else_idx)
                {
                    range_fixes.push((f.idx, e));
                }
            }
            _ => {}
        }
    }

    let open = |a: &Action| if a.ltrim { "{{- " } else { "{{" };
    let close = |a: &Action| if a.rtrim { " -}}" } else { "}}" };

    for (ri, ei) in range_fixes {
        let ra = &actions[ri];
        let inner = rewrite_label_calls(&ra.inner);
        let pipe = inner.trim_start().strip_prefix("range").unwrap_or("");
        let expr = match declaration_end(pipe) {
            Some(n) => &pipe[n..],
            None => pipe,
        };
        replacement[ri] = Some(format!(
            "{}if {}}}}}{{{{range {}{}",
            open(ra),
            expr.trim(),
            pipe.trim(),
            close(ra)
        ));
        let ea = &actions[ei];
        replacement[ei] = Some(format!("{}end}}}}{{{{else{}", open(ea), close(ea)));
    }

    // Pass 2: printing actions and .Label calls.
    for (idx, a) in actions.iter().enumerate() {
        if a.comment || replacement[idx].is_some() {
            continue;
        }
        let inner = rewrite_label_calls(&a.inner);
        let word = first_word(&inner);
        let is_control = KEYWORDS.contains(&word);
        let is_decl = declaration_end(&inner).is_some();
        let new_inner = if is_control || is_decl || inner.trim().is_empty() {
            inner
        } else {
            format!("{} | {}", inner.trim_end(), PRINT_FN)
        };
        replacement[idx] = Some(format!("{}{}{}", open(a), new_inner, close(a)));
    }

    let mut out = String::with_capacity(text.len() + 32 * actions.len());
    let mut pos = 0;
    for (a, r) in actions.iter().zip(replacement) {
        out.push_str(&text[pos..a.start]);
        match r {
            Some(r) => out.push_str(&r),
            None => out.push_str(&text[a.start..a.end]),
        }
        pos = a.end;
    }
    out.push_str(&text[pos..]);
    if out == text { None } else { Some(out) }
}

/// Top-level field names referenced as `.Name` in the template.
fn template_fields(text: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let (actions, _) = scan_actions(text);
    for a in actions.iter().filter(|a| !a.comment) {
        let s = a.inner.as_bytes();
        let mut quote: Option<u8> = None;
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            if let Some(q) = quote {
                if c == b'\\' && q != b'`' {
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if c == b'"' || c == b'`' || c == b'\'' {
                quote = Some(c);
                i += 1;
                continue;
            }
            if c == b'.' {
                let prev_ok = i == 0 || {
                    let p = s[i - 1];
                    !(p.is_ascii_alphanumeric() || p == b'_' || p == b')' || p == b'$' || p == b'.')
                };
                let mut j = i + 1;
                while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                    j += 1;
                }
                if prev_ok && j > i + 1 && !s[i + 1].is_ascii_digit() {
                    set.insert(a.inner[i + 1..j].to_string());
                }
                i = j.max(i + 1);
                continue;
            }
            i += 1;
        }
    }
    set
}

fn header_data(text: &str, rows: &[serde_json::Value], headers: &[(&str, &str)]) -> Value {
    let mut names: BTreeSet<String> = template_fields(text);
    for row in rows {
        if let serde_json::Value::Object(m) = row {
            names.extend(m.keys().cloned());
        }
    }
    names.extend(headers.iter().map(|(k, _)| k.to_string()));
    let map: HashMap<String, Value> = names
        .into_iter()
        .map(|n| {
            let h = headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| n.to_uppercase());
            (n, Value::String(h))
        })
        .collect();
    Value::Map(map)
}

// ---------------------------------------------------------------------------
// Values

/// serde_json -> gtmpl: objects -> Map (missing keys give `<no value>`),
/// arrays -> Array, numbers -> Number, null -> Nil.
fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::Number(Number::from(u))
            } else if let Some(i) = n.as_i64() {
                Value::Number(Number::from(i))
            } else {
                Value::Number(Number::from(n.as_f64().unwrap_or(0.0)))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// gtmpl -> serde_json, map keys inserted in sorted order (Go sorts map keys).
fn value_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into()
            } else if let Some(i) = n.as_i64() {
                i.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        Value::Array(a) => serde_json::Value::Array(a.iter().map(value_to_json).collect()),
        Value::Map(m) | Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), value_to_json(&m[k]));
            }
            serde_json::Value::Object(out)
        }
    }
}

/// Compact JSON as Go's encoder with SetEscapeHTML(false) writes it.
fn write_go_json(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => {
            if n.is_u64() || n.is_i64() {
                out.push_str(&n.to_string());
            } else {
                out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0)));
            }
        }
        serde_json::Value::String(s) => write_go_json_string(out, s),
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, e);
            }
            out.push(']');
        }
        serde_json::Value::Object(m) => {
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(out, k);
                out.push(':');
                write_go_json(out, e);
            }
            out.push('}');
        }
    }
}

fn write_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// encoding/json float format: plain decimal unless exp < -6 or >= 21.
fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_string();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}"); // e.g. 1e21, 1.5e-7
        let (m, e) = s.split_once('e').unwrap();
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("+", e),
        };
        format!("{m}e{sign}{digits}")
    } else {
        format!("{f}")
    }
}

/// Go's `%.{prec}g`.
fn go_fmt_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_fraction_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_fraction_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

/// Go's `%v` for a float64 (`strconv` 'g', shortest): `%e` form when the
/// exponent is < -4 or >= 6, e.g. 1e+06.
fn go_fmt_float(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !v.is_finite() {
        return go_fmt_g(v, 1);
    }
    let sci = format!("{v:e}");
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Formats a value like Go's `fmt` `%v` does for the equivalent
/// `interface{}` data (what text/template prints).
fn go_fmt(v: &Value) -> String {
    match v {
        Value::NoValue => "<no value>".to_string(),
        Value::Nil => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.to_string()
            } else if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                go_fmt_float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(go_fmt).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Map(m) | Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_fmt(&m[*k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        Value::Function(_) => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Template functions

fn arg<'a>(args: &'a [Value], i: usize, name: &str, n: usize) -> Result<&'a Value, FuncError> {
    if args.len() < n {
        return Err(FuncError::ExactlyXArgs(name.to_string(), n));
    }
    Ok(&args[i])
}

fn str_arg(args: &[Value], i: usize, name: &str, n: usize) -> Result<String, FuncError> {
    match arg(args, i, name, n)? {
        Value::NoValue => Err(FuncError::Generic(format!(
            "error calling {name}: invalid value; expected string"
        ))),
        v => Ok(go_fmt(v)),
    }
}

fn int_arg(args: &[Value], i: usize, name: &str, n: usize) -> Result<i64, FuncError> {
    match arg(args, i, name, n)? {
        Value::Number(num) => num
            .as_i64()
            .or_else(|| num.as_f64().map(|f| f as i64))
            .ok_or(FuncError::UnableToConvertFromValue),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| FuncError::UnableToConvertFromValue),
        _ => Err(FuncError::UnableToConvertFromValue),
    }
}

fn fn_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = arg(args, 0, "json", 1)?;
    let mut out = String::new();
    write_go_json(&mut out, &value_to_json(v));
    Ok(Value::String(out))
}

fn fn_split(args: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(args, 0, "split", 2)?;
    let sep = str_arg(args, 1, "split", 2)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect()
    };
    Ok(Value::Array(parts))
}

fn fn_join(args: &[Value]) -> Result<Value, FuncError> {
    let list = arg(args, 0, "join", 2)?;
    let sep = str_arg(args, 1, "join", 2)?;
    let items: Vec<String> = match list {
        Value::Array(a) => a.iter().map(go_fmt).collect(),
        Value::Nil => Vec::new(),
        Value::NoValue => {
            return Err(FuncError::Generic(
                "error calling join: invalid value; expected []string".into(),
            ));
        }
        other => vec![go_fmt(other)],
    };
    Ok(Value::String(items.join(&sep)))
}

fn fn_title(args: &[Value]) -> Result<Value, FuncError> {
    // strings.Title: upper-case the first letter of each word.
    let s = str_arg(args, 0, "title", 1)?;
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    Ok(Value::String(out))
}

fn fn_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(str_arg(args, 0, "lower", 1)?.to_lowercase()))
}

fn fn_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(str_arg(args, 0, "upper", 1)?.to_uppercase()))
}

fn fn_pad(args: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(args, 0, "pad", 3)?;
    let pre = int_arg(args, 1, "pad", 3)?.max(0) as usize;
    let suf = int_arg(args, 2, "pad", 3)?.max(0) as usize;
    if s.is_empty() {
        return Ok(Value::String(s));
    }
    Ok(Value::String(format!(
        "{}{}{}",
        " ".repeat(pre),
        s,
        " ".repeat(suf)
    )))
}

fn fn_truncate(args: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(args, 0, "truncate", 2)?;
    let n = int_arg(args, 1, "truncate", 2)?.max(0) as usize;
    if s.len() < n {
        return Ok(Value::String(s));
    }
    let mut cut = n;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    Ok(Value::String(s[..cut].to_string()))
}

/// fmt.Sprint: spaces between operands when neither side is a string.
fn fn_print(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        let is_str = matches!(v, Value::String(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        out.push_str(&go_fmt(v));
    }
    Ok(Value::String(out))
}

/// fmt.Sprintln: always spaces between operands, newline at the end.
fn fn_println(args: &[Value]) -> Result<Value, FuncError> {
    let items: Vec<String> = args.iter().map(go_fmt).collect();
    Ok(Value::String(format!("{}\n", items.join(" "))))
}

fn fn_header_identity(args: &[Value]) -> Result<Value, FuncError> {
    Ok(args.first().cloned().unwrap_or(Value::NoValue))
}

/// Appended to every printing action (see [`rewrite_template`]).
fn fn_internal_print(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(args.last().map(go_fmt).unwrap_or_default()))
}

/// `.Label "key"`: looks the key up in dot's `Labels`, which may be a map
/// or Docker's `k=v,k2=v2` string. Missing -> "".
fn fn_internal_label(args: &[Value]) -> Result<Value, FuncError> {
    let dot = arg(args, 0, "Label", 2)?;
    let key = str_arg(args, 1, "Label", 2)?;
    let labels = match dot {
        Value::Map(m) | Value::Object(m) => m.get("Labels").cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    };
    let found = match labels {
        Value::Map(m) | Value::Object(m) => m.get(&key).map(go_fmt),
        Value::String(s) => s.split(',').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then(|| v.to_string())
        }),
        _ => None,
    };
    Ok(Value::String(found.unwrap_or_default()))
}

// ---------------------------------------------------------------------------
// tabwriter (Go's text/tabwriter algorithm, Docker's parameters)

/// Display width of a cell, approximating go-runewidth (used by Docker's
/// tabwriter fork): East Asian wide/fullwidth characters count 2,
/// combining marks and zero-width characters 0.
fn cell_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = matches!(u,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xFEFF);
    if zero || u < 0x20 {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC
        | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615 | 0x2648..=0x2653
        | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5
        | 0x26FA | 0x26FD | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E
        | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0 | 0x27BF
        | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x2E80..=0x303E | 0x3041..=0x33FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F004 | 0x1F0CF | 0x1F18E
        | 0x1F191..=0x1F19A | 0x1F200..=0x1F251 | 0x1F300..=0x1F64F
        | 0x1F680..=0x1F6FF | 0x1F7E0..=0x1F7EB | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

struct TabWriter<'a> {
    /// each line's cells; the last cell of a line is not tab-terminated
    lines: Vec<Vec<&'a str>>,
    widths: Vec<usize>,
    out: String,
}

/// Runs `text` through the tabwriter. A trailing partial line (text after
/// the last newline) is written without a newline, as Go does on Flush.
fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let n = lines.len();
    let mut tw = TabWriter {
        lines,
        widths: Vec::new(),
        out: String::with_capacity(text.len() * 2),
    };
    tw.format(0, n);
    tw.out
}

impl TabWriter<'_> {
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // a column block starts here
            self.write_lines(line0, this);
            line0 = this;
            let mut width = TAB_MINWIDTH;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(cell_width(line[column]) + TAB_PADDING);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        let last = self.lines.len() - 1;
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(cell);
                if j < self.widths.len() {
                    let pad = self.widths[j].saturating_sub(cell_width(cell));
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i != last {
                self.out.push('\n');
            }
        }
    }
}

/// An image's (REPOSITORY, TAG) rows as `images` lists them: one per tag, `<none>` without.
pub fn repository_tag_rows(repo_tags: &[String]) -> Vec<(String, String)> {
    if repo_tags.is_empty() {
        return vec![("<none>".into(), "<none>".into())];
    }
    repo_tags
        .iter()
        .map(|t| {
            let (repository, tag) = berth_engine::reference::split(t);
            (repository.to_string(), tag.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
        let doc =
            json!({"State": {"Status": "running", "Pid": 42}, "Config": {"Env": ["A=1", "B=2"]}});
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

    #[test]
    fn durations() {
        let cases: &[(i64, &str)] = &[
            (0, "Less than a second"),
            (1, "1 second"),
            (45, "45 seconds"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (180, "3 minutes"),
            (35 * 60 + 40, "35 minutes"),
            (59 * 60, "59 minutes"),
            (3600, "About an hour"),
            (3600 + 29 * 60, "About an hour"),
            (3600 + 31 * 60, "2 hours"),
            (3 * 3600 + 31 * 60, "4 hours"),
            (24 * 3600, "24 hours"),
            (36 * 3600, "36 hours"),
            (2 * 86400, "2 days"),
            (13 * 86400 + 5 * 3600, "13 days"),
            (14 * 86400, "2 weeks"),
            (21 * 86400, "3 weeks"),
            (30 * 86400, "4 weeks"),
            (44 * 86400, "6 weeks"),
            (60 * 86400, "2 months"),
            (150 * 86400 + 14 * 86400, "5 months"),
            (720 * 86400, "24 months"),
            (734 * 86400, "2 years"),
            (3 * 365 * 86400 + 60 * 86400, "3 years"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(*s), *want, "{s}s");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(u64, &str)] = &[
            (0, "0B"),
            (1, "1B"),
            (999, "999B"),
            (1000, "1kB"),
            (1200, "1.2kB"),
            (1234, "1.23kB"),
            (4_261_234, "4.26MB"),
            (77_800_000, "77.8MB"),
            (187_000_000, "187MB"),
            (999_500, "1e+03kB"),
            (1_000_000_000, "1GB"),
            (5_368_709_120, "5.37GB"),
        ];
        for (b, want) in cases {
            assert_eq!(human_size(*b), *want, "{b}");
        }
        assert_eq!(go_fmt_g(0.0001234, 3), "0.000123");
        assert_eq!(go_fmt_g(0.00001234, 3), "1.23e-05");
        assert_eq!(go_fmt_float(1e21), "1e+21");
        assert_eq!(go_fmt_float(1e6), "1e+06");
        assert_eq!(go_fmt_float(123456.0), "123456");
        assert_eq!(go_fmt_float(2.5), "2.5");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(3.0), "3");
    }
}
