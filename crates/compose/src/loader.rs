//! Finding and loading a project: the files (looked up upward, or `-f`, merged in order, with
//! `compose.override.yaml` beside the file found), the variables (`.env` or `--env-file`
//! under the process environment), interpolation, `extends`, profiles, the project name,
//! and the checks that every reference resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::error::Error;
use crate::interpolate::interpolate_tree;
use crate::merge::merge;
use crate::model::{Network, Project, Service};
use crate::node::{Loc, Node, Value, parse};
use crate::read::{self, At};

/// The file names looked up, in Compose's order of preference.
pub const FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f`, in order; empty: look up from `cwd` (or `COMPOSE_FILE`).
    pub files: Vec<PathBuf>,
    /// `-p`
    pub project_name: Option<String>,
    /// `--project-directory`
    pub project_directory: Option<PathBuf>,
    /// `--env-file`, in order (later files win); empty: `.env` in the project directory.
    pub env_files: Vec<PathBuf>,
    /// `--profile`
    pub profiles: Vec<String>,
    pub cwd: PathBuf,
    /// The process environment (passed in so tests need not touch the real one).
    pub environ: BTreeMap<String, String>,
}

impl LoadOptions {
    pub fn from_process(cwd: PathBuf) -> LoadOptions {
        LoadOptions {
            cwd,
            environ: std::env::vars().collect(),
            ..LoadOptions::default()
        }
    }
}

/// Loads the project; warnings (unset variables, keys berth ignores) go to `warn`.
pub fn load(opts: &LoadOptions, warn: &mut dyn FnMut(String)) -> Result<Project, Error> {
    let files = config_files(opts)?;
    let first_dir = match files[0].parent() {
        Some(dir) if !is_stdin(&files[0]) => dir.to_path_buf(),
        _ => opts.cwd.clone(),
    };
    let working_dir = match &opts.project_directory {
        Some(dir) => read::absolute(&opts.cwd, &dir.to_string_lossy()),
        None => first_dir,
    };
    let env = variables(opts, &working_dir)?;

    let mut merged: Option<Node> = None;
    let mut seen_unset = BTreeSet::new();
    for file in &files {
        let mut doc = load_file(file, &env, &mut seen_unset, warn)?;
        check_top_level(&doc, warn)?;
        resolve_extends_in(&mut doc, file, &env, &mut seen_unset, warn)?;
        let mut chain = vec![file.clone()];
        include(&mut doc, file, &env, &mut seen_unset, warn, &mut chain)?;
        match &mut merged {
            None => merged = Some(doc),
            Some(acc) => merge(acc, doc, ""),
        }
    }
    let doc = merged.ok_or(Error::NoConfigFile)?;
    let name = project_name(opts, &env, &doc, &working_dir)?;
    build_project(&doc, name, working_dir, files, opts, &env, warn)
}

/// The files: `-f` as given (relative to cwd), else `COMPOSE_FILE`, else the first known
/// name found in cwd or a parent, with its override file beside it.
/// `-f -`: the file is read from standard input (the project directory is the working one).
fn is_stdin(file: &Path) -> bool {
    file == Path::new("-")
}

pub fn config_files(opts: &LoadOptions) -> Result<Vec<PathBuf>, Error> {
    if !opts.files.is_empty() {
        return opts
            .files
            .iter()
            .map(|f| {
                if is_stdin(f) {
                    return Ok(f.clone());
                }
                let path = read::absolute(&opts.cwd, &f.to_string_lossy());
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(Error::io(
                        format!("open {}", path.display()),
                        std::io::Error::from(std::io::ErrorKind::NotFound),
                    ))
                }
            })
            .collect();
    }
    if let Some(list) = opts.environ.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let sep = opts
            .environ
            .get("COMPOSE_PATH_SEPARATOR")
            .and_then(|s| s.chars().next())
            .unwrap_or(':');
        let opts = LoadOptions {
            files: list.split(sep).map(PathBuf::from).collect(),
            ..opts.clone()
        };
        return config_files(&opts);
    }
    let mut dir = Some(opts.cwd.as_path());
    while let Some(d) = dir {
        if let Some(found) = FILE_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
            let mut files = vec![found];
            if let Some(o) = OVERRIDE_NAMES
                .iter()
                .map(|n| d.join(n))
                .find(|p| p.is_file())
            {
                files.push(o);
            }
            return Ok(files);
        }
        dir = d.parent();
    }
    Err(Error::NoConfigFile)
}

/// Interpolation's variables: the env files (or `.env`), with the process environment over
/// them.
fn variables(opts: &LoadOptions, working_dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    let mut env = BTreeMap::new();
    let files: Vec<PathBuf> = if opts.env_files.is_empty() {
        let dot = working_dir.join(".env");
        if dot.is_file() { vec![dot] } else { vec![] }
    } else {
        opts.env_files
            .iter()
            .map(|f| read::absolute(&opts.cwd, &f.to_string_lossy()))
            .collect()
    };
    for file in files {
        if !file.is_file() {
            return Err(Error::Project(format!(
                "couldn't find env file: {}",
                file.display()
            )));
        }
        for (k, v) in read::read_dotenv(&file, &env)? {
            env.insert(k, v);
        }
    }
    for (k, v) in &opts.environ {
        env.insert(k.clone(), v.clone());
    }
    Ok(env)
}

fn load_file(
    file: &Path,
    env: &BTreeMap<String, String>,
    seen_unset: &mut BTreeSet<String>,
    warn: &mut dyn FnMut(String),
) -> Result<Node, Error> {
    let text = if is_stdin(file) {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| Error::io(format!("open {}", file.display()), e))?;
    let mut doc = parse(&text, file)?;
    if matches!(doc.value, Value::Null) {
        return Err(Error::Project(format!(
            "{}: empty compose file",
            file.display()
        )));
    }
    if doc.as_map().is_none() {
        return Err(Error::invalid(
            &doc.loc,
            "",
            "a compose file must be a mapping",
        ));
    }
    let mut unset = |name: &str| {
        if seen_unset.insert(name.to_string()) {
            warn(format!(
                "The \"{name}\" variable is not set. Defaulting to a blank string."
            ));
        }
    };
    interpolate_tree(&mut doc, "", env, &mut unset)?;
    Ok(doc)
}

fn check_top_level(doc: &Node, warn: &mut dyn FnMut(String)) -> Result<(), Error> {
    for (key, node) in doc.as_map().into_iter().flatten() {
        match key.as_str() {
            "services" | "networks" | "volumes" | "name" => {}
            "version" => warn(format!(
                "{}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
                node.loc.file.display()
            )),
            "secrets" | "configs" | "include" => {}
            "models" => warn(format!("{}: {key}: not supported yet, ignored", node.loc)),
            k if k.starts_with("x-") => {}
            other => {
                return Err(Error::invalid(
                    &node.loc,
                    other,
                    format!("additional property {other} is not allowed"),
                ));
            }
        }
    }
    Ok(())
}

/// The sections an included file brings in.
const INCLUDED_SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

/// `include:` (a list of paths, or of `{path, project_directory, env_file}`): each file is
/// loaded as a project of its own (its relative paths against its own directory) and its
/// services, networks, volumes, secrets and configs join this document; one defined on both
/// sides is an error, as Compose says.
fn include(
    doc: &mut Node,
    file: &Path,
    env: &BTreeMap<String, String>,
    seen_unset: &mut BTreeSet<String>,
    warn: &mut dyn FnMut(String),
    chain: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let Some(list) = doc.as_map_mut().and_then(|m| m.shift_remove("include")) else {
        return Ok(());
    };
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let at = At::new(&list, "include");
    for (i, entry) in at.seq()?.iter().enumerate() {
        let path = format!("include[{i}]");
        let e = At::new(entry, &path);
        let paths = match &entry.value {
            Value::Map(m) => {
                let p = m
                    .get("path")
                    .ok_or_else(|| e.err("an include needs a path"))?;
                At::new(p, &path).strings()?
            }
            _ => vec![e.string()?],
        };
        for rel in paths {
            let included = read::absolute(&dir, &rel);
            if chain.contains(&included) {
                return Err(e.err(format!("include cycle: {}", included.display())));
            }
            let mut other = load_file(&included, env, seen_unset, warn)?;
            check_top_level(&other, warn)?;
            resolve_extends_in(&mut other, &included, env, seen_unset, warn)?;
            chain.push(included.clone());
            include(&mut other, &included, env, seen_unset, warn, chain)?;
            chain.pop();
            let other_dir = included.parent().unwrap_or(Path::new("/")).to_path_buf();
            if let Some(services) = other.as_map_mut().and_then(|m| m.get_mut("services"))
                && let Some(map) = services.as_map_mut()
            {
                for service in map.values_mut() {
                    rebase_paths(service, &other_dir);
                }
            }
            let Some(mine) = doc.as_map_mut() else {
                return Ok(());
            };
            for section in INCLUDED_SECTIONS {
                let Some(theirs) = other.get(section).and_then(Node::as_map) else {
                    continue;
                };
                let slot = mine
                    .entry(section.to_string())
                    .or_insert_with(|| Node::new(Value::Map(IndexMap::new()), entry.loc.clone()));
                if matches!(slot.value, Value::Null) {
                    slot.value = Value::Map(IndexMap::new());
                }
                let Some(target) = slot.as_map_mut() else {
                    continue;
                };
                for (name, node) in theirs {
                    if target.contains_key(name) {
                        return Err(e.err(format!(
                            "{section}.{name} conflicts with imported resource from {}",
                            included.display()
                        )));
                    }
                    target.insert(name.clone(), node.clone());
                }
            }
        }
    }
    Ok(())
}

/// Resolves every service's `extends` in one document (bases in the same document or in
/// another file, themselves extending further).
fn resolve_extends_in(
    doc: &mut Node,
    file: &Path,
    env: &BTreeMap<String, String>,
    seen_unset: &mut BTreeSet<String>,
    warn: &mut dyn FnMut(String),
) -> Result<(), Error> {
    let Some(services) = doc.get("services").and_then(Node::as_map).cloned() else {
        return Ok(());
    };
    let mut resolved = IndexMap::new();
    for name in services.keys() {
        let mut stack = Vec::new();
        let node = resolve_service(&services, name, file, env, seen_unset, warn, &mut stack)?;
        resolved.insert(name.clone(), node);
    }
    if let Some(slot) = doc.as_map_mut().and_then(|m| m.get_mut("services")) {
        slot.value = Value::Map(resolved);
    }
    Ok(())
}

fn resolve_service(
    services: &IndexMap<String, Node>,
    name: &str,
    file: &Path,
    env: &BTreeMap<String, String>,
    seen_unset: &mut BTreeSet<String>,
    warn: &mut dyn FnMut(String),
    stack: &mut Vec<(PathBuf, String)>,
) -> Result<Node, Error> {
    let node = services.get(name).ok_or_else(|| {
        Error::Project(format!(
            "cannot extend service {name:?} in {}: service not found",
            file.display()
        ))
    })?;
    let Some(ext) = node.get("extends") else {
        return Ok(node.clone());
    };
    let key = (file.to_path_buf(), name.to_string());
    if stack.contains(&key) {
        return Err(Error::invalid(
            &ext.loc,
            &format!("services.{name}.extends"),
            "circular reference",
        ));
    }
    stack.push(key);
    let path = format!("services.{name}.extends");
    let at = At::new(ext, &path);
    let (base_name, base_file) = match &ext.value {
        Value::Map(m) => {
            let service = m
                .get("service")
                .ok_or_else(|| at.err("extends needs a service"))?;
            let other = m
                .get("file")
                .map(|f| At::new(f, &path).string())
                .transpose()?;
            (At::new(service, &path).string()?, other)
        }
        _ => (at.string()?, None),
    };
    let mut base = match base_file {
        None => resolve_service(services, &base_name, file, env, seen_unset, warn, stack)?,
        Some(other) => {
            let dir = file.parent().unwrap_or(Path::new("/"));
            let other_path = read::absolute(dir, &other);
            let other_doc = load_file(&other_path, env, seen_unset, warn)?;
            let other_services = other_doc
                .get("services")
                .and_then(Node::as_map)
                .cloned()
                .unwrap_or_default();
            if !other_services.contains_key(&base_name) {
                return Err(at.err(format!(
                    "cannot extend service {base_name:?} in {}: service not found",
                    other_path.display()
                )));
            }
            let mut base = resolve_service(
                &other_services,
                &base_name,
                &other_path,
                env,
                seen_unset,
                warn,
                stack,
            )?;
            // The base's relative paths are relative to its own file.
            let other_dir = other_path.parent().unwrap_or(Path::new("/")).to_path_buf();
            rebase_paths(&mut base, &other_dir);
            base
        }
    };
    stack.pop();
    let mut own = node.clone();
    if let Some(m) = own.as_map_mut() {
        m.shift_remove("extends");
    }
    if let Some(m) = base.as_map_mut() {
        m.shift_remove("extends");
    }
    merge(&mut base, own, &format!("services.{name}"));
    Ok(base)
}

fn relative(text: &str) -> bool {
    text == "." || text == ".." || text.starts_with("./") || text.starts_with("../")
}

/// Makes a service's relative paths (env files, build context, bind sources) absolute
/// against `dir`.
fn rebase_paths(service: &mut Node, dir: &Path) {
    let Some(map) = service.as_map_mut() else {
        return;
    };
    let fix = |node: &mut Node| {
        if let Value::Str(s) = &mut node.value
            && (relative(s) || !s.starts_with('/'))
        {
            *s = read::absolute(dir, s).display().to_string();
        }
    };
    if let Some(env_file) = map.get_mut("env_file") {
        match &mut env_file.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| match &mut n.value {
                Value::Map(m) => {
                    if let Some(p) = m.get_mut("path") {
                        fix(p)
                    }
                }
                _ => fix(n),
            }),
            _ => fix(env_file),
        }
    }
    if let Some(build) = map.get_mut("build") {
        match &mut build.value {
            Value::Map(m) => {
                if let Some(c) = m.get_mut("context") {
                    fix(c)
                }
            }
            _ => fix(build),
        }
    }
    if let Some(Value::Seq(items)) = map.get_mut("volumes").map(|v| &mut v.value) {
        for item in items {
            match &mut item.value {
                Value::Str(s) => {
                    if let Some((source, rest)) = s.split_once(':')
                        && relative(source)
                    {
                        *s = format!("{}:{rest}", read::absolute(dir, source).display());
                    }
                }
                Value::Map(m) => {
                    if let Some(src) = m.get_mut("source")
                        && let Value::Str(s) = &mut src.value
                        && relative(s)
                    {
                        *s = read::absolute(dir, s).display().to_string();
                    }
                }
                _ => {}
            }
        }
    }
}

/// Compose's rule for a name it derives (from a directory or `name:`): lower case, only
/// `a-z0-9_-`, starting with a letter or digit.
pub fn normalize_project_name(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

fn valid_project_name(name: &str) -> bool {
    !name.is_empty() && normalize_project_name(name) == name
}

fn project_name(
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    doc: &Node,
    working_dir: &Path,
) -> Result<String, Error> {
    let given = opts.project_name.clone().or_else(|| {
        env.get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
            .cloned()
    });
    if let Some(name) = given {
        if !valid_project_name(&name) {
            return Err(Error::Project(format!(
                "invalid project name {name:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
            )));
        }
        return Ok(name);
    }
    if let Some(node) = doc.get("name") {
        let name = At::new(node, "name").string()?;
        let normalized = normalize_project_name(&name);
        if !normalized.is_empty() {
            return Ok(normalized);
        }
    }
    let dir_name = working_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let name = normalize_project_name(&dir_name);
    if name.is_empty() {
        return Err(Error::Project(format!(
            "project name must not be empty (from directory {})",
            working_dir.display()
        )));
    }
    Ok(name)
}

fn active_profiles(opts: &LoadOptions, env: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut active: BTreeSet<String> = opts.profiles.iter().cloned().collect();
    if opts.profiles.is_empty()
        && let Some(list) = env.get("COMPOSE_PROFILES")
    {
        active.extend(
            list.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    active
}

fn build_project(
    doc: &Node,
    name: String,
    working_dir: PathBuf,
    config_files: Vec<PathBuf>,
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    warn: &mut dyn FnMut(String),
) -> Result<Project, Error> {
    let active = active_profiles(opts, env);
    let mut services = IndexMap::new();
    let mut disabled = IndexMap::new();
    let mut locs: IndexMap<String, Loc> = IndexMap::new();
    if let Some(node) = doc.get("services") {
        let at = At::new(node, "services");
        if !matches!(node.value, Value::Null) {
            for (key, node) in at.map()? {
                let path = format!("services.{key}");
                let service = read::service(At::new(node, &path), &working_dir, env, warn)?;
                locs.insert(key.clone(), node.loc.clone());
                let enabled = service.profiles.is_empty()
                    || service
                        .profiles
                        .iter()
                        .any(|p| p == "*" || active.contains(p));
                if enabled {
                    services.insert(key.clone(), service);
                } else {
                    disabled.insert(key.clone(), service);
                }
            }
        }
    }
    let mut networks = IndexMap::new();
    if let Some(node) = doc
        .get("networks")
        .filter(|n| !matches!(n.value, Value::Null))
    {
        for (key, n) in At::new(node, "networks").map()? {
            let path = format!("networks.{key}");
            networks.insert(key.clone(), read::network(At::new(n, &path), key, &name)?);
        }
    }
    let mut volumes = IndexMap::new();
    if let Some(node) = doc
        .get("volumes")
        .filter(|n| !matches!(n.value, Value::Null))
    {
        for (key, n) in At::new(node, "volumes").map()? {
            let path = format!("volumes.{key}");
            volumes.insert(key.clone(), read::volume(At::new(n, &path), key, &name)?);
        }
    }
    let mut secrets = IndexMap::new();
    let mut configs = IndexMap::new();
    for (section, out) in [("secrets", &mut secrets), ("configs", &mut configs)] {
        if let Some(node) = doc.get(section).filter(|n| !matches!(n.value, Value::Null)) {
            for (key, n) in At::new(node, section).map()? {
                let path = format!("{section}.{key}");
                out.insert(
                    key.clone(),
                    read::file_source(At::new(n, &path), key, &name, &working_dir)?,
                );
            }
        }
    }
    let extensions = doc
        .as_map()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let mut project = Project {
        name,
        working_dir,
        config_files,
        services,
        networks,
        volumes,
        secrets,
        configs,
        extensions,
        disabled,
    };
    default_networks(&mut project);
    implicit_dependencies(&mut project);
    check_references(&project, &locs)?;
    check_published_ports(&project)?;
    Ok(project)
}

/// A service with neither `networks` nor `network_mode` is on `default`, which is
/// `PROJECT_default` unless the file defines it.
fn default_networks(project: &mut Project) {
    let mut uses_default = false;
    for service in project.services.values_mut() {
        if service.networks.is_empty() && service.network_mode.is_none() {
            service.networks.insert("default".into(), None);
        }
        uses_default |= service.networks.contains_key("default");
    }
    if uses_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network {
                name: format!("{}_default", project.name),
                ..Network::default()
            },
        );
    }
}

/// What `links`, `volumes_from` and `network_mode`/`pid`/`ipc` `service:X` name is a
/// dependency too, as Compose orders it.
fn implicit_dependencies(project: &mut Project) {
    for service in project.services.values_mut() {
        let mut named: Vec<String> = Vec::new();
        named.extend(
            service
                .links
                .iter()
                .map(|l| l.split(':').next().unwrap_or(l).to_string()),
        );
        named.extend(
            service
                .volumes_from
                .iter()
                .filter(|v| !v.starts_with("container:"))
                .map(|v| v.split(':').next().unwrap_or(v).to_string()),
        );
        for mode in [&service.network_mode, &service.pid, &service.ipc]
            .into_iter()
            .flatten()
        {
            if let Some(other) = mode.strip_prefix("service:") {
                named.push(other.to_string());
            }
        }
        for name in named {
            service
                .depends_on
                .entry(name)
                .or_insert(crate::model::Dependency {
                    condition: crate::model::Condition::ServiceStarted,
                    required: true,
                    restart: false,
                });
        }
    }
}

/// Two ports of the project published on the same host port (and protocol, on addresses
/// that overlap) could never both start: refused before anything is made, naming both.
fn check_published_ports(project: &Project) -> Result<(), Error> {
    let mut taken: BTreeMap<(u16, String), Vec<(String, String)>> = BTreeMap::new();
    for service in project.services.values() {
        for (port, (loc, path)) in service.ports.iter().zip(&service.port_origins) {
            let (first, last) = match port.published.split_once('-') {
                Some((a, b)) => (a.parse::<u16>(), b.parse::<u16>()),
                None => (port.published.parse::<u16>(), port.published.parse::<u16>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                // Unpublished (an ephemeral port) or not a number (the engine will say).
                continue;
            };
            let ip = match port.host_ip.as_str() {
                "" | "0.0.0.0" | "::" => String::new(),
                ip => ip.to_string(),
            };
            for number in first..=last {
                let holders = taken.entry((number, port.protocol.clone())).or_default();
                if let Some((_, other)) = holders
                    .iter()
                    .find(|(held, _)| held.is_empty() || ip.is_empty() || *held == ip)
                {
                    return Err(Error::invalid(
                        loc,
                        path,
                        format!(
                            "host port {number}/{} is already published by {other}",
                            port.protocol
                        ),
                    ));
                }
                holders.push((ip.clone(), path.clone()));
            }
        }
    }
    Ok(())
}

fn check_references(project: &Project, locs: &IndexMap<String, Loc>) -> Result<(), Error> {
    for (name, service) in &project.services {
        let loc = &locs[name];
        let path = format!("services.{name}");
        for net in service.networks.keys() {
            if !project.networks.contains_key(net) {
                return Err(Error::invalid(
                    loc,
                    &format!("{path}.networks"),
                    format!(
                        "service {name:?} refers to undefined network {net}: invalid compose project"
                    ),
                ));
            }
        }
        for m in &service.volumes {
            if m.kind == "volume"
                && !m.source.is_empty()
                && !project.volumes.contains_key(&m.source)
            {
                return Err(Error::invalid(
                    loc,
                    &format!("{path}.volumes"),
                    format!(
                        "service {name:?} refers to undefined volume {}: invalid compose project",
                        m.source
                    ),
                ));
            }
        }
        let no_refs = Vec::new();
        let build_secrets = service.build.as_ref().map_or(&no_refs, |b| &b.secrets);
        for (kind, refs, defined) in [
            ("secret", &service.secrets, &project.secrets),
            ("secret", build_secrets, &project.secrets),
            ("config", &service.configs, &project.configs),
        ] {
            for r in refs {
                if !defined.contains_key(&r.source) {
                    return Err(Error::invalid(
                        loc,
                        &format!("{path}.{kind}s"),
                        format!(
                            "service {name:?} refers to undefined {kind} {}: invalid compose project",
                            r.source
                        ),
                    ));
                }
            }
        }
        for (dep, d) in &service.depends_on {
            if project.services.contains_key(dep) {
                continue;
            }
            if project.disabled.contains_key(dep) && !d.required {
                continue;
            }
            let why = if project.disabled.contains_key(dep) {
                "which is not enabled by the active profiles"
            } else {
                "which is undefined"
            };
            return Err(Error::invalid(
                loc,
                &format!("{path}.depends_on"),
                format!("service {name:?} depends on service {dep:?}, {why}"),
            ));
        }
    }
    if let Some(cycle) = dependency_cycle(project) {
        return Err(Error::Project(format!(
            "dependency cycle detected: {}",
            cycle.join(" -> ")
        )));
    }
    Ok(())
}

fn dependency_cycle(project: &Project) -> Option<Vec<String>> {
    fn visit(
        project: &Project,
        name: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == name) {
            let mut cycle = path[i..].to_vec();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        path.push(name.to_string());
        if let Some(s) = project.services.get(name) {
            for dep in s.depends_on.keys() {
                if let Some(c) = visit(project, dep, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(name.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for name in project.services.keys() {
        if let Some(c) = visit(project, name, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Services in dependency order (a service after everything it depends on).
pub fn start_order(project: &Project) -> Vec<String> {
    fn visit(project: &Project, name: &str, out: &mut Vec<String>) {
        if out.iter().any(|n| n == name) {
            return;
        }
        if let Some(s) = project.services.get(name) {
            for dep in s.depends_on.keys() {
                visit(project, dep, out);
            }
            out.push(name.to_string());
        }
    }
    let mut out = Vec::new();
    for name in project.services.keys() {
        visit(project, name, &mut out);
    }
    out
}

/// Enables a service left out by the profiles (named on the command line), with its
/// dependencies.
pub fn enable(project: &mut Project, name: &str) {
    if let Some(service) = project.disabled.shift_remove(name) {
        let deps: Vec<String> = service.depends_on.keys().cloned().collect();
        project.services.insert(name.to_string(), service);
        for dep in deps {
            enable(project, &dep);
        }
    }
}

impl Project {
    pub fn service(&self, name: &str) -> Result<&Service, Error> {
        self.services
            .get(name)
            .ok_or_else(|| Error::Project(format!("no such service: {name}")))
    }
}

#[cfg(test)]
#[path = "loader_tests.rs"]
mod tests;
