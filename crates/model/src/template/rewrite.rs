//! Template rewriting: the single place where gtmpl's gaps from Go's text/template are worked
//! around, and the scanner of `{{ ... }}` actions it (and the table header) needs.

use std::collections::BTreeSet;

use super::build::{LABEL_FN, PRINT_FN};

// ---------------------------------------------------------------------------
// Template rewriting: the single place where gtmpl's gaps are worked around.

#[derive(Debug, Clone)]
pub(crate) struct Action {
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
pub(crate) fn scan_actions(text: &str) -> (Vec<Action>, Option<usize>) {
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

pub(crate) const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
];

pub(crate) fn first_word(s: &str) -> &str {
    let s = s.trim_start();
    let n = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..n]
}

/// For `$a := x` / `$a, $b := x` / `$a = x`, the byte offset just past the
/// `:=`/`=`; None when the pipeline declares no variable.
pub(crate) fn declaration_end(pipe: &str) -> Option<usize> {
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
pub(crate) fn rewrite_label_calls(inner: &str) -> String {
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
pub(crate) fn rewrite_template(text: &str) -> Option<String> {
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
pub(crate) fn template_fields(text: &str) -> BTreeSet<String> {
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
