//! Docker's `--format` output: Go templates, `table` output aligned like Go's tabwriter, and
//! `--format json`, over rows given as JSON documents.
//!
//! Templates are executed by `gtmpl` (a Go text/template implementation). Where gtmpl's
//! behaviour differs from Go's, the template text is adjusted before execution in ONE place:
//! [`rewrite::rewrite_template`]. See its doc comment for the list of workarounds.

mod build;
mod funcs;
mod rewrite;
mod tabwriter;
#[cfg(test)]
mod tests;
mod value;

use std::collections::{BTreeSet, HashMap};

use gtmpl::{Context, Value};

use build::build_template;
use rewrite::template_fields;
use tabwriter::tabwrite;
use value::json_to_value;

use crate::gofmt::write_go_json;

/// A bad `--format` template (parse or execution), worded like Docker.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

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
