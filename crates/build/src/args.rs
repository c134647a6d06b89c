//! ARG scoping with Docker's rules: global ARGs (before the first FROM) are visible in FROM lines
//! and re-declared (`ARG NAME`) inside a stage to be used there; `--build-arg` overrides a
//! declared ARG's default; the predefined proxy ARGs are usable without a declaration and are
//! left out of the image history.

use std::collections::BTreeMap;

use crate::expand::{Lookup, expand_word};

/// Build args every Dockerfile may use without declaring them.
pub const PREDEFINED: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The values of the global ARGs: defaults (expanded against earlier global ARGs) unless
/// `--build-arg` gives one. Unset ARGs (no default, no build arg) are absent.
pub fn global_values(
    globals: &[(String, Option<String>)],
    build_args: &BTreeMap<String, String>,
    escape: char,
) -> Result<Vec<(String, String)>, String> {
    let mut values: Vec<(String, String)> = Vec::new();
    for (name, default) in globals {
        let value = match (build_args.get(name), default) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => Some(expand_word(d, values.as_slice(), escape)?),
            (None, None) => None,
        };
        if let Some(v) = value {
            values.push((name.clone(), v));
        }
    }
    Ok(values)
}

/// The value an `ARG name[=default]` inside a stage takes: the build arg, else the default
/// (expanded with `scope`, the stage's ARGs and ENV so far), else the global ARG's value.
pub fn stage_value(
    name: &str,
    default: Option<&str>,
    build_args: &BTreeMap<String, String>,
    globals: &[(String, String)],
    scope: &(impl Lookup + ?Sized),
    escape: char,
) -> Result<Option<String>, String> {
    if let Some(v) = build_args.get(name) {
        return Ok(Some(v.clone()));
    }
    if let Some(d) = default {
        return expand_word(d, scope, escape).map(Some);
    }
    Ok(Lookup::get(globals, name).map(str::to_string))
}

/// Predefined ARGs given with `--build-arg`: in every RUN's environment without a declaration.
pub fn predefined(build_args: &BTreeMap<String, String>) -> Vec<(String, String)> {
    build_args
        .iter()
        .filter(|(k, _)| PREDEFINED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_override_defaults_and_globals_flow_in() {
        let globals = vec![
            ("V".to_string(), Some("1".to_string())),
            ("W".to_string(), Some("${V}.0".to_string())),
            ("U".to_string(), None),
        ];
        let mut cli = BTreeMap::new();
        let g = global_values(&globals, &cli, '\\').unwrap();
        assert_eq!(
            g,
            vec![
                ("V".to_string(), "1".to_string()),
                ("W".to_string(), "1.0".to_string())
            ]
        );
        cli.insert("V".to_string(), "2".to_string());
        let g = global_values(&globals, &cli, '\\').unwrap();
        assert_eq!(g[1].1, "2.0");
        let scope: Vec<(String, String)> = vec![];
        assert_eq!(
            stage_value("W", None, &cli, &g, scope.as_slice(), '\\')
                .unwrap()
                .as_deref(),
            Some("2.0")
        );
        assert_eq!(
            stage_value("V", Some("9"), &cli, &g, scope.as_slice(), '\\')
                .unwrap()
                .as_deref(),
            Some("2")
        );
        assert_eq!(
            stage_value("X", Some("d"), &cli, &g, scope.as_slice(), '\\')
                .unwrap()
                .as_deref(),
            Some("d")
        );
        assert_eq!(
            stage_value("U", None, &cli, &g, scope.as_slice(), '\\').unwrap(),
            None
        );
        cli.insert("HTTP_PROXY".to_string(), "http://p".to_string());
        assert_eq!(
            predefined(&cli),
            vec![("HTTP_PROXY".to_string(), "http://p".to_string())]
        );
    }
}
