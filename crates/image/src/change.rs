//! `docker import --change` / `docker commit --change`: Dockerfile instructions applied to a
//! container config. Several changes may be passed joined by '\n' (as Docker joins its --change
//! flags); then, as in Docker, ENTRYPOINT resets CMD only if no CMD came before it in that text.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{ContainerConfig, Error};

const DOCKERFILE_INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];
const CHANGE_INSTRUCTIONS: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

fn err(msg: impl Into<String>) -> Error {
    Error::Change(msg.into())
}

/// Applies one (or several, '\n'-separated) change instructions to `config`.
/// On error, `config` may hold the effect of the instructions before the failing one.
pub fn apply_change(config: &mut ContainerConfig, change: &str) -> Result<(), Error> {
    apply_change_with(config, change, &BTreeMap::new(), &mut false)
}

/// [`apply_change`] for the Dockerfile builder: `args` (the build's ARG values) are visible to
/// variable expansion under the config's ENV (ENV wins, as in Docker), and `cmd_set` carries
/// "a CMD was set in this stage" across calls (ENTRYPOINT resets an inherited CMD only).
pub fn apply_change_with(
    config: &mut ContainerConfig,
    change: &str,
    args: &BTreeMap<String, String>,
    cmd_set: &mut bool,
) -> Result<(), Error> {
    for (line_no, line) in logical_lines(change) {
        let line = line.trim();
        let (word, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        let instr = word.to_ascii_uppercase();
        if !DOCKERFILE_INSTRUCTIONS.contains(&instr.as_str()) {
            return Err(err(format!(
                "dockerfile parse error on line {line_no}: unknown instruction: {instr}"
            )));
        }
        if !CHANGE_INSTRUCTIONS.contains(&instr.as_str()) {
            return Err(err(format!("{instr} is not a valid change command")));
        }
        apply_one(config, &instr, rest, args, cmd_set)?;
    }
    Ok(())
}

/// Joins backslash-continued lines, drops blank lines and comments; yields (first line no, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if cur.is_empty() {
            start = i + 1;
        }
        let trimmed_end = line.trim_end();
        if let Some(body) = trimmed_end.strip_suffix('\\') {
            cur.push_str(body);
            continue;
        }
        cur.push_str(line);
        out.push((start, std::mem::take(&mut cur)));
    }
    if !cur.trim().is_empty() {
        out.push((start, cur));
    }
    out
}

fn env_map(config: &ContainerConfig) -> BTreeMap<String, String> {
    config
        .env
        .iter()
        .flatten()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn set_env(config: &mut ContainerConfig, key: &str, value: &str) {
    let env = config.env.get_or_insert_with(Vec::new);
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == key)
    {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

fn apply_one(
    c: &mut ContainerConfig,
    instr: &str,
    rest: &str,
    args: &BTreeMap<String, String>,
    cmd_set: &mut bool,
) -> Result<(), Error> {
    let mut env = args.clone();
    env.extend(env_map(c));
    match instr {
        "CMD" => {
            c.cmd = Some(command(c, instr, rest)?);
            *cmd_set = true;
        }
        "ENTRYPOINT" => {
            c.entrypoint = Some(command(c, instr, rest)?);
            if !*cmd_set {
                c.cmd = None;
            }
        }
        "ENV" => {
            for (k, v) in name_values(instr, rest, &env)? {
                set_env(c, &k, &v);
            }
        }
        "LABEL" => {
            let pairs = name_values(instr, rest, &env)?;
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(pairs);
        }
        "WORKDIR" => {
            if rest.is_empty() {
                return Err(err("WORKDIR requires exactly one argument"));
            }
            let w = process_word(rest, &env)?;
            let cur = c
                .working_dir
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/".into());
            let joined = if w.starts_with('/') {
                w
            } else {
                format!("{cur}/{w}")
            };
            c.working_dir = Some(clean_abs(&joined));
        }
        "USER" => {
            if rest.is_empty() {
                return Err(err("USER requires exactly one argument"));
            }
            c.user = Some(process_word(rest, &env)?);
        }
        "EXPOSE" => {
            if rest.is_empty() {
                return Err(err("EXPOSE requires at least one argument"));
            }
            let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for w in split_words(rest) {
                for p in parse_port_spec(&process_word(&w, &env)?)? {
                    ports.insert(p, json!({}));
                }
            }
        }
        "VOLUME" => {
            let vols: Vec<String> = match json_array(rest) {
                Some(v) => v,
                None => split_words(rest)
                    .iter()
                    .map(|w| process_word(w, &env))
                    .collect::<Result<_, _>>()?,
            };
            if vols.is_empty() {
                return Err(err("VOLUME requires at least one argument"));
            }
            let map = c.volumes.get_or_insert_with(BTreeMap::new);
            for v in vols {
                let v = v.trim().to_string();
                if v.is_empty() {
                    return Err(err("VOLUME specified can not be an empty string"));
                }
                map.insert(v, json!({}));
            }
        }
        "STOPSIGNAL" => {
            let s = process_word(rest, &env)?;
            if !valid_signal(&s) {
                return Err(err(format!("Invalid signal: {s}")));
            }
            c.stop_signal = Some(s);
        }
        "ONBUILD" => {
            let trigger_word = rest
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match trigger_word.as_str() {
                "" => return Err(err("ONBUILD requires at least one argument")),
                "ONBUILD" => {
                    return Err(err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"));
                }
                "FROM" | "MAINTAINER" => {
                    return Err(err(format!(
                        "{trigger_word} isn't allowed as an ONBUILD trigger"
                    )));
                }
                w if !DOCKERFILE_INSTRUCTIONS.contains(&w) => {
                    return Err(err(format!(
                        "dockerfile parse error on line 1: unknown instruction: {w}"
                    )));
                }
                _ => {}
            }
            c.on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_string());
        }
        "HEALTHCHECK" => c.healthcheck = Some(healthcheck(rest)?),
        _ => unreachable!("filtered by CHANGE_INSTRUCTIONS"),
    }
    Ok(())
}

/// Exec form (JSON array) or shell form (the image's SHELL, default /bin/sh -c).
fn command(c: &ContainerConfig, instr: &str, rest: &str) -> Result<Vec<String>, Error> {
    if let Some(v) = json_array(rest) {
        return Ok(v);
    }
    if rest.is_empty() {
        return Err(err(format!("{instr} requires at least one argument")));
    }
    let mut v = c
        .shell
        .clone()
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    v.push(rest.to_string());
    Ok(v)
}

fn json_array(rest: &str) -> Option<Vec<String>> {
    if rest.starts_with('[') {
        serde_json::from_str::<Vec<String>>(rest).ok()
    } else {
        None
    }
}

/// `K=V K2="v 2"` pairs, or the legacy `K V...` form.
fn name_values(
    instr: &str,
    rest: &str,
    env: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Error> {
    let words = split_words(rest);
    let Some(first) = words.first() else {
        return Err(err(format!("{instr} requires at least one argument")));
    };
    if !first.contains('=') {
        // Legacy form: the first word is the name, the rest of the line the value.
        let value_raw = rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..].trim();
        if value_raw.is_empty() {
            return Err(err(format!("{instr} must have two arguments")));
        }
        return Ok(vec![(
            process_word(first, env)?,
            process_word(value_raw, env)?,
        )]);
    }
    let mut out = Vec::new();
    for w in &words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            )));
        };
        let k = process_word(k, env)?;
        if k.is_empty() {
            return Err(err(format!("{instr} names can not be blank")));
        }
        out.push((k, process_word(v, env)?));
    }
    Ok(out)
}

/// Splits on whitespace outside quotes; quotes and backslashes stay in the words.
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    let mut in_word = false;
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (_, '\\') if quote != Some('\'') => {
                cur.push(ch);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(ch);
                cur.push(ch);
                in_word = true;
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(ch);
            }
            _ => {
                cur.push(ch);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Quote removal, backslash escapes and $VAR / ${VAR} / ${VAR:-def} / ${VAR:+alt} expansion.
fn process_word(s: &str, env: &BTreeMap<String, String>) -> Result<String, Error> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut dquote = false;
    while i < chars.len() {
        let ch = chars[i];
        match ch {
            '\'' if !dquote => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    out.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err(format!(
                        "unexpected end of statement while looking for matching single-quote in {s:?}"
                    )));
                }
            }
            '"' => dquote = !dquote,
            '\\' => {
                i += 1;
                if let Some(&n) = chars.get(i) {
                    if dquote && !matches!(n, '"' | '\\' | '$') {
                        out.push('\\');
                    }
                    out.push(n);
                }
            }
            '$' => {
                let (val, used) = expand_var(&chars[i + 1..], env, s)?;
                out.push_str(&val);
                i += used;
            }
            c => out.push(c),
        }
        i += 1;
    }
    if dquote {
        return Err(err(format!(
            "unexpected end of statement while looking for matching double-quote in {s:?}"
        )));
    }
    Ok(out)
}

/// Expands the variable after a '$'; returns (value, chars consumed after the '$').
fn expand_var(
    rest: &[char],
    env: &BTreeMap<String, String>,
    whole: &str,
) -> Result<(String, usize), Error> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if rest.first() == Some(&'{') {
        let Some(close) = rest.iter().position(|&c| c == '}') else {
            return Err(err(format!("missing '}}' in {whole:?}")));
        };
        let inner: String = rest[1..close].iter().collect();
        let (name, op) = match inner.find(":") {
            Some(p) => (&inner[..p], Some(&inner[p..])),
            None => (inner.as_str(), None),
        };
        let val = env.get(name).cloned().unwrap_or_default();
        let out = match op {
            None => val,
            Some(op) if op.starts_with(":-") => {
                if val.is_empty() {
                    process_word(&op[2..], env)?
                } else {
                    val
                }
            }
            Some(op) if op.starts_with(":+") => {
                if val.is_empty() {
                    String::new()
                } else {
                    process_word(&op[2..], env)?
                }
            }
            Some(_) => return Err(err(format!("unsupported modifier in ${{{inner}}}"))),
        };
        return Ok((out, close + 1));
    }
    let n = rest.iter().take_while(|&&c| is_name(c)).count();
    if n == 0 {
        return Ok(("$".into(), 0));
    }
    let name: String = rest[..n].iter().collect();
    Ok((env.get(&name).cloned().unwrap_or_default(), n))
}

/// Lexically cleans an absolute path ("/a/./b/../c" -> "/a/c"); ".." never goes above "/".
pub fn clean_abs(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// "80", "80/tcp", "53/udp", "8000-8002/tcp" -> ["80/tcp", ...].
fn parse_port_spec(spec: &str) -> Result<Vec<String>, Error> {
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(err(format!("invalid proto: {proto}")));
    }
    let parse = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| err(format!("invalid containerPort: {ports}")))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(err(format!(
            "invalid range specified for container port: {ports}"
        )));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn valid_signal(s: &str) -> bool {
    const NAMES: &[&str] = &[
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
        "RTMIN", "RTMAX",
    ];
    if let Ok(n) = s.parse::<u32>() {
        return (1..=64).contains(&n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if NAMES.contains(&name) {
        return true;
    }
    for (base, sep) in [("RTMIN", '+'), ("RTMAX", '-')] {
        if let Some(n) = name.strip_prefix(base).and_then(|r| r.strip_prefix(sep)) {
            return n.parse::<u32>().is_ok_and(|n| n <= 30);
        }
    }
    false
}

/// HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD ... | NONE
fn healthcheck(rest: &str) -> Result<Value, Error> {
    let mut hc = serde_json::Map::new();
    let mut r = rest.trim_start();
    while let Some(flag) = r.strip_prefix("--") {
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let (kv, tail) = flag.split_at(end);
        let Some((k, v)) = kv.split_once('=') else {
            return Err(err(format!("HEALTHCHECK flag --{kv} needs a value")));
        };
        let field = match k {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "start-interval" => "StartInterval",
            "retries" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| err(format!("invalid --retries value {v:?}")))?;
                if n < 0 {
                    return Err(err("--retries cannot be negative"));
                }
                hc.insert("Retries".into(), json!(n));
                r = tail.trim_start();
                continue;
            }
            _ => return Err(err(format!("Unknown flag: {k}"))),
        };
        let ns = parse_duration(v).ok_or_else(|| err(format!("time: invalid duration {v:?}")))?;
        hc.insert(field.into(), json!(ns));
        r = tail.trim_start();
    }
    let (word, args) = match r.find(char::is_whitespace) {
        Some(i) => (&r[..i], r[i..].trim()),
        None => (r, ""),
    };
    match word.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !hc.is_empty() || !args.is_empty() {
                return Err(err("HEALTHCHECK NONE takes no arguments"));
            }
            hc.insert("Test".into(), json!(["NONE"]));
        }
        "CMD" => {
            let test: Vec<String> = match json_array(args) {
                Some(v) => std::iter::once("CMD".to_string()).chain(v).collect(),
                None if args.is_empty() => {
                    return Err(err("Missing command after HEALTHCHECK CMD"));
                }
                None => vec!["CMD-SHELL".into(), args.to_string()],
            };
            hc.insert("Test".into(), json!(test));
        }
        other => {
            return Err(err(format!(
                "Unknown type {other:?} in HEALTHCHECK (try CMD)"
            )));
        }
    }
    Ok(Value::Object(hc))
}

/// Go's time.ParseDuration subset ("1h2m3.5s", "500ms", "0"), in nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ContainerConfig {
        ContainerConfig::default()
    }

    #[test]
    fn cmd_exec_and_shell_forms() {
        let mut c = cfg();
        apply_change(&mut c, r#"CMD ["/bin/echo", "hi there"]"#).unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/echo", "hi there"]);
        let mut c = cfg();
        apply_change(&mut c, "cmd echo $HOME && ls").unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/sh", "-c", "echo $HOME && ls"]);
        let mut c = cfg();
        c.shell = Some(vec!["/bin/bash".into(), "-xc".into()]);
        apply_change(&mut c, "CMD ls").unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/bash", "-xc", "ls"]);
    }

    #[test]
    fn entrypoint_resets_cmd_unless_set_before() {
        let mut c = cfg();
        c.cmd = Some(vec!["old".into()]);
        apply_change(&mut c, "ENTRYPOINT top -b").unwrap();
        assert_eq!(
            c.entrypoint.as_deref().unwrap(),
            ["/bin/sh", "-c", "top -b"]
        );
        assert_eq!(c.cmd, None);
        let mut c = cfg();
        apply_change(&mut c, "CMD [\"-l\"]\nENTRYPOINT [\"ls\"]").unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["-l"]);
        assert_eq!(c.entrypoint.unwrap(), vec!["ls"]);
    }

    #[test]
    fn env_forms() {
        let mut c = cfg();
        c.env = Some(vec!["PATH=/bin".into(), "A=old".into()]);
        apply_change(&mut c, r#"ENV A=1 B="two words" C='single $q' D=x\ y"#).unwrap();
        apply_change(&mut c, "ENV PATH=/usr/bin:$PATH E=${A}${NOPE:-def}").unwrap();
        apply_change(&mut c, "ENV LEGACY some value  here").unwrap();
        assert_eq!(
            c.env.unwrap(),
            vec![
                "PATH=/usr/bin:/bin",
                "A=1",
                "B=two words",
                "C=single $q",
                "D=x y",
                "E=1def",
                "LEGACY=some value  here",
            ]
        );
        assert!(apply_change(&mut cfg(), "ENV A=1 B").is_err());
        assert!(apply_change(&mut cfg(), "ENV").is_err());
    }

    #[test]
    fn workdir_relative() {
        let mut c = cfg();
        apply_change(&mut c, "WORKDIR app").unwrap();
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
        apply_change(&mut c, "WORKDIR sub/../src/./x").unwrap();
        assert_eq!(c.working_dir.as_deref(), Some("/app/src/x"));
        apply_change(&mut c, "WORKDIR /abs//y/").unwrap();
        assert_eq!(c.working_dir.as_deref(), Some("/abs/y"));
    }

    #[test]
    fn user_expose_label_volume_stopsignal_onbuild() {
        let mut c = cfg();
        apply_change(&mut c, "USER 1000:1000").unwrap();
        apply_change(&mut c, "EXPOSE 80 443/tcp 53/UDP 8000-8001").unwrap();
        apply_change(&mut c, r#"LABEL a=b "c d"="e f""#).unwrap();
        apply_change(&mut c, "LABEL legacy the value").unwrap();
        apply_change(&mut c, r#"VOLUME ["/data", "/logs"]"#).unwrap();
        apply_change(&mut c, "VOLUME /x /y").unwrap();
        apply_change(&mut c, "STOPSIGNAL SIGUSR1").unwrap();
        apply_change(&mut c, "ONBUILD RUN echo hi").unwrap();
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(
            ports,
            vec!["443/tcp", "53/udp", "80/tcp", "8000/tcp", "8001/tcp"]
        );
        let labels = c.labels.unwrap();
        assert_eq!(labels["a"], "b");
        assert_eq!(labels["c d"], "e f");
        assert_eq!(labels["legacy"], "the value");
        let vols: Vec<_> = c.volumes.unwrap().into_keys().collect();
        assert_eq!(vols, vec!["/data", "/logs", "/x", "/y"]);
        assert_eq!(c.stop_signal.as_deref(), Some("SIGUSR1"));
        assert_eq!(c.on_build.unwrap(), vec!["RUN echo hi"]);
        assert!(apply_change(&mut cfg(), "EXPOSE abc").is_err());
        assert!(apply_change(&mut cfg(), "STOPSIGNAL SIGNOPE").is_err());
        assert!(apply_change(&mut cfg(), "ONBUILD ONBUILD RUN x").is_err());
    }

    #[test]
    fn healthcheck_forms() {
        let mut c = cfg();
        apply_change(
            &mut c,
            "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://x/",
        )
        .unwrap();
        assert_eq!(
            c.healthcheck.take().unwrap(),
            json!({"Test": ["CMD-SHELL", "curl -f http://x/"], "Interval": 30_000_000_000i64, "Retries": 3})
        );
        apply_change(&mut c, "HEALTHCHECK NONE").unwrap();
        assert_eq!(c.healthcheck.unwrap(), json!({"Test": ["NONE"]}));
    }

    #[test]
    fn bad_instructions() {
        let e = apply_change(&mut cfg(), "RUNX foo")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "dockerfile parse error on line 1: unknown instruction: RUNX"
        );
        let e = apply_change(&mut cfg(), "run echo hi")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "RUN is not a valid change command");
        let e = apply_change(&mut cfg(), "COPY a b")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "COPY is not a valid change command");
        let e = apply_change(&mut cfg(), "CMD x\nBOGUS y")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "dockerfile parse error on line 2: unknown instruction: BOGUS"
        );
        // Blank text is a no-op.
        apply_change(&mut cfg(), "  ").unwrap();
    }
}
