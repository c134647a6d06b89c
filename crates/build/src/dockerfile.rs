//! A parsed Dockerfile as owned data the executor walks: stages, their instructions with line
//! numbers, flags checked. Parsing is parse-dockerfile's; this module adds Docker's checks
//! (known flags, key=value syntax) and errors that name FILE:LINE.

use parse_dockerfile as pd;

use crate::Error;
use crate::expand::split_words;

/// A whole Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    /// The escape character (`# escape=` directive; `\` by default).
    pub escape: char,
    /// `ARG`s before the first `FROM`.
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone)]
pub struct Stage {
    pub line: usize,
    /// The base image as written (expanded with the global ARGs by the executor).
    pub base: String,
    pub name: Option<String>,
    pub platform: Option<String>,
    pub instructions: Vec<Instruction>,
}

/// One instruction, its 1-based line, and its source text (continuations joined).
#[derive(Debug, Clone)]
pub struct Instruction {
    pub line: usize,
    pub text: String,
    pub kind: Kind,
}

/// Shell form (run through SHELL) or exec form (a JSON array).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

/// A here-document: its delimiter name, body, and whether variables in it are expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct Heredoc {
    pub name: String,
    pub body: String,
    pub expand: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Path(String),
    Heredoc(Heredoc),
}

/// COPY and ADD.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Copy {
    pub add: bool,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub sources: Vec<Source>,
    pub dest: String,
    /// ADD `--checksum=sha256:<hex>` of a downloaded source.
    pub checksum: Option<String>,
    /// ADD `--keep-git-dir` of a git source.
    pub keep_git_dir: bool,
    /// `--link`: a layer of its own, independent of the layers below (rebased on a new base
    /// without being copied again).
    pub link: bool,
    /// COPY `--parents`: each source keeps its parent directories under the destination.
    pub parents: bool,
    /// `--exclude` patterns (repeatable).
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

/// What an instruction does. Values are as written; the executor expands them.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Run {
        command: Command,
        heredoc: Option<Heredoc>,
        network: Option<String>,
        /// `--mount` values as written (checked by [`crate::mount::parse_mount`]; the
        /// executor expands variables in them and parses again).
        mounts: Vec<String>,
        /// `--security=insecure|sandbox`.
        security: Option<String>,
    },
    Cmd(Command),
    Entrypoint(Command),
    Shell(Vec<String>),
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Label(Vec<(String, String)>),
    Expose(Vec<String>),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Stopsignal(String),
    Maintainer(String),
    Copy(Copy),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<Healthcheck>),
    /// The trigger instruction's text, run when an image built from this one is a base.
    Onbuild(String),
}

/// Parses `text`; `file` names it in errors ("Dockerfile:3: unknown instruction: FOO").
pub fn parse(text: &str, file: &str) -> Result<Dockerfile, Error> {
    let (several, scripts) = several_heredoc_runs(text);
    let rewritten = heredoc_first(&several);
    let text = rewritten.as_str();
    let parsed = pd::parse(text).map_err(|e| Error::at(file, e.line(), format!("{e:#}")))?;
    let escape = parsed
        .parser_directives
        .escape
        .as_ref()
        .map_or('\\', |d| d.value.value);
    let lines = LineIndex::new(text);
    let spans: Vec<usize> = parsed
        .instructions
        .iter()
        .map(|i| keyword_start(i))
        .collect();
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (i, instruction) in parsed.instructions.iter().enumerate() {
        let start = spans[i];
        let end = spans.get(i + 1).copied().unwrap_or(text.len());
        let line = lines.line_of(start);
        let source = source_text(&text[start..end], escape);
        let at = |msg: String| Error::at(file, line, msg);
        if let pd::Instruction::From(from) = instruction {
            let mut platform = None;
            for flag in &from.options {
                match &*flag.name.value {
                    "platform" => platform = flag.value.as_ref().map(|v| v.value.to_string()),
                    other => return Err(at(format!("unknown flag: --{other} for FROM"))),
                }
            }
            stages.push(Stage {
                line,
                base: from.image.value.to_string(),
                name: from.as_.as_ref().map(|(_, n)| n.value.to_lowercase()),
                platform,
                instructions: Vec::new(),
            });
            continue;
        }
        let mut kind = convert(instruction, &source, escape).map_err(at)?;
        let mut source = source;
        // A RUN with several here-documents: its shell runs the original text.
        if let Kind::Run {
            command: Command::Shell(cmd),
            ..
        } = &mut kind
            && let Some(k) = cmd.strip_prefix(SEVERAL_HEREDOCS)
            && let Some((original, script)) = k.parse::<usize>().ok().and_then(|k| scripts.get(k))
        {
            *cmd = script.clone();
            source = original.clone();
        }
        let instr = Instruction {
            line,
            text: source,
            kind,
        };
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(instr),
            None if matches!(instr.kind, Kind::Arg(_)) => global_args.push(instr),
            None => return Err(Error::at(
                file,
                line,
                "no build stage in current context: the first instruction must be FROM (or ARG)"
                    .into(),
            )),
        }
    }
    if stages.is_empty() {
        return Err(Error::at(
            file,
            lines.line_of(text.len()).max(1),
            "the Dockerfile has no FROM instruction".into(),
        ));
    }
    Ok(Dockerfile {
        escape,
        global_args,
        stages,
    })
}

/// The placeholder command of a RUN with several here-documents (its index follows).
const SEVERAL_HEREDOCS: &str = "berth-several-heredocs-";

/// RUNs that open several terminated here-documents (`RUN <<A cat > a && <<B cat > b`):
/// BuildKit hands the whole text, documents included, to the shell. parse-dockerfile keeps one
/// document per RUN, so each such RUN becomes a one-line placeholder (flags kept) and its
/// documents' lines comments: line numbers do not change. Returns the rewritten text and, by
/// placeholder index, the original instruction text and the shell script.
fn several_heredoc_runs(text: &str) -> (String, Vec<(String, String)>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut scripts = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let is_run = trimmed.len() >= 4 && trimmed[..4].eq_ignore_ascii_case("RUN ");
        let end = if is_run {
            several_heredocs_end(&lines, i)
        } else {
            None
        };
        let Some(end) = end else {
            out.push_str(line);
            i += 1;
            continue;
        };
        let indent = &line[..line.len() - trimmed.len()];
        let body = trimmed[4..].trim_start();
        let flags_len: usize = body
            .split(' ')
            .take_while(|w| w.starts_with("--"))
            .map(|w| w.len() + 1)
            .sum();
        let flags = &body[..flags_len.min(body.len())];
        let command = body[flags_len.min(body.len())..].trim_end_matches(['\n', '\r']);
        let mut script = format!("{command}\n");
        for l in &lines[i + 1..=end] {
            script.push_str(l.trim_end_matches(['\n', '\r']));
            script.push('\n');
        }
        let original: String = lines[i..=end].concat().trim_end().to_string();
        out.push_str(&format!(
            "{indent}RUN {flags}{SEVERAL_HEREDOCS}{}\n",
            scripts.len()
        ));
        for _ in i + 1..=end {
            out.push_str("#\n");
        }
        scripts.push((original, script));
        i = end + 1;
    }
    (out, scripts)
}

/// When the RUN at `start` opens more than one here-document, each terminated below in turn:
/// the index of the last terminator's line.
fn several_heredocs_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut rest = lines[start];
    let mut docs = Vec::new();
    while let Some(pos) = rest.find("<<") {
        let after = &rest[pos + 2..];
        rest = after;
        let dash = after.starts_with('-');
        let after = after
            .trim_start_matches('-')
            .trim_start_matches(['"', '\'']);
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            docs.push((name, dash));
        }
    }
    if docs.len() < 2 {
        return None;
    }
    let mut at = start;
    for (name, dash) in docs {
        let found = lines[at + 1..].iter().position(|l| {
            let l = l.trim_end_matches(['\n', '\r']);
            l == name || (dash && l.trim_start_matches('\t') == name)
        })?;
        at += 1 + found;
    }
    Some(at)
}

/// parse-dockerfile reads a RUN here-document only right after RUN (`RUN <<EOF cmd`); Docker
/// also allows it later in the command (`RUN cat <<EOF > /f`). Such lines are rewritten to the
/// first form, which runs the same shell command; line numbers do not change.
fn heredoc_first(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        out.push_str(
            &rewrite_run_heredoc(line, &lines[i + 1..]).unwrap_or_else(|| line.to_string()),
        );
    }
    out
}

fn rewrite_run_heredoc(line: &str, rest: &[&str]) -> Option<String> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    if trimmed.len() < 4 || !trimmed[..4].eq_ignore_ascii_case("RUN ") {
        return None;
    }
    let body = trimmed[4..].trim_start();
    // Flags (`--mount=...`) stay in front.
    let mut flags_end = 0;
    for word in body.split(' ') {
        if word.starts_with("--") {
            flags_end += word.len() + 1;
        } else {
            break;
        }
    }
    let flags = &body[..flags_end.min(body.len())];
    let command = &body[flags_end.min(body.len())..];
    if command.starts_with("<<") {
        return None;
    }
    let at = command.find("<<")?;
    let after = &command[at + 2..];
    let dash = after.starts_with('-');
    let after = after.trim_start_matches('-');
    let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"');
    let inner = if quote.is_some() { &after[1..] } else { after };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty()
        || !name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return None;
    }
    let token_len = 2 + usize::from(dash) + quote.map_or(0, |_| 2) + name.len();
    if quote.is_some() && inner[name.len()..].chars().next() != quote {
        return None;
    }
    // Only when the document is really terminated further down.
    let terminated = rest.iter().any(|l| {
        let l = l.trim_end_matches(['\n', '\r']);
        l == name || (dash && l.trim_start_matches('\t') == name)
    });
    if !terminated {
        return None;
    }
    let token = &command[at..at + token_len];
    let before = command[..at].trim_end();
    let after_token = command[at + token_len..].trim_start();
    let remaining = if after_token.is_empty() {
        before.to_string()
    } else {
        format!("{before} {after_token}")
    };
    let newline = if line.ends_with('\n') { "\n" } else { "" };
    Some(format!(
        "{indent}RUN {flags}{token} {}{newline}",
        remaining.trim_end_matches(['\n', '\r']).trim()
    ))
}

/// Parses one ONBUILD trigger (or any single instruction) out of context.
pub fn parse_trigger(trigger: &str, file: &str) -> Result<Instruction, Error> {
    let text = format!("FROM scratch\n{trigger}\n");
    let mut df = parse(&text, file)?;
    let mut instructions = std::mem::take(&mut df.stages[0].instructions);
    if instructions.len() != 1 {
        return Err(Error::at(
            file,
            1,
            format!("bad ONBUILD trigger: {trigger}"),
        ));
    }
    let mut instr = instructions.remove(0);
    instr.line = 0;
    if matches!(instr.kind, Kind::Onbuild(_)) {
        return Err(Error::at(
            file,
            0,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into(),
        ));
    }
    Ok(instr)
}

fn keyword_start(i: &pd::Instruction<'_>) -> usize {
    use pd::Instruction as I;
    match i {
        I::Add(x) => x.add.span.start,
        I::Arg(x) => x.arg.span.start,
        I::Cmd(x) => x.cmd.span.start,
        I::Copy(x) => x.copy.span.start,
        I::Entrypoint(x) => x.entrypoint.span.start,
        I::Env(x) => x.env.span.start,
        I::Expose(x) => x.expose.span.start,
        I::From(x) => x.from.span.start,
        I::Healthcheck(x) => x.healthcheck.span.start,
        I::Label(x) => x.label.span.start,
        I::Maintainer(x) => x.maintainer.span.start,
        I::Onbuild(x) => x.onbuild.span.start,
        I::Run(x) => x.run.span.start,
        I::Shell(x) => x.shell.span.start,
        I::Stopsignal(x) => x.stopsignal.span.start,
        I::User(x) => x.user.span.start,
        I::Volume(x) => x.volume.span.start,
        I::Workdir(x) => x.workdir.span.start,
        _ => 0,
    }
}

/// Joins continuation lines (dropping comment and blank lines inside them), as Docker's parser
/// does, and drops the comments and blank lines that follow the instruction.
pub fn join_continuations(raw: &str, escape: char) -> String {
    let mut out = String::new();
    let mut continuing = false;
    for line in raw.lines() {
        let trimmed = line.trim_start();
        if continuing && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !continuing && !out.is_empty() {
            break;
        }
        let body = line.trim_end();
        match body.strip_suffix(escape) {
            Some(rest) => {
                out.push_str(rest);
                continuing = true;
            }
            None => {
                out.push_str(line);
                continuing = false;
            }
        }
    }
    out.trim().to_string()
}

fn source_text(raw: &str, escape: char) -> String {
    // A heredoc's body follows its instruction line: keep it verbatim.
    if raw.lines().next().is_some_and(|l| l.contains("<<")) {
        return raw.trim_end().to_string();
    }
    join_continuations(raw, escape)
}

fn flags<'a, 'b: 'a>(
    options: impl IntoIterator<Item = &'a pd::Flag<'b>>,
    allowed: &[&str],
    instr: &str,
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for flag in options {
        let name = flag.name.value.to_string();
        if !allowed.contains(&name.as_str()) {
            return Err(format!("unknown flag: --{name} for {instr}"));
        }
        out.push((name, flag.value.as_ref().map(|v| v.value.to_string())));
    }
    Ok(out)
}

fn command(c: &pd::Command<'_>, escape: char) -> Command {
    match c {
        pd::Command::Exec(args) => {
            Command::Exec(args.value.iter().map(|a| a.value.to_string()).collect())
        }
        pd::Command::Shell(s) => Command::Shell(join_continuations(s.value, escape)),
        _ => Command::Shell(String::new()),
    }
}

/// Heredoc names, in order, from the instruction's first line (`<<EOF`, `<<-EOF`, `<<"EOF"`).
fn heredoc_names(source: &str) -> Vec<String> {
    let first = source.lines().next().unwrap_or("");
    let mut names = Vec::new();
    let mut rest = first;
    while let Some(pos) = rest.find("<<") {
        let after = rest[pos + 2..].trim_start_matches('-');
        let after = after.trim_start_matches(['"', '\'']);
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
            .collect();
        names.push(name);
        rest = &rest[pos + 2..];
    }
    names
}

fn key_values(raw: &str, escape: char, instr: &str) -> Result<Vec<(String, String)>, String> {
    let words = split_words(raw, escape);
    let Some(first) = words.first() else {
        return Err(format!("{instr} requires at least one argument"));
    };
    if !first.contains('=') {
        // Legacy form: `ENV key the rest is the value`.
        let value = raw.trim_start()[first.len()..].trim().to_string();
        if value.is_empty() && instr == "ENV" {
            return Err(format!(
                "ENV must have two arguments (ENV {first} needs a value)"
            ));
        }
        return Ok(vec![(first.clone(), value)]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(format!("{instr} names can not be blank")),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!(
                "Syntax error - can't find = in \"{w}\". Must be of the form: name=value"
            )),
        })
        .collect()
}

fn convert(i: &pd::Instruction<'_>, source: &str, escape: char) -> Result<Kind, String> {
    use pd::Instruction as I;
    Ok(match i {
        I::Run(run) => {
            let fl = flags(&run.options, &["mount", "network", "security"], "RUN")?;
            let mut mounts = Vec::new();
            let mut network = None;
            let mut security = None;
            for (name, value) in fl {
                let value = value.unwrap_or_default();
                match name.as_str() {
                    "mount" => {
                        crate::mount::parse_mount(&value)
                            .map_err(|e| format!("RUN --mount={value}: {e}"))?;
                        mounts.push(value);
                    }
                    "network" => {
                        if !matches!(value.as_str(), "default" | "none" | "host")
                            && !value.contains('$')
                        {
                            return Err(format!(
                                "RUN --network={value}: expected default, none or host"
                            ));
                        }
                        network = Some(value);
                    }
                    _ => {
                        if !matches!(value.as_str(), "insecure" | "sandbox") {
                            return Err(format!(
                                "RUN --security={value}: expected insecure or sandbox"
                            ));
                        }
                        security = Some(value);
                    }
                }
            }
            let heredoc = run.here_docs.first().map(|h| Heredoc {
                name: heredoc_names(source).into_iter().next().unwrap_or_default(),
                body: h.value.to_string(),
                expand: h.expand,
            });
            Kind::Run {
                command: command(&run.arguments, escape),
                heredoc,
                network,
                mounts,
                security,
            }
        }
        I::Cmd(c) => Kind::Cmd(command(&c.arguments, escape)),
        I::Entrypoint(c) => Kind::Entrypoint(command(&c.arguments, escape)),
        I::Shell(s) => Kind::Shell(s.arguments.iter().map(|a| a.value.to_string()).collect()),
        I::Env(e) => Kind::Env(key_values(&e.arguments.value, escape, "ENV")?),
        I::Label(l) => Kind::Label(key_values(&l.arguments.value, escape, "LABEL")?),
        I::Arg(a) => {
            let mut out = Vec::new();
            for word in split_words(&a.arguments.value, escape) {
                match word.split_once('=') {
                    Some(("", _)) => return Err("ARG names can not be blank".into()),
                    Some((k, v)) => out.push((k.to_string(), Some(v.to_string()))),
                    None => out.push((word, None)),
                }
            }
            Kind::Arg(out)
        }
        I::Expose(e) => Kind::Expose(e.arguments.iter().map(|a| a.value.to_string()).collect()),
        I::Volume(v) => Kind::Volume(match &v.arguments {
            pd::JsonOrStringArray::Json(a) => a.value.iter().map(|s| s.value.to_string()).collect(),
            pd::JsonOrStringArray::String(a) => a.iter().map(|s| s.value.to_string()).collect(),
        }),
        I::User(u) => Kind::User(u.arguments.value.to_string()),
        I::Workdir(w) => Kind::Workdir(w.arguments.value.to_string()),
        I::Stopsignal(s) => Kind::Stopsignal(s.arguments.value.to_string()),
        I::Maintainer(m) => Kind::Maintainer(m.name.value.to_string()),
        I::Copy(c) => copy(false, &c.options, &c.src, &c.dest.value, source)?,
        I::Add(c) => copy(true, &c.options, &c.src, &c.dest.value, source)?,
        I::Healthcheck(h) => {
            let fl = flags(
                &h.options,
                &[
                    "interval",
                    "timeout",
                    "start-period",
                    "start-interval",
                    "retries",
                ],
                "HEALTHCHECK",
            )?;
            match &h.arguments {
                pd::HealthcheckArguments::None { .. } => {
                    if !fl.is_empty() {
                        return Err("HEALTHCHECK NONE takes no options".into());
                    }
                    Kind::Healthcheck(None)
                }
                pd::HealthcheckArguments::Cmd { arguments, .. } => {
                    let test = match command(arguments, escape) {
                        Command::Exec(args) => [vec!["CMD".to_string()], args].concat(),
                        Command::Shell(s) => vec!["CMD-SHELL".to_string(), s],
                    };
                    let get =
                        |n: &str| fl.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.clone());
                    Kind::Healthcheck(Some(Healthcheck {
                        test,
                        interval: get("interval"),
                        timeout: get("timeout"),
                        start_period: get("start-period"),
                        start_interval: get("start-interval"),
                        retries: get("retries"),
                    }))
                }
                _ => return Err("HEALTHCHECK: expected CMD or NONE".into()),
            }
        }
        I::Onbuild(_) => {
            let trigger = source.trim_start();
            let trigger = trigger.get(7..).unwrap_or("").trim().to_string();
            let upper = trigger
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if upper == "FROM" || upper == "MAINTAINER" {
                return Err(format!("{upper} isn't allowed as an ONBUILD trigger"));
            }
            Kind::Onbuild(trigger)
        }
        _ => return Err("unsupported instruction".into()),
    })
}

fn copy(
    add: bool,
    options: &[pd::Flag<'_>],
    src: &[pd::Source<'_>],
    dest: &str,
    source: &str,
) -> Result<Kind, String> {
    let name = if add { "ADD" } else { "COPY" };
    let allowed: &[&str] = if add {
        &[
            "chown",
            "chmod",
            "checksum",
            "keep-git-dir",
            "link",
            "exclude",
        ]
    } else {
        &["from", "chown", "chmod", "link", "parents", "exclude"]
    };
    let fl = flags(options, allowed, name)?;
    let get = |n: &str| fl.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.clone());
    // A boolean flag: bare, or =true/=false.
    let on = |n: &str| -> Result<bool, String> {
        match fl.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_deref()) {
            None => Ok(false),
            Some(None | Some("true")) => Ok(true),
            Some(Some("false")) => Ok(false),
            Some(Some(other)) => Err(format!("{name} --{n}={other}: expected true or false")),
        }
    };
    let checksum = get("checksum");
    if let Some(sum) = &checksum {
        let hex = sum.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{name} --checksum={sum}: expected sha256:<64 hex digits>"
            ));
        }
    }
    let mut names = heredoc_names(source).into_iter();
    let sources = src
        .iter()
        .map(|s| match s {
            pd::Source::Path(p) => Source::Path(p.value.to_string()),
            pd::Source::HereDoc(h) => Source::Heredoc(Heredoc {
                name: names.next().unwrap_or_default(),
                body: h.value.to_string(),
                expand: h.expand,
            }),
            _ => Source::Path(String::new()),
        })
        .collect();
    Ok(Kind::Copy(Copy {
        add,
        from: get("from"),
        chown: get("chown"),
        chmod: get("chmod"),
        sources,
        dest: dest.to_string(),
        checksum,
        keep_git_dir: on("keep-git-dir")?,
        link: on("link")?,
        parents: on("parents")?,
        excludes: fl
            .iter()
            .filter(|(k, _)| k == "exclude")
            .filter_map(|(_, v)| v.clone())
            .collect(),
    }))
}

/// Byte offset -> 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM $BASE AS Build\nRUN echo a \\\n  # comment\n  && echo b\nRUN <<EOF\necho hi\nEOF\nCOPY <<greeting.txt /d/\nhello\ngreeting.txt\nCOPY --chown=1:2 --chmod=600 a b /c/\nENV A=1 B=\"x y\"\nENV OLD some value\nONBUILD RUN echo x\nHEALTHCHECK --interval=5s CMD true\nFROM build\nCMD [\"sh\"]\n";

    #[test]
    fn stages_lines_and_kinds() {
        let df = parse(SAMPLE, "Dockerfile").unwrap();
        assert_eq!(df.global_args.len(), 1);
        assert_eq!(df.stages.len(), 2);
        let s = &df.stages[0];
        assert_eq!(
            (s.line, s.base.as_str(), s.name.as_deref()),
            (3, "$BASE", Some("build"))
        );
        let kinds: Vec<&Kind> = s.instructions.iter().map(|i| &i.kind).collect();
        assert_eq!(s.instructions[0].line, 4);
        assert_eq!(
            *kinds[0],
            Kind::Run {
                command: Command::Shell("echo a   && echo b".into()),
                heredoc: None,
                network: None,
                mounts: vec![],
                security: None
            }
        );
        match kinds[1] {
            Kind::Run {
                heredoc: Some(h), ..
            } => assert_eq!((h.name.as_str(), h.body.as_str()), ("EOF", "echo hi\n")),
            k => panic!("{k:?}"),
        }
        match kinds[2] {
            Kind::Copy(c) => assert_eq!(
                c.sources,
                vec![Source::Heredoc(Heredoc {
                    name: "greeting.txt".into(),
                    body: "hello\n".into(),
                    expand: true
                })]
            ),
            k => panic!("{k:?}"),
        }
        match kinds[3] {
            Kind::Copy(c) => {
                assert_eq!(
                    (c.chown.as_deref(), c.chmod.as_deref(), c.dest.as_str()),
                    (Some("1:2"), Some("600"), "/c/")
                );
                assert_eq!(c.sources.len(), 2);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(
            *kinds[4],
            Kind::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"x y\"".into())
            ])
        );
        assert_eq!(
            *kinds[5],
            Kind::Env(vec![("OLD".into(), "some value".into())])
        );
        assert_eq!(*kinds[6], Kind::Onbuild("RUN echo x".into()));
        assert!(
            matches!(kinds[7], Kind::Healthcheck(Some(h)) if h.test == ["CMD-SHELL", "true"] && h.interval.as_deref() == Some("5s"))
        );
        assert_eq!(
            df.stages[1].instructions[0].kind,
            Kind::Cmd(Command::Exec(vec!["sh".into()]))
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("FROM a\nRUN true\nFOO bar\n", "ctx/Dockerfile")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ctx/Dockerfile:3:"), "{e}");
        assert!(e.contains("FOO"), "{e}");
        let e = parse("RUN true\n", "Dockerfile").unwrap_err().to_string();
        assert!(e.starts_with("Dockerfile:1:") && e.contains("FROM"), "{e}");
        let e = parse("FROM a\n\nCOPY --bogus=1 a b\n", "Dockerfile")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Dockerfile:3: unknown flag: --bogus for COPY");
        let e = parse("FROM a\nRUN <<EOF\nx\n", "Dockerfile")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("Dockerfile:") && e.contains("here-document"),
            "{e}"
        );
        let e = parse("FROM a\nENV =x\n", "Dockerfile")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Dockerfile:2: ENV names can not be blank");
        let e = parse("# nothing\n", "Dockerfile").unwrap_err().to_string();
        assert!(e.contains("FROM"), "{e}");
    }

    #[test]
    fn heredoc_later_in_a_run_command() {
        let df = parse(
            "FROM a\nRUN cat <<EOF > /f\nhello\nEOF\nRUN echo $((1<<2))\n",
            "Dockerfile",
        )
        .unwrap();
        match &df.stages[0].instructions[0].kind {
            Kind::Run {
                command: Command::Shell(rest),
                heredoc: Some(h),
                ..
            } => {
                assert_eq!(
                    (rest.as_str(), h.name.as_str(), h.body.as_str()),
                    ("cat > /f", "EOF", "hello\n")
                );
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(df.stages[0].instructions[1].line, 5);
        assert_eq!(
            df.stages[0].instructions[1].kind,
            Kind::Run {
                command: Command::Shell("echo $((1<<2))".into()),
                heredoc: None,
                network: None,
                mounts: vec![],
                security: None
            }
        );
    }

    #[test]
    fn several_heredocs_in_one_run_go_to_the_shell_whole() {
        let text = "# check=skip=JSONArgsRecommended\nFROM a\nRUN --network=none <<A cat > /a && <<-B cat > /b\none\nA\n\ttwo\n\tB\nRUN echo after\n";
        let df = parse(text, "Dockerfile").unwrap();
        let instrs = &df.stages[0].instructions;
        match &instrs[0].kind {
            Kind::Run {
                command: Command::Shell(script),
                heredoc: None,
                network,
                ..
            } => {
                assert_eq!(
                    script,
                    "<<A cat > /a && <<-B cat > /b\none\nA\n\ttwo\n\tB\n"
                );
                assert_eq!(network.as_deref(), Some("none"));
            }
            k => panic!("{k:?}"),
        }
        assert!(
            instrs[0].text.starts_with("RUN --network=none <<A"),
            "{}",
            instrs[0].text
        );
        assert_eq!((instrs[0].line, instrs[1].line), (3, 8));
    }

    #[test]
    fn copy_flags_of_buildkit() {
        let df = parse(
            "FROM a\nCOPY --link --parents --exclude=*.md --exclude=tmp a/ b/ /d/\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 --keep-git-dir=false http://x/y /y\n",
            "Dockerfile",
        )
        .unwrap();
        match &df.stages[0].instructions[0].kind {
            Kind::Copy(c) => {
                assert!(c.link && c.parents && !c.add);
                assert_eq!(c.excludes, ["*.md", "tmp"]);
            }
            k => panic!("{k:?}"),
        }
        match &df.stages[0].instructions[1].kind {
            Kind::Copy(c) => assert!(c.add && c.checksum.is_some() && !c.keep_git_dir),
            k => panic!("{k:?}"),
        }
        let e = parse("FROM a\nADD --checksum=md5:x http://x/y /y\n", "Dockerfile")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Dockerfile:2: ADD --checksum=md5:x"), "{e}");
    }

    #[test]
    fn escape_directive_and_triggers() {
        let df = parse("# escape=`\nFROM a\nRUN echo a `\n  b\n", "Dockerfile").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(
            df.stages[0].instructions[0].kind,
            Kind::Run {
                command: Command::Shell("echo a   b".into()),
                heredoc: None,
                network: None,
                mounts: vec![],
                security: None
            }
        );
        let t = parse_trigger("COPY a /b", "Dockerfile").unwrap();
        assert!(matches!(t.kind, Kind::Copy(_)));
        assert!(parse_trigger("ONBUILD RUN x", "Dockerfile").is_err());
    }
}
