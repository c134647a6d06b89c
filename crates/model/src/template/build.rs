//! Turning a `--format` text into a gtmpl template: the functions Docker's templates may call,
//! and parse errors in Docker's wording (`template parsing error: template: :LINE: MESSAGE`).

use gtmpl::Template;

use super::FormatError;
use super::funcs::*;
use super::rewrite::{rewrite_template, scan_actions};

/// Names of the internal helper functions inserted by [`rewrite_template`].
pub(crate) const PRINT_FN: &str = "_berth_print";
pub(crate) const LABEL_FN: &str = "_berth_label";

pub(crate) fn build_template(text: &str, header: bool) -> Result<Template, FormatError> {
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

pub(crate) fn new_template(header: bool) -> Template {
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
pub(crate) fn parse_error_message(text: &str, raw: &str, header: bool) -> String {
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

pub(crate) fn strip_gtmpl_prefix(raw: &str) -> String {
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

pub(crate) fn go_style_message(msg: &str) -> String {
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

pub(crate) fn unclosed_action_line(text: &str) -> Option<usize> {
    let (_, unclosed) = scan_actions(text);
    unclosed.map(|pos| 1 + text[..pos].matches('\n').count())
}
