//! The functions Docker's `--format` templates may call (`json`, `split`, `join`, `title`,
//! `lower`, `upper`, `pad`, `truncate`, `print`, `println`) and the internal helpers the rewriter
//! inserts.

use gtmpl::Value;
use gtmpl_value::FuncError;

use super::value::{go_fmt, value_to_json};
use crate::gofmt::write_go_json;

// ---------------------------------------------------------------------------
// Template functions

pub(crate) fn arg<'a>(
    args: &'a [Value],
    i: usize,
    name: &str,
    n: usize,
) -> Result<&'a Value, FuncError> {
    if args.len() < n {
        return Err(FuncError::ExactlyXArgs(name.to_string(), n));
    }
    Ok(&args[i])
}

pub(crate) fn str_arg(args: &[Value], i: usize, name: &str, n: usize) -> Result<String, FuncError> {
    match arg(args, i, name, n)? {
        Value::NoValue => Err(FuncError::Generic(format!(
            "error calling {name}: invalid value; expected string"
        ))),
        v => Ok(go_fmt(v)),
    }
}

pub(crate) fn int_arg(args: &[Value], i: usize, name: &str, n: usize) -> Result<i64, FuncError> {
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

pub(crate) fn fn_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = arg(args, 0, "json", 1)?;
    let mut out = String::new();
    write_go_json(&mut out, &value_to_json(v));
    Ok(Value::String(out))
}

pub(crate) fn fn_split(args: &[Value]) -> Result<Value, FuncError> {
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

pub(crate) fn fn_join(args: &[Value]) -> Result<Value, FuncError> {
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

pub(crate) fn fn_title(args: &[Value]) -> Result<Value, FuncError> {
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

pub(crate) fn fn_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(str_arg(args, 0, "lower", 1)?.to_lowercase()))
}

pub(crate) fn fn_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(str_arg(args, 0, "upper", 1)?.to_uppercase()))
}

pub(crate) fn fn_pad(args: &[Value]) -> Result<Value, FuncError> {
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

pub(crate) fn fn_truncate(args: &[Value]) -> Result<Value, FuncError> {
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
pub(crate) fn fn_print(args: &[Value]) -> Result<Value, FuncError> {
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
pub(crate) fn fn_println(args: &[Value]) -> Result<Value, FuncError> {
    let items: Vec<String> = args.iter().map(go_fmt).collect();
    Ok(Value::String(format!("{}\n", items.join(" "))))
}

pub(crate) fn fn_header_identity(args: &[Value]) -> Result<Value, FuncError> {
    Ok(args.first().cloned().unwrap_or(Value::NoValue))
}

/// Appended to every printing action (see [`rewrite_template`]).
pub(crate) fn fn_internal_print(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(args.last().map(go_fmt).unwrap_or_default()))
}

/// `.Label "key"`: looks the key up in dot's `Labels`, which may be a map
/// or Docker's `k=v,k2=v2` string. Missing -> "".
pub(crate) fn fn_internal_label(args: &[Value]) -> Result<Value, FuncError> {
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
