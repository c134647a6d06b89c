//! `--env-file` and `--label-file`: Docker's key=value file syntax (parseKeyValueFile).

use super::go_io_error;

/// Reads a Docker env file (`--env-file`): `KEY=VALUE` lines passed through as they are (no
/// quote processing, no trimming of the value), `#` comments and blank lines skipped, a bare
/// `KEY` taking the caller's value (dropped when unset). Errors are Docker's.
pub fn read_env_file(path: &str) -> Result<Vec<String>, String> {
    read_kv_file(path, true)
}

/// Docker's parseKeyValueFile, for env files and (with `from_env` false: bare keys are dropped)
/// label files.
pub fn read_kv_file(path: &str, from_env: bool) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        let op = if std::fs::File::open(path).is_ok() {
            "read"
        } else {
            "open"
        };
        let msg = go_io_error(op, path, &e);
        if op == "read" {
            format!("invalid env file ({path}): {msg}")
        } else {
            msg
        }
    })?;
    let bad = |msg: String| format!("invalid env file ({path}): {msg}");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (n, raw) in lines.into_iter().enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(line) = std::str::from_utf8(raw) else {
            let bytes: Vec<String> = raw.iter().map(u8::to_string).collect();
            return Err(bad(format!(
                "invalid utf8 bytes at line {}: [{}]",
                n + 1,
                bytes.join(" ")
            )));
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (variable, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let variable = variable.trim_start_matches([' ', '\t']);
        if variable.contains([' ', '\t']) {
            return Err(bad(format!("variable '{variable}' contains whitespaces")));
        }
        if variable.is_empty() {
            return Err(bad(format!("no variable name on line '{line}'")));
        }
        match value {
            Some(value) => out.push(format!("{variable}={value}")),
            None if from_env => {
                if let Ok(value) = std::env::var(variable) {
                    out.push(format!("{variable}={value}"));
                }
            }
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_follow_docker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        std::fs::write(
            &path,
            "# comment\n\nA=1\n  B= two \nBERTH_MODEL_UNSET_VAR\n",
        )
        .unwrap();
        let path = path.to_str().unwrap();
        assert_eq!(
            read_env_file(path),
            Ok(vec!["A=1".into(), "B= two ".into()])
        );
        assert_eq!(
            read_kv_file(path, false),
            Ok(vec!["A=1".into(), "B= two ".into()])
        );
        assert_eq!(
            read_env_file("/nonexistent/env"),
            Err("open /nonexistent/env: no such file or directory".into())
        );
    }
}
