//! `--security-opt`: the Docker CLI's checks, and a seccomp profile file read into the value.

use super::go_io_error;
use crate::gofmt::go_quote;

/// Docker CLI's `--security-opt` checks. A seccomp profile given as a file is sent as its
/// (compacted) JSON content, as Docker does, so the engine never reads client-side files.
pub fn parse_security_opts(opts: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let (mut key, mut value, mut found) = match opt.split_once('=') {
            Some((k, v)) => (k, v, true),
            None => (opt.as_str(), "", false),
        };
        if !found
            && key != "no-new-privileges"
            && let Some((k, v)) = opt.split_once(':')
        {
            (key, value, found) = (k, v, true);
        }
        if (!found || value.is_empty()) && key != "no-new-privileges" {
            return Err(format!("Invalid --security-opt: {}", go_quote(opt)));
        }
        if key == "seccomp" && value != "builtin" && value != "unconfined" {
            let text = std::fs::read(value).map_err(|e| {
                format!(
                    "opening seccomp profile ({value}) failed: {}",
                    go_io_error("open", value, &e)
                )
            })?;
            let json: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
                format!("compacting json for seccomp profile ({value}) failed: {e}")
            })?;
            out.push(format!("seccomp={json}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_follow_docker() {
        let opts = ["no-new-privileges", "label:disable", "seccomp=unconfined"].map(String::from);
        assert_eq!(parse_security_opts(&opts), Ok(opts.to_vec()));
        assert_eq!(
            parse_security_opts(&["apparmor".into()]),
            Err("Invalid --security-opt: \"apparmor\"".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("p.json");
        std::fs::write(&profile, "{ \"defaultAction\": \"SCMP_ACT_ALLOW\" }").unwrap();
        let opt = format!("seccomp={}", profile.display());
        assert_eq!(
            parse_security_opts(&[opt]),
            Ok(vec![
                "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}".to_string()
            ])
        );
    }
}
